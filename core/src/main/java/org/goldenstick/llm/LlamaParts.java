package org.goldenstick.llm;

import java.util.Random;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;

/**
 * Where the modules of a {@link LlamaModel} come from, asked for one by one under their Hugging Face names while the
 * model is assembled: fresh ones with random initial weights ({@link #random}, for training), or views of a checkpoint
 * read in place (what {@link HfCheckpoint#map} and the quantized and GGUF loaders supply, so that weights stay in the
 * mapped files). The model's structure (which modules, in which order, with which shapes) is decided by
 * {@link LlamaModel} alone.
 *
 * <pre>{@code
 * LlamaModel fresh = new LlamaModel(config, LlamaParts.random(new Random(0), 0.02));
 * }</pre>
 */
public interface LlamaParts {
    /** The projection {@code name} (e.g. {@code model.layers.0.self_attn.q_proj}): {@code [..., in] → [..., out]}. */
    Module linear(String name, int in, int out, boolean bias);

    /** The RMSNorm {@code name} over {@code size} channels, multiplying by {@code offset + weight}. */
    RmsNorm norm(String name, int size, double eps, float offset);

    /** The token-embedding table {@code name} ({@code [vocab, dim]}). */
    TokenEmbedding embedding(String name, int vocab, int dim);

    /**
     * Fresh modules: projections with the {@link Linear} default initialisation, embeddings ~ N(0, std), norms at their
     * neutral value; random numbers are drawn in the order the model asks for the parts.
     */
    static LlamaParts random(Random rng, double std) {
        return new LlamaParts() {
            @Override
            public Module linear(String name, int in, int out, boolean bias) {
                return new Linear(in, out, bias, rng);
            }

            @Override
            public RmsNorm norm(String name, int size, double eps, float offset) {
                return new RmsNorm(size, eps, offset);
            }

            @Override
            public TokenEmbedding embedding(String name, int vocab, int dim) {
                return new TokenEmbedding(vocab, dim, rng, std);
            }
        };
    }
}
