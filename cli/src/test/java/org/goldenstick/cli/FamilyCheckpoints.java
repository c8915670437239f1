package org.goldenstick.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.formats.safetensors.SafetensorsWriter;
import org.goldenstick.tensor.Tensor;

/**
 * Random checkpoints of each supported family in the Hugging Face layout its {@code transformers} class writes:
 * config.json with the family's own fields, bf16 weights under the family's tensor names (written out here, not taken
 * from the engine), sharded into {@code model-00001-of-00002.safetensors}, {@code model-00002-of-00002.safetensors}
 * and {@code model.safetensors.index.json}, with grouped-query attention (4 query heads over 2 key/value heads).
 */
final class FamilyCheckpoints {
    private FamilyCheckpoints() {}

    static final List<String> FAMILIES = List.of("llama", "mistral", "qwen2", "qwen3", "gemma", "phi3");

    static final int HIDDEN = 32, INTER = 64, LAYERS = 2, HEADS = 4, KV_HEADS = 2, MAX_POS = 128;

    /** A written checkpoint: its config and the bf16-exact weights (by Hugging Face name) the reference computes with. */
    record Written(Path dir, String modelType, ObjectNode config, Map<String, Tensor> weights) {}

    /** The config.json of a tiny {@code modelType} model with {@code vocab} tokens (BOS 0, EOS 1). */
    static ObjectNode config(String modelType, int vocab) {
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.put("model_type", modelType);
        c.putArray("architectures").add(switch (modelType) {
            case "llama" -> "LlamaForCausalLM";
            case "mistral" -> "MistralForCausalLM";
            case "qwen2" -> "Qwen2ForCausalLM";
            case "qwen3" -> "Qwen3ForCausalLM";
            case "gemma" -> "GemmaForCausalLM";
            case "phi3" -> "Phi3ForCausalLM";
            default -> throw new IllegalArgumentException(modelType);
        });
        c.put("hidden_size", HIDDEN).put("intermediate_size", INTER).put("num_hidden_layers", LAYERS);
        c.put("num_attention_heads", HEADS).put("num_key_value_heads", KV_HEADS);
        c.put("vocab_size", vocab).put("max_position_embeddings", MAX_POS).put("rms_norm_eps", 1e-6);
        c.put("bos_token_id", 0).put("eos_token_id", 1).put("torch_dtype", "bfloat16");
        switch (modelType) {
            case "llama" -> {
                c.put("rope_theta", 500000.0).put("tie_word_embeddings", false).put("hidden_act", "silu").put("attention_bias", false);
                c.putObject("rope_scaling").put("rope_type", "llama3").put("factor", 8.0).put("low_freq_factor", 1.0)
                        .put("high_freq_factor", 4.0).put("original_max_position_embeddings", 64);
            }
            // the window (8) is shorter than the eval windows and the generated text, so it changes the result
            case "mistral" -> c.put("rope_theta", 10000.0).put("tie_word_embeddings", false).put("hidden_act", "silu").put("sliding_window", 8);
            // Qwen2.5's small models tie the head; sliding_window is present but off (use_sliding_window false)
            case "qwen2" -> c.put("rope_theta", 1000000.0).put("tie_word_embeddings", true).put("hidden_act", "silu")
                    .put("use_sliding_window", false).put("sliding_window", 4).put("max_window_layers", 1);
            // head_dim 16 ≠ hidden/heads, as Qwen3 configs give it
            case "qwen3" -> c.put("rope_theta", 1000000.0).put("tie_word_embeddings", false).put("hidden_act", "silu").put("head_dim", 16)
                    .put("attention_bias", false);
            // tie_word_embeddings absent: Gemma's default is tied; hidden_act says gelu but transformers uses hidden_activation
            case "gemma" -> c.put("rope_theta", 10000.0).put("head_dim", 16).put("hidden_act", "gelu").put("hidden_activation", "gelu_pytorch_tanh");
            case "phi3" -> c.put("rope_theta", 10000.0).put("tie_word_embeddings", false).put("hidden_act", "silu").put("sliding_window", 12)
                    .put("original_max_position_embeddings", MAX_POS).putNull("rope_scaling");
            default -> throw new IllegalArgumentException(modelType);
        }
        return c;
    }

    static int headDim(ObjectNode c) {
        return c.has("head_dim") ? c.get("head_dim").asInt() : HIDDEN / HEADS;
    }

    static boolean tied(ObjectNode c) {
        return c.has("tie_word_embeddings") ? c.get("tie_word_embeddings").asBoolean() : c.get("model_type").asText().equals("gemma");
    }

