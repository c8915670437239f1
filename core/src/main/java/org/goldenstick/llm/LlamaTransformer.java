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
    public LlamaTransformer(LlamaConfig c, Random rng, double initStd) {
        registerChild("embed_tokens", new TokenEmbedding(c.vocabSize(), c.hiddenSize(), rng, initStd));
        registerChild("layers", new Layers(c, rng));
        registerChild("norm", new RmsNorm(c.hiddenSize(), c.rmsNormEps()));
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
        Layers(LlamaConfig c, Random rng) {
            for (int i = 0; i < c.numHiddenLayers(); i++) registerChild(Integer.toString(i), new LlamaDecoderLayer(c, rng));
        }

        @Override
        public Tensor forward(Tensor x) {
            throw new UnsupportedOperationException("the layer list is a container; call LlamaModel.logits(...)");
        }
    }
}
