package org.goldenstick.ptq;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.formats.safetensors.SafetensorsWriter;

/** Writes small random Hugging Face Llama folders (config.json + model.safetensors) for tests. */
final class TinyCheckpoints {
    private TinyCheckpoints() {}

    static String configJson(int hidden, int inter, int layers, int heads, int kv, int vocab, boolean tied) {
        return String.format(Locale.ROOT, """
                {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": %d, "intermediate_size": %d,
                 "num_hidden_layers": %d, "num_attention_heads": %d, "num_key_value_heads": %d, "vocab_size": %d,
                 "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": %s,
                 "hidden_act": "silu", "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"}
                """, hidden, inter, layers, heads, kv, vocab, tied);
    }

    /** Random weights for every tensor the config implies (norm weights near 1), by name. */
    static Map<String, float[]> randomWeights(LlamaLayout layout, long seed) {
        Random rng = new Random(seed);
        Map<String, float[]> out = new TreeMap<>();
        for (var e : layout.expectedShapes().entrySet()) {
            int n = 1;
            for (int d : e.getValue()) n *= d;
            float[] v = new float[n];
            boolean norm = e.getKey().endsWith("norm.weight");
            for (int i = 0; i < n; i++) v[i] = norm ? (float) (1 + 0.1 * rng.nextGaussian()) : (float) (rng.nextGaussian() * 0.08);
            out.put(e.getKey(), v);
        }
        return out;
    }

    /** Writes a folder with the given weights stored as {@code dtype}; returns the layout. */
    static LlamaLayout write(Path dir, String configJson, Map<String, float[]> weights, DType dtype) throws IOException {
        return write(dir, configJson, weights, dtype, null);
    }

    /** As above, taking tensor shapes from {@code shapes} (a layout that may disagree with the config, for bad-input tests). */
    static LlamaLayout write(Path dir, String configJson, Map<String, float[]> weights, DType dtype, LlamaLayout shapes) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), configJson, StandardCharsets.UTF_8);
        LlamaLayout layout = shapes != null ? shapes : LlamaLayout.read(dir);
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
        for (var e : weights.entrySet()) {
            int[] shape = layout.expectedShapes().getOrDefault(e.getKey(), new int[] {e.getValue().length});
            w.addFloats(e.getKey(), e.getValue(), dtype, shape);
        }
        w.write(dir.resolve("model.safetensors"));
        return layout;
    }

    static LlamaLayout writeRandom(Path dir, long seed, DType dtype) throws IOException {
        String cfg = configJson(32, 64, 2, 4, 2, 50, false);
        LlamaLayout layout = LlamaLayout.of(org.goldenstick.llm.LlamaConfig.parse(cfg, "test"));
        return write(dir, cfg, randomWeights(layout, seed), dtype);
    }
}
