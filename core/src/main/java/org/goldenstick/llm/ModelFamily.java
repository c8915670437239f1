package org.goldenstick.llm;

import java.util.ArrayList;
import java.util.List;

/**
 * What one Hugging Face decoder family ({@code config.json} {@code model_type}) does differently from Llama, as
 * data: tensor names (separate or fused projections), biases, per-head q/k norms, Gemma's embedding scaling and
 * {@code 1 + weight} norms, the feed-forward activation, the tied-head default, whether {@code sliding_window} is
 * honoured, the llama.cpp architecture name, and the norm → linear mappings SmoothQuant and AWQ fold scales
 * through. {@link LlamaModel}, {@link LlamaSession}, the checkpoint layout and the PTQ algorithms all read their
 * family's description instead of hard-wiring Llama's names; {@link #of(String, List, String)} picks the entry.
 *
 * <pre>{@code
 * ModelFamily f = ModelFamily.forModelType("qwen3");
 * f.linearNames();          // [self_attn.q_proj, self_attn.k_proj, self_attn.v_proj, self_attn.o_proj, mlp.gate_proj, …]
 * f.mappings();             // input_layernorm → q/k/v_proj, v_proj → o_proj, post_attention_layernorm → gate/up_proj, …
 * }</pre>
 *
 * @param modelType            {@code model_type} in config.json
 * @param architectures        the {@code architectures} class names of the family (the first is written by default)
 * @param fusedQkv             one {@code self_attn.qkv_proj} ([q; k; v] rows) instead of q/k/v_proj (Phi-3)
 * @param fusedGateUp          one {@code mlp.gate_up_proj} ([gate; up] rows) instead of gate/up_proj (Phi-3)
 * @param attentionBias        which attention projections carry a bias
 * @param mlpBiasFromConfig    the feed-forward projections carry a bias when config.json says {@code mlp_bias: true}
 * @param qkNorm               per-head RMSNorm {@code self_attn.q_norm}/{@code k_norm} over head_dim before rotary (Qwen3)
 * @param gemmaNorms           RMSNorms multiply by {@code 1 + weight} and the embeddings are scaled by √hidden (Gemma)
 * @param activationKey        the config.json field naming the feed-forward activation
 * @param defaultActivation    the activation when that field is absent
 * @param tiedByDefault        {@code tie_word_embeddings} when config.json does not say
 * @param slidingWindowKey     config.json field whose integer is the attention window (null: the family has none)
 * @param ggufArch             llama.cpp's {@code general.architecture} for this family, or null when GGUF export is refused
 */
