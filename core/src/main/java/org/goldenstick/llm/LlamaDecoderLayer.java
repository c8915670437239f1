package org.goldenstick.llm;

import java.util.Random;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.RopeTable;
import org.goldenstick.tensor.Tensor;

/**
 * One pre-norm transformer block: {@code x += self_attn(input_layernorm(x)); x += mlp(post_attention_layernorm(x))}.
 * Children carry the Hugging Face names {@code input_layernorm, self_attn, post_attention_layernorm, mlp}.
 */
public final class LlamaDecoderLayer extends Module {
    public LlamaDecoderLayer(LlamaConfig c, Random rng) {
        this(c, LlamaParts.random(rng, 0.02), "layer");
    }

    /** The block whose modules {@code parts} supplies under {@code prefix} ({@code model.layers.N}). */
    public LlamaDecoderLayer(LlamaConfig c, LlamaParts parts, String prefix) {
        registerChild("input_layernorm", LlamaTransformer.norm(c, parts, prefix + ".input_layernorm"));
        registerChild("self_attn", new LlamaAttention(c, parts, prefix + ".self_attn"));
        registerChild("post_attention_layernorm", LlamaTransformer.norm(c, parts, prefix + ".post_attention_layernorm"));
        registerChild("mlp", new LlamaMlp(c, parts, prefix + ".mlp"));
    }

    public RmsNorm inputLayernorm() {
        return (RmsNorm) children().get("input_layernorm");
    }

    public LlamaAttention selfAttn() {
        return (LlamaAttention) children().get("self_attn");
    }

    public RmsNorm postAttentionLayernorm() {
        return (RmsNorm) children().get("post_attention_layernorm");
    }

    public LlamaMlp mlp() {
        return (LlamaMlp) children().get("mlp");
    }

    /** Training/reference forward on {@code x [B, T, D]}. */
    public Tensor forward(Tensor x, RopeTable rope) {
        x = x.add(selfAttn().forward(children().get("input_layernorm").forward(x), rope));
        return x.add(children().get("mlp").forward(children().get("post_attention_layernorm").forward(x)));
    }

    @Override
    public Tensor forward(Tensor x) {
        throw new UnsupportedOperationException("LlamaDecoderLayer needs rotary tables: call LlamaModel.logits(...)");
    }
}
