package org.goldenstick.llm;

import java.util.Random;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;

/**
 * The decoder stack under {@code model.}: {@code embed_tokens}, {@code layers.0 … layers.N-1} and the final
 * {@code norm}, as in Hugging Face's {@code LlamaModel}. The language-model head lives one level up in
 * {@link LlamaModel}.
 */
public final class LlamaTransformer extends Module {
    private final float embedScale;

    public LlamaTransformer(LlamaConfig c, Random rng, double initStd) {
        this(c, LlamaParts.random(rng, initStd));
    }

    /** The stack whose modules {@code parts} supplies, named {@code model.embed_tokens}, {@code model.layers.N…}, {@code model.norm}. */
    public LlamaTransformer(LlamaConfig c, LlamaParts parts) {
        registerChild("embed_tokens", parts.embedding("model.embed_tokens", c.vocabSize(), c.hiddenSize()));
        registerChild("layers", new Layers(c, parts));
        registerChild("norm", norm(c, parts, "model.norm"));
        // Gemma multiplies the embeddings by √hidden, rounded to the activation dtype (float32 here) as transformers does.
        embedScale = c.family().gemmaNorms() ? (float) Math.sqrt(c.hiddenSize()) : 1f;
    }

    /** An RMSNorm of {@code size} channels as the config's family defines it (Gemma's multiplies by 1 + weight). */
    static RmsNorm norm(LlamaConfig c, LlamaParts parts, String name) {
        return parts.norm(name, c.hiddenSize(), c.rmsNormEps(), c.family().gemmaNorms() ? 1f : 0f);
    }

    /** The factor the embeddings are multiplied by before the first layer (√hidden for Gemma, else 1). */
    public float embedScale() {
        return embedScale;
    }

    /** The (scaled) input embeddings of {@code ids} into {@code out} ({@code [ids.length, hidden]}, row-major). */
    public void embed(int[] ids, float[] out) {
        embedTokens().gather(ids, out);
        if (embedScale != 1f) for (int i = 0; i < out.length; i++) out[i] *= embedScale;
    }

    /** The (scaled) input embeddings {@code [batch, seqLen, hidden]} with autograd into the table. */
    public Tensor embed(int[] ids, int batch, int seqLen) {
        Tensor x = embedTokens().lookup(ids, batch, seqLen);
        return embedScale == 1f ? x : x.mul(embedScale);
    }

    public TokenEmbedding embedTokens() {
        return (TokenEmbedding) children().get("embed_tokens");
    }

    public LlamaDecoderLayer layer(int i) {
        return (LlamaDecoderLayer) children().get("layers").children().get(Integer.toString(i));
    }

    public int numLayers() {
        return children().get("layers").children().size();
    }

    public Module norm() {
        return children().get("norm");
    }

    @Override
    public Tensor forward(Tensor x) {
        throw new UnsupportedOperationException("call LlamaModel.logits(...) or LlamaModel.newSession(...)");
    }

    /** The {@code layers} container: children "0" … "N-1", no computation of its own. */
    public static final class Layers extends Module {
        Layers(LlamaConfig c, LlamaParts parts) {
            for (int i = 0; i < c.numHiddenLayers(); i++) registerChild(Integer.toString(i), new LlamaDecoderLayer(c, parts, "model.layers." + i));
        }

        @Override
        public Tensor forward(Tensor x) {
            throw new UnsupportedOperationException("the layer list is a container; call LlamaModel.logits(...)");
        }
    }
}