    /** Tensor name → shape, as the family's transformers class names its parameters. */
    static Map<String, int[]> shapes(String modelType, ObjectNode c) {
        int hd = headDim(c), q = HEADS * hd, kv = KV_HEADS * hd, vocab = c.get("vocab_size").asInt();
        Map<String, int[]> s = new LinkedHashMap<>();
        s.put("model.embed_tokens.weight", new int[] {vocab, HIDDEN});
        for (int l = 0; l < LAYERS; l++) {
            String p = "model.layers." + l + ".";
            s.put(p + "input_layernorm.weight", new int[] {HIDDEN});
            s.put(p + "post_attention_layernorm.weight", new int[] {HIDDEN});
            if (modelType.equals("phi3")) {
                s.put(p + "self_attn.qkv_proj.weight", new int[] {q + 2 * kv, HIDDEN});
                s.put(p + "mlp.gate_up_proj.weight", new int[] {2 * INTER, HIDDEN});
            } else {
                s.put(p + "self_attn.q_proj.weight", new int[] {q, HIDDEN});
                s.put(p + "self_attn.k_proj.weight", new int[] {kv, HIDDEN});
                s.put(p + "self_attn.v_proj.weight", new int[] {kv, HIDDEN});
                s.put(p + "mlp.gate_proj.weight", new int[] {INTER, HIDDEN});
                s.put(p + "mlp.up_proj.weight", new int[] {INTER, HIDDEN});
            }
            if (modelType.equals("qwen2")) {
                s.put(p + "self_attn.q_proj.bias", new int[] {q});
                s.put(p + "self_attn.k_proj.bias", new int[] {kv});
                s.put(p + "self_attn.v_proj.bias", new int[] {kv});
            }
            if (modelType.equals("qwen3")) {
                s.put(p + "self_attn.q_norm.weight", new int[] {hd});
                s.put(p + "self_attn.k_norm.weight", new int[] {hd});
            }
            s.put(p + "self_attn.o_proj.weight", new int[] {HIDDEN, q});
            s.put(p + "mlp.down_proj.weight", new int[] {HIDDEN, INTER});
        }
        s.put("model.norm.weight", new int[] {HIDDEN});
        if (!tied(c)) s.put("lm_head.weight", new int[] {vocab, HIDDEN});
        return s;
    }

    /** The linear layers a quantizer should target (all but lm_head), as the family names them. */
    static List<String> linears(String modelType, ObjectNode c) {
        List<String> out = new ArrayList<>();
        for (String n : shapes(modelType, c).keySet()) {
            if (n.endsWith("_proj.weight")) out.add(n.substring(0, n.length() - ".weight".length()));
        }
        return out;
    }

    /** Float32 → bfloat16 → float32, rounding to nearest even (what torch's .to(bfloat16) does). */
    static float bf16(float f) {
        int b = Float.floatToRawIntBits(f);
        b += 0x7FFF + ((b >>> 16) & 1);
        return Float.intBitsToFloat(b & 0xFFFF0000);
    }

    /**
     * Writes a random {@code modelType} checkpoint into {@code dir} (companion files copied from {@code companions});
     * weights are large enough that every part of the network shapes the logits.
     */
    static Written write(Path dir, String modelType, int vocab, Path companions, long seed) throws IOException {
        ObjectNode c = config(modelType, vocab);
        Random rng = new Random(seed);
        Map<String, Tensor> w = new TreeMap<>();
        boolean gemma = modelType.equals("gemma");
        for (var e : shapes(modelType, c).entrySet()) {
            String n = e.getKey();
            int[] shape = e.getValue();
            int numel = 1;
            for (int d : shape) numel *= d;
            float[] d = new float[numel];
            boolean norm = n.endsWith("norm.weight");
            // Gemma stores norm weights as the deviation from 1
            double mean = norm && !gemma ? 1.0 : 0.0;
            // a tied head reads the embeddings too: smaller ones keep its logits (and so the KL divergences) informative
            double std = norm ? 0.3 : n.endsWith(".bias") ? 0.5 : n.contains("embed") ? (tied(c) ? 0.2 : 1.0) : 1.0 / Math.sqrt(shape[1]);
            for (int i = 0; i < numel; i++) d[i] = bf16((float) (mean + std * rng.nextGaussian()));
            w.put(n, Tensor.of(d, shape));
        }
        Files.createDirectories(dir);
        for (String f : List.of("tokenizer.json", "heldout.txt")) {
            if (Files.exists(companions.resolve(f))) Files.copy(companions.resolve(f), dir.resolve(f));
        }
        Files.writeString(dir.resolve("config.json"), c.toPrettyString());
        List<String> names = new ArrayList<>(w.keySet());
        ObjectNode index = new ObjectMapper().createObjectNode();
        long total = 0;
        for (Tensor t : w.values()) total += 2L * t.numel();
        index.putObject("metadata").put("total_size", total);
        ObjectNode map = index.putObject("weight_map");
        int half = names.size() / 2;
        for (int shard = 0; shard < 2; shard++) {
            String file = String.format("model-%05d-of-00002.safetensors", shard + 1);
            SafetensorsWriter sw = new SafetensorsWriter().metadata("format", "pt");
            for (String n : shard == 0 ? names.subList(0, half) : names.subList(half, names.size())) {
                sw.add(n, w.get(n), DType.BF16);
                map.put(n, file);
            }
            sw.write(dir.resolve(file));
        }
        Files.writeString(dir.resolve("model.safetensors.index.json"), index.toPrettyString());
        return new Written(dir, modelType, c, w);
    }
}