public record ModelFamily(String modelType, List<String> architectures, boolean fusedQkv, boolean fusedGateUp, AttentionBias attentionBias,
                          boolean mlpBiasFromConfig, boolean qkNorm, boolean gemmaNorms, String activationKey, String defaultActivation,
                          boolean tiedByDefault, String slidingWindowKey, String ggufArch) {

    /** Which attention projections have a bias. */
    public enum AttentionBias {
        /** none, whatever config.json says (Mistral, Phi-3) */
        NONE,
        /** q/k/v always, o never (Qwen2) */
        QKV,
        /** q/k/v and o when config.json has {@code attention_bias: true} (Llama, Qwen3, Gemma) */
        ALL_IF_CONFIG
    }

    public ModelFamily {
        architectures = List.copyOf(architectures);
    }

    public static final ModelFamily LLAMA = new ModelFamily("llama", List.of("LlamaForCausalLM"), false, false, AttentionBias.ALL_IF_CONFIG,
            true, false, false, "hidden_act", "silu", false, null, "llama");
    public static final ModelFamily MISTRAL = new ModelFamily("mistral", List.of("MistralForCausalLM"), false, false, AttentionBias.NONE,
            false, false, false, "hidden_act", "silu", false, "sliding_window", "llama");
    public static final ModelFamily QWEN2 = new ModelFamily("qwen2", List.of("Qwen2ForCausalLM"), false, false, AttentionBias.QKV,
            false, false, false, "hidden_act", "silu", false, null, null);
    public static final ModelFamily QWEN3 = new ModelFamily("qwen3", List.of("Qwen3ForCausalLM"), false, false, AttentionBias.ALL_IF_CONFIG,
            false, true, false, "hidden_act", "silu", false, null, null);
    public static final ModelFamily GEMMA = new ModelFamily("gemma", List.of("GemmaForCausalLM"), false, false, AttentionBias.ALL_IF_CONFIG,
            false, false, true, "hidden_activation", "gelu_pytorch_tanh", true, null, null);
    public static final ModelFamily PHI3 = new ModelFamily("phi3", List.of("Phi3ForCausalLM"), true, true, AttentionBias.NONE,
            false, false, false, "hidden_act", "silu", false, "sliding_window", null);

    /** Every supported family, in the order error messages list them. */
    public static final List<ModelFamily> ALL = List.of(LLAMA, MISTRAL, QWEN2, QWEN3, GEMMA, PHI3);

    /** The {@code model_type}s supported, comma-separated (for error messages). */
    public static String supported() {
        return String.join(", ", ALL.stream().map(ModelFamily::modelType).toList());
    }

    /** The family of a {@code model_type}; an unknown one is an error naming it and listing the supported ones. */
    public static ModelFamily forModelType(String modelType) {
        for (ModelFamily f : ALL) if (f.modelType.equals(modelType)) return f;
        throw new IllegalArgumentException("model_type '" + modelType + "' is not supported (supported: " + supported() + ")");
    }

    /**
     * The family config.json describes: by {@code model_type} when present, else by the first known name in
     * {@code architectures}, else Llama (a config with neither). {@code source} names the file in errors.
     */
    public static ModelFamily of(String modelType, List<String> architectures, String source) {
        if (modelType != null) {
            try {
                return forModelType(modelType);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(source + ": " + e.getMessage());
            }
        }
        if (architectures == null || architectures.isEmpty()) return LLAMA;
        for (String a : architectures) for (ModelFamily f : ALL) if (f.architectures.contains(a)) return f;
        throw new IllegalArgumentException(source + ": config.json has no model_type and architectures " + architectures
                + " names no supported family (supported model_type: " + supported() + ")");
    }

    // ---------------------------------------------------------------- names, as data

    /** The attention projections reading the layer's normalised input ({@code self_attn.q_proj, …} or {@code self_attn.qkv_proj}). */
    public List<String> attentionInputs() {
        return fusedQkv ? List.of("self_attn.qkv_proj") : List.of("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj");
    }

    /** The feed-forward projections reading the normalised input ({@code mlp.gate_proj, mlp.up_proj} or {@code mlp.gate_up_proj}). */
    public List<String> mlpInputs() {
        return fusedGateUp ? List.of("mlp.gate_up_proj") : List.of("mlp.gate_proj", "mlp.up_proj");
    }

    /** Every linear of a decoder layer, relative to {@code model.layers.N.}, in model order. */
    public List<String> linearNames() {
        List<String> out = new ArrayList<>(attentionInputs());
        out.add("self_attn.o_proj");
        out.addAll(mlpInputs());
        out.add("mlp.down_proj");
        return List.copyOf(out);
    }

    /** The linears of a decoder layer in true-sequential order (GPTQ); each inner list shares one input. */
    public List<List<String>> stages() {
        return List.of(attentionInputs(), List.of("self_attn.o_proj"), mlpInputs(), List.of("mlp.down_proj"));
    }

    /**
     * A scale-folding mapping inside a decoder layer (names relative to {@code model.layers.N.}): {@code smooth}'s
     * output channels are divided by s, the {@code balance} linears' input columns multiplied by it; {@code parent}
     * is the module whose output AWQ's search compares.
     */
    public record Mapping(String smooth, List<String> balance, String parent) {
        public Mapping {
            balance = List.copyOf(balance);
        }

        /** True when the smoothing layer is a norm (what SmoothQuant folds into); false for a preceding linear. */
        public boolean fromNorm() {
            return smooth.endsWith("layernorm");
        }
    }

    /**
     * The norm → linear and linear → linear mappings, as llm-compressor's defaults for the family. Fused
     * projections get only the norm ones (the value rows of {@code qkv_proj} and the up rows of {@code gate_up_proj}
     * are slices of a larger output, which folding does not handle).
     */
    public List<Mapping> mappings() {
        List<Mapping> out = new ArrayList<>();
        out.add(new Mapping("input_layernorm", attentionInputs(), "self_attn"));
        if (!fusedQkv) out.add(new Mapping("self_attn.v_proj", List.of("self_attn.o_proj"), "self_attn.o_proj"));
        out.add(new Mapping("post_attention_layernorm", mlpInputs(), "mlp"));
        if (!fusedGateUp) out.add(new Mapping("mlp.up_proj", List.of("mlp.down_proj"), "mlp.down_proj"));
        return List.copyOf(out);
    }

    /** The activation names {@link LlamaMlp} computes (Hugging Face's {@code ACT2FN} keys). */
    public static final List<String> ACTIVATIONS = List.of("silu", "gelu_pytorch_tanh", "gelu_new");
}
