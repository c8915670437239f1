package org.goldenstick.ptq;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tensors a Hugging Face Llama checkpoint must hold, with the shapes its {@code config.json} implies, and
 * which of them are linear-layer weights. Used to validate a checkpoint before any output is written, and by
 * the model-free (tensor-by-tensor) RTN path, which needs no model object.
 *
 * <pre>{@code
 * LlamaLayout l = LlamaLayout.read(Path.of("models/gstick-llama-demo"));
 * l.expectedShapes().get("model.layers.0.self_attn.q_proj.weight");   // [heads·headDim, hidden]
 * }</pre>
 *
 * @param linearLayers dotted names of every linear layer (without {@code .weight}), in model order
 * @param smoothGroups SmoothQuant mappings: norm name → the linear layers that read its output
 */
public record LlamaLayout(int hiddenSize, int intermediateSize, int layers, int heads, int kvHeads, int headDim, int vocabSize,
                          boolean tiedEmbeddings, boolean attentionBias, boolean mlpBias,
                          Map<String, int[]> expectedShapes, List<String> linearLayers, Map<String, List<String>> smoothGroups) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Reads {@code dir/config.json}; a missing or malformed field is an error naming the file and field. */
    public static LlamaLayout read(Path dir) throws IOException {
        Path cfg = dir.resolve("config.json");
        if (!Files.isRegularFile(cfg)) throw new IllegalArgumentException(cfg + ": no config.json in the model folder");
        JsonNode n;
        try {
            n = JSON.readTree(cfg.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException(cfg + ": not valid JSON: " + e.getMessage());
        }
        return fromJson(n, cfg.toString());
    }

    static LlamaLayout fromJson(JsonNode n, String where) {
        int hidden = req(n, "hidden_size", where);
        int inter = req(n, "intermediate_size", where);
        int layers = req(n, "num_hidden_layers", where);
        int heads = req(n, "num_attention_heads", where);
        int kv = n.has("num_key_value_heads") && !n.get("num_key_value_heads").isNull() ? req(n, "num_key_value_heads", where) : heads;
        if (hidden % heads != 0 && !n.has("head_dim")) throw new IllegalArgumentException(where + ": hidden_size " + hidden + " is not a multiple of num_attention_heads " + heads);
        int headDim = n.has("head_dim") && !n.get("head_dim").isNull() ? req(n, "head_dim", where) : hidden / heads;
        if (heads % kv != 0) throw new IllegalArgumentException(where + ": num_attention_heads " + heads + " is not a multiple of num_key_value_heads " + kv);
        int vocab = req(n, "vocab_size", where);
        boolean tied = n.path("tie_word_embeddings").asBoolean(false);
        boolean attnBias = n.path("attention_bias").asBoolean(false);
        boolean mlpBias = n.path("mlp_bias").asBoolean(false);

        Map<String, int[]> shapes = new LinkedHashMap<>();
        List<String> linears = new ArrayList<>();
        Map<String, List<String>> groups = new LinkedHashMap<>();
        shapes.put("model.embed_tokens.weight", new int[] {vocab, hidden});
        for (int i = 0; i < layers; i++) {
            String p = "model.layers." + i + ".";
            shapes.put(p + "input_layernorm.weight", new int[] {hidden});
            String[][] attn = {{"q_proj", "" + heads * headDim, "" + hidden}, {"k_proj", "" + kv * headDim, "" + hidden},
                    {"v_proj", "" + kv * headDim, "" + hidden}, {"o_proj", "" + hidden, "" + heads * headDim}};
            for (String[] a : attn) {
                String name = p + "self_attn." + a[0];
                linears.add(name);
                int out = Integer.parseInt(a[1]);
                shapes.put(name + ".weight", new int[] {out, Integer.parseInt(a[2])});
                if (attnBias) shapes.put(name + ".bias", new int[] {out});
            }
            shapes.put(p + "post_attention_layernorm.weight", new int[] {hidden});
            String[][] mlp = {{"gate_proj", "" + inter, "" + hidden}, {"up_proj", "" + inter, "" + hidden}, {"down_proj", "" + hidden, "" + inter}};
            for (String[] a : mlp) {
                String name = p + "mlp." + a[0];
                linears.add(name);
                int out = Integer.parseInt(a[1]);
                shapes.put(name + ".weight", new int[] {out, Integer.parseInt(a[2])});
                if (mlpBias) shapes.put(name + ".bias", new int[] {out});
            }
            groups.put(p + "input_layernorm", List.of(p + "self_attn.q_proj", p + "self_attn.k_proj", p + "self_attn.v_proj"));
            groups.put(p + "post_attention_layernorm", List.of(p + "mlp.gate_proj", p + "mlp.up_proj"));
        }
        shapes.put("model.norm.weight", new int[] {hidden});
        if (!tied) {
            shapes.put("lm_head.weight", new int[] {vocab, hidden});
            linears.add("lm_head");
        }
        return new LlamaLayout(hidden, inter, layers, heads, kv, headDim, vocab, tied, attnBias, mlpBias, shapes, List.copyOf(linears), groups);
    }

    private static int req(JsonNode n, String field, String where) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) throw new IllegalArgumentException(where + ": missing field '" + field + "'");
        if (!v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() <= 0) throw new IllegalArgumentException(where + ": field '" + field + "' must be a positive integer, got " + v);
        return v.asInt();
    }

    /** Total number of weights of the linear layers (what W8 quantization shrinks). */
    public long linearParameterCount() {
        long n = 0;
        for (String l : linearLayers) {
            int[] s = expectedShapes.get(l + ".weight");
            n += (long) s[0] * s[1];
        }
        return n;
    }
}
