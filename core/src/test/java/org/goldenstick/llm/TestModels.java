package org.goldenstick.llm;

import org.goldenstick.tensor.RopeScaling;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.goldenstick.tensor.Tensor;

/** Small random Llama configs and models for tests. */
final class TestModels {
    private TestModels() {}

    /** GQA (4 query heads over 2 KV heads), untied, llama3 rope scaling whose bands all occur at head_dim 8. */
    static LlamaConfig gqaLlama3() {
        return new LlamaConfig(16, 40, 2, 4, 2, 8, 1e-5, 10000.0, new RopeScaling.Llama3(8.0, 1.0, 4.0, 64), 37, 64, false, 1,
                new int[] {2}, "float32", List.of("LlamaForCausalLM"), Map.of());
    }

    /** Multi-head (no GQA), tied embeddings, linear rope scaling, head_dim 6 ≠ hidden/heads. */
    static LlamaConfig tiedLinear() {
        return new LlamaConfig(12, 30, 2, 3, 3, 6, 1e-6, 500.0, new RopeScaling.Linear(2.0), 29, 64, true, 0,
                new int[] {1}, "float32", List.of("LlamaForCausalLM"), Map.of());
    }

    /** A model whose weights are large enough that every part of the network shapes the logits. */
    static LlamaModel random(LlamaConfig c, long seed) {
        LlamaModel m = new LlamaModel(c, new Random(seed));
        Random rng = new Random(seed + 1);
        for (Map.Entry<String, Tensor> e : m.namedParameters().entrySet()) {
            float[] d = e.getValue().data();
            Tensor t = e.getValue();
            boolean norm = e.getKey().endsWith("norm.weight");
            double std = norm ? 0.3 : e.getKey().contains("embed") ? 1.0 : 1.0 / Math.sqrt(t.dim(1));
            for (int i = 0; i < d.length; i++) d[i] = (float) ((norm ? 1.0 : 0.0) + std * rng.nextGaussian());
        }
        return m;
    }

    static int[] ids(LlamaConfig c, int n, long seed) {
        Random rng = new Random(seed);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = rng.nextInt(c.vocabSize());
        return ids;
    }
}
