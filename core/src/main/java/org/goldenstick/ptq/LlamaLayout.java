package org.goldenstick.ptq;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.goldenstick.llm.LlamaConfig;
import org.goldenstick.llm.ModelFamily;

/**
 * The tensors a Hugging Face checkpoint of a supported {@link ModelFamily} must hold, with the shapes its
 * {@code config.json} implies, and which of them are linear-layer weights; every name comes from the family's
 * description (separate or fused projections, biases, q/k norms). Used to validate a checkpoint before any output
 * is written, and by the model-free (tensor-by-tensor) RTN path, which needs no model object.
 *
 * <pre>{@code
 * LlamaLayout l = LlamaLayout.read(Path.of("models/gstick-llama-demo"));
 * l.expectedShapes().get("model.layers.0.self_attn.q_proj.weight");   // [heads·headDim, hidden]
 * }</pre>
 *
 * @param linearLayers dotted names of every linear layer (without {@code .weight}), in model order
 */
public record LlamaLayout(ModelFamily family, int hiddenSize, int layers, int vocabSize, boolean tiedEmbeddings,
                          Map<String, int[]> expectedShapes, List<String> linearLayers) {

    /** Reads and validates {@code dir/config.json} (through {@link LlamaConfig}); errors name the file and field. */
    public static LlamaLayout read(Path dir) throws IOException {
        Path cfg = dir.resolve("config.json");
        if (!Files.isRegularFile(cfg)) throw new IllegalArgumentException(cfg + ": no config.json in the model folder");
        return of(LlamaConfig.load(cfg));
    }

    /** The layout a config implies. */
    public static LlamaLayout of(LlamaConfig c) {
        ModelFamily f = c.family();
        int hidden = c.hiddenSize(), inter = c.intermediateSize(), q = c.qDim(), kv = c.kvDim(), vocab = c.vocabSize();
        // [out, in] and bias of each linear of a decoder layer, by relative name
        Map<String, int[]> linearShape = new LinkedHashMap<>();
        Map<String, Boolean> linearBias = new LinkedHashMap<>();
        if (f.fusedQkv()) {
            linearShape.put("self_attn.qkv_proj", new int[] {q + 2 * kv, hidden});
        } else {
            linearShape.put("self_attn.q_proj", new int[] {q, hidden});
            linearShape.put("self_attn.k_proj", new int[] {kv, hidden});
            linearShape.put("self_attn.v_proj", new int[] {kv, hidden});
        }
        for (String n : f.attentionInputs()) linearBias.put(n, c.qkvBias());
        linearShape.put("self_attn.o_proj", new int[] {hidden, q});
        linearBias.put("self_attn.o_proj", c.oBias());
        if (f.fusedGateUp()) {
            linearShape.put("mlp.gate_up_proj", new int[] {2 * inter, hidden});
        } else {
            linearShape.put("mlp.gate_proj", new int[] {inter, hidden});
            linearShape.put("mlp.up_proj", new int[] {inter, hidden});
        }
        linearShape.put("mlp.down_proj", new int[] {hidden, inter});
        for (String n : f.mlpInputs()) linearBias.put(n, c.mlpBias());
        linearBias.put("mlp.down_proj", c.mlpBias());
        if (!linearShape.keySet().equals(new java.util.LinkedHashSet<>(f.linearNames()))) {
            throw new IllegalStateException("layout of model_type '" + f.modelType() + "' disagrees with its family's linear names " + f.linearNames());
        }

        Map<String, int[]> shapes = new LinkedHashMap<>();
        List<String> linears = new ArrayList<>();
        shapes.put("model.embed_tokens.weight", new int[] {vocab, hidden});
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String p = "model.layers." + i + ".";
            shapes.put(p + "input_layernorm.weight", new int[] {hidden});
            if (f.qkNorm()) {
                shapes.put(p + "self_attn.q_norm.weight", new int[] {c.headDim()});
                shapes.put(p + "self_attn.k_norm.weight", new int[] {c.headDim()});
            }
            for (var e : linearShape.entrySet()) {
                String name = p + e.getKey();
                linears.add(name);
                shapes.put(name + ".weight", e.getValue());
                if (linearBias.get(e.getKey())) shapes.put(name + ".bias", new int[] {e.getValue()[0]});
            }
            shapes.put(p + "post_attention_layernorm.weight", new int[] {hidden});
        }
        shapes.put("model.norm.weight", new int[] {hidden});
        if (!c.tieWordEmbeddings()) {
            shapes.put("lm_head.weight", new int[] {vocab, hidden});
            linears.add("lm_head");
        }
        return new LlamaLayout(f, hidden, c.numHiddenLayers(), vocab, c.tieWordEmbeddings(), shapes, List.copyOf(linears));
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

    /** Parameters of the largest linear layer. */
    public long largestLinearParameterCount() {
        long n = 0;
        for (String l : linearLayers) {
            int[] s = expectedShapes.get(l + ".weight");
            n = Math.max(n, (long) s[0] * s[1]);
        }
        return n;
    }
}
