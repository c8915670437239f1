package org.goldenstick.llm;

import java.util.Random;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.RopeTable;
import org.goldenstick.tensor.Tensor;

/**
 * Grouped-query self-attention with rotary positions, laid out as the config's {@link ModelFamily} names it:
 * children {@code q_proj, k_proj, v_proj} (or one fused {@code qkv_proj} whose rows are [q; k; v], Phi-3) and
 * {@code o_proj}, with biases where the family has them (Qwen2's q/k/v), per-head {@code q_norm}/{@code k_norm}
 * RMSNorms over head_dim before the rotation (Qwen3), and a sliding window where the config sets one (Mistral).
 * Projections are only ever called through {@link Module#forward(Tensor)}, so a quantized module with the same
 * {@code [..., in] → [..., out]} contract can stand in for any of them.
 */
public final class LlamaAttention extends Module {
    private final LlamaConfig config;

    public LlamaAttention(LlamaConfig c, Random rng) {
        this(c, LlamaParts.random(rng, 0.02), "self_attn");
    }

    /** The block whose modules {@code parts} supplies under {@code prefix} ({@code model.layers.N.self_attn}). */
    public LlamaAttention(LlamaConfig c, LlamaParts parts, String prefix) {
        this.config = c;
        boolean bias = c.qkvBias();
        String p = prefix + ".";
        if (c.family().fusedQkv()) {
            registerChild("qkv_proj", parts.linear(p + "qkv_proj", c.hiddenSize(), c.qDim() + 2 * c.kvDim(), bias));
        } else {
            registerChild("q_proj", parts.linear(p + "q_proj", c.hiddenSize(), c.qDim(), bias));
            registerChild("k_proj", parts.linear(p + "k_proj", c.hiddenSize(), c.kvDim(), bias));
            registerChild("v_proj", parts.linear(p + "v_proj", c.hiddenSize(), c.kvDim(), bias));
        }
        registerChild("o_proj", parts.linear(p + "o_proj", c.qDim(), c.hiddenSize(), c.oBias()));
        if (c.family().qkNorm()) {
            registerChild("q_norm", parts.norm(p + "q_norm", c.headDim(), c.rmsNormEps(), 0f));
            registerChild("k_norm", parts.norm(p + "k_norm", c.headDim(), c.rmsNormEps(), 0f));
        }
    }

    /** The (possibly replaced) child module {@code name}: a projection ({@code q_proj}, {@code qkv_proj}, {@code o_proj}, …) or a q/k norm. */
    public Module proj(String name) {
        Module m = children().get(name);
        if (m == null) throw new IllegalArgumentException("self_attn has no '" + name + "' for model_type '" + config.family().modelType() + "' (children: " + children().keySet() + ")");
        return m;
    }

    /** Training/reference forward: {@code x [B, T, D]} at positions {@code 0..T-1}, causal. */
    public Tensor forward(Tensor x, RopeTable rope) {
        int[] s = x.shape();
        int b = s[0], t = s[1], h = config.numAttentionHeads(), kvh = config.numKeyValueHeads(), hd = config.headDim();
        Tensor q, k, v;
        if (config.family().fusedQkv()) {
            Tensor qkv = proj("qkv_proj").forward(x);
            int qd = config.qDim(), kd = config.kvDim();
            q = qkv.slice(2, 0, qd);
            k = qkv.slice(2, qd, qd + kd);
            v = qkv.slice(2, qd + kd, qd + 2 * kd);
        } else {
            q = proj("q_proj").forward(x);
            k = proj("k_proj").forward(x);
            v = proj("v_proj").forward(x);
        }
        q = q.reshape(b, t, h, hd);
        k = k.reshape(b, t, kvh, hd);
        if (config.family().qkNorm()) {
            q = proj("q_norm").forward(q);
            k = proj("k_norm").forward(k);
        }
        q = Functional.rotaryEmbedding(q.permute(0, 2, 1, 3), rope, 0);
        k = Functional.rotaryEmbedding(k.permute(0, 2, 1, 3), rope, 0);
        v = v.reshape(b, t, kvh, hd).permute(0, 2, 1, 3);
        Tensor a = Functional.scaledDotProductAttention(q, k, v, true, 0, config.slidingWindow());
        return proj("o_proj").forward(a.permute(0, 2, 1, 3).reshape(b, t, h * hd));
    }

    @Override
    public Tensor forward(Tensor x) {
        throw new UnsupportedOperationException("LlamaAttention needs rotary tables: call LlamaModel.logits(...)");
    }
}
