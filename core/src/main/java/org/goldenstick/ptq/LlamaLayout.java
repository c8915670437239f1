package org.goldenstick.ptq;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.goldenstick.llm.LlamaConfig;

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

    /** Reads and validates {@code dir/config.json} (through {@link LlamaConfig}); errors name the file and field. */
    public static LlamaLayout read(Path dir) throws IOException {
        Path cfg = dir.resolve("config.json");
        if (!Files.isRegularFile(cfg)) throw new IllegalArgumentException(cfg + ": no config.json in the model folder");
        return of(LlamaConfig.load(cfg));
    }

    /** The layout a Llama config implies. */
    public static LlamaLayout of(LlamaConfig c) {
        int hidden = c.hiddenSize(), inter = c.intermediateSize(), layers = c.numHiddenLayers(), heads = c.numAttentionHeads();
        int kv = c.numKeyValueHeads(), headDim = c.headDim(), vocab = c.vocabSize();
        boolean tied = c.tieWordEmbeddings();
        boolean attnBias = c.extra().containsKey("attention_bias") && c.extra().get("attention_bias").asBoolean(false);
        boolean mlpBias = c.extra().containsKey("mlp_bias") && c.extra().get("mlp_bias").asBoolean(false);

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
