package org.goldenstick.llm;

import java.util.Random;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.RopeTable;
import org.goldenstick.tensor.Tensor;

/**
 * Grouped-query self-attention with rotary positions: children {@code q_proj, k_proj, v_proj, o_proj}
 * (bias-free {@link Linear}s, replaceable by path). Projections are only ever called through
 * {@link Module#forward(Tensor)}, so a quantized module with the same {@code [..., in] → [..., out]} contract
 * can stand in for any of them.
 */
public final class LlamaAttention extends Module {
    private final LlamaConfig config;

    public LlamaAttention(LlamaConfig c, Random rng) {
        this.config = c;
        registerChild("q_proj", new Linear(c.hiddenSize(), c.qDim(), false, rng));
        registerChild("k_proj", new Linear(c.hiddenSize(), c.kvDim(), false, rng));
        registerChild("v_proj", new Linear(c.hiddenSize(), c.kvDim(), false, rng));
        registerChild("o_proj", new Linear(c.qDim(), c.hiddenSize(), false, rng));
    }

    /** The (possibly replaced) projection module named {@code q_proj}, {@code k_proj}, {@code v_proj} or {@code o_proj}. */
    public Module proj(String name) {
        return children().get(name);
    }

    /** Training/reference forward: {@code x [B, T, D]} at positions {@code 0..T-1}, causal. */
    public Tensor forward(Tensor x, RopeTable rope) {
        int[] s = x.shape();
        int b = s[0], t = s[1], h = config.numAttentionHeads(), kvh = config.numKeyValueHeads(), hd = config.headDim();
        Tensor q = proj("q_proj").forward(x).reshape(b, t, h, hd).permute(0, 2, 1, 3);
        Tensor k = proj("k_proj").forward(x).reshape(b, t, kvh, hd).permute(0, 2, 1, 3);
        Tensor v = proj("v_proj").forward(x).reshape(b, t, kvh, hd).permute(0, 2, 1, 3);
        q = Functional.rotaryEmbedding(q, rope, 0);
        k = Functional.rotaryEmbedding(k, rope, 0);
        Tensor a = Functional.scaledDotProductAttention(q, k, v, true, 0);
        return proj("o_proj").forward(a.permute(0, 2, 1, 3).reshape(b, t, h * hd));
    }

    @Override
    public Tensor forward(Tensor x) {
        throw new UnsupportedOperationException("LlamaAttention needs rotary tables: call LlamaModel.logits(...)");
    }
}
