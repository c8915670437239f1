package org.goldenstick.llm;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.goldenstick.tensor.RopeScaling;
import org.goldenstick.tensor.RopeTable;

/**
 * The hyper-parameters of a decoder model of one of the supported families (Llama, Mistral, Qwen2/2.5, Qwen3,
 * Gemma, Phi-3: {@link ModelFamily}, chosen by config.json's {@code model_type}), as Hugging Face's
 * {@code config.json} holds them. Family-specific fields ({@code attention_bias}, {@code sliding_window},
 * {@code hidden_activation}, …) stay in {@link #extra()} and are read through {@link #qkvBias()},
 * {@link #slidingWindow()}, {@link #activation()}.
 *
 * <pre>{@code
 * LlamaConfig c = LlamaConfig.load(Path.of("models/gstick-llama-demo/config.json"));
 * int kvDim = c.numKeyValueHeads() * c.headDim();
 * Files.writeString(out.resolve("config.json"), c.toJson());
 * }</pre>
 *
 * <p>Fields this record does not model (for example {@code quantization_config}) are kept verbatim in
 * {@link #extra()} and written back by {@link #toJson()}.
 *
 * @param eosTokenIds one or more end-of-sequence ids (Llama 3 configs list several); may be empty
 * @param bosTokenId  the beginning-of-sequence id, or -1 when config.json has none
 * @param ropeScaling null when the model uses plain rotary frequencies
 * @param family      the model family (what config.json's {@code model_type} names)
 */
public record LlamaConfig(
        int hiddenSize,
        int intermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int numKeyValueHeads,
        int headDim,
        double rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        int vocabSize,
        int maxPositionEmbeddings,
        boolean tieWordEmbeddings,
        int bosTokenId,
        int[] eosTokenIds,
        String torchDtype,
        List<String> architectures,
        Map<String, JsonNode> extra,
        ModelFamily family) {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** Keys this record owns; everything else in config.json goes to {@link #extra()}. */
    private static final Set<String> KNOWN = Set.of("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
            "num_key_value_heads", "head_dim", "rms_norm_eps", "rope_theta", "rope_scaling", "vocab_size", "max_position_embeddings",
            "tie_word_embeddings", "bos_token_id", "eos_token_id", "torch_dtype", "dtype", "architectures", "model_type");

    public LlamaConfig {
        if (family == null) family = ModelFamily.LLAMA;
        eosTokenIds = eosTokenIds == null ? new int[0] : eosTokenIds.clone();
        architectures = architectures == null ? List.of(family.architectures().getFirst()) : List.copyOf(architectures);
        extra = extra == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(extra));
        if (torchDtype == null) torchDtype = "float32";
        validate("config", hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads, headDim, rmsNormEps, ropeTheta,
                vocabSize, maxPositionEmbeddings, bosTokenId, eosTokenIds);
    }

    /** A Llama-family config (see the canonical constructor). */
    public LlamaConfig(int hiddenSize, int intermediateSize, int numHiddenLayers, int numAttentionHeads, int numKeyValueHeads, int headDim,
                       double rmsNormEps, double ropeTheta, RopeScaling ropeScaling, int vocabSize, int maxPositionEmbeddings,
                       boolean tieWordEmbeddings, int bosTokenId, int[] eosTokenIds, String torchDtype, List<String> architectures,
                       Map<String, JsonNode> extra) {
        this(hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads, headDim, rmsNormEps, ropeTheta, ropeScaling,
                vocabSize, maxPositionEmbeddings, tieWordEmbeddings, bosTokenId, eosTokenIds, torchDtype, architectures, extra, ModelFamily.LLAMA);
    }

    /**
     * A config with the usual defaults: no rope scaling, theta 10000, eps 1e-5, tied embeddings off,
     * head_dim = hidden/heads, float32.
     */
    public static LlamaConfig of(int hiddenSize, int intermediateSize, int numHiddenLayers, int numAttentionHeads, int numKeyValueHeads,
                                 int vocabSize, int maxPositionEmbeddings) {
        if (numAttentionHeads <= 0) throw new IllegalArgumentException("config: num_attention_heads must be > 0, got " + numAttentionHeads);
        return new LlamaConfig(hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads, hiddenSize / numAttentionHeads,
                1e-5, 10000.0, null, vocabSize, maxPositionEmbeddings, false, -1, new int[0], "float32", List.of("LlamaForCausalLM"), Map.of());
    }

    // ---------------------------------------------------------------- derived values and withers

    /** Width of the key/value projections: {@code num_key_value_heads · head_dim}. */
    public int kvDim() {
        return numKeyValueHeads * headDim;
    }

    /** Width of the query projection: {@code num_attention_heads · head_dim}. */
    public int qDim() {
        return numAttentionHeads * headDim;
    }

    /** Number of parameters of the model this config describes (tied embeddings counted once). */
    public long parameterCount() {
        long d = hiddenSize, perLayer = d * qDim() + 2 * d * kvDim() + (long) qDim() * d + 3 * d * intermediateSize + 2 * d;
        return (long) vocabSize * d * (tieWordEmbeddings ? 1 : 2) + numHiddenLayers * perLayer + d;
    }

    /**
     * Rotary cos/sin tables for positions {@code 0..positions-1} with this config's head_dim, rope_theta and
     * rope_scaling (shared by the training and inference paths, so both rotate identically).
     */
    public RopeTable ropeTable(int positions) {
        return RopeTable.create(headDim, positions, ropeTheta, ropeScaling);
    }

    /** True when the q/k/v projections have a bias (the family's rule and config.json's {@code attention_bias}). */
    public boolean qkvBias() {
        return switch (family.attentionBias()) {
            case NONE -> false;
            case QKV -> true;
            case ALL_IF_CONFIG -> extraBool("attention_bias");
        };
    }

    /** True when {@code o_proj} has a bias. */
    public boolean oBias() {
        return family.attentionBias() == ModelFamily.AttentionBias.ALL_IF_CONFIG && extraBool("attention_bias");
    }

    /** True when the feed-forward projections have a bias ({@code mlp_bias}, Llama only). */
    public boolean mlpBias() {
        return family.mlpBiasFromConfig() && extraBool("mlp_bias");
    }

    /** The feed-forward activation ({@code silu}, or {@code gelu_pytorch_tanh} for Gemma), from the family's config field. */
    public String activation() {
        JsonNode a = extra.get(family.activationKey());
        return a == null || a.isNull() ? family.defaultActivation() : a.asText();
    }

    /**
     * The attention window: a query at position i attends to keys j with {@code i - j < window} (Hugging Face's
     * sliding-window mask); 0 when attention is fully causal (no window configured, or the family has none).
     */
    public int slidingWindow() {
        if (family.slidingWindowKey() == null) return 0;
        JsonNode w = extra.get(family.slidingWindowKey());
        return w == null || w.isNull() ? 0 : w.intValue();
    }

    private boolean extraBool(String key) {
        JsonNode v = extra.get(key);
        return v != null && v.asBoolean(false);
    }

    /** A copy of this config as a member of {@code f} (architectures reset to the family's class name). */
    public LlamaConfig withFamily(ModelFamily f) {
        return new LlamaConfig(hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads, headDim, rmsNormEps, ropeTheta,
                ropeScaling, vocabSize, maxPositionEmbeddings, tieWordEmbeddings, bosTokenId, eosTokenIds, torchDtype, List.of(f.architectures().getFirst()), extra, f);
    }

    public boolean isEos(int token) {
        for (int e : eosTokenIds) if (e == token) return true;
        return false;
    }

    public LlamaConfig withRopeScaling(RopeScaling s) {
        return new LlamaConfig(hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads, headDim, rmsNormEps, ropeTheta, s,
                vocabSize, maxPositionEmbeddings, tieWordEmbeddings, bosTokenId, eosTokenIds, torchDtype, architectures, extra, family);
    }

    public LlamaConfig withTiedEmbeddings(boolean tied) {
        return new LlamaConfig(hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads, headDim, rmsNormEps, ropeTheta,
                ropeScaling, vocabSize, maxPositionEmbeddings, tied, bosTokenId, eosTokenIds, torchDtype, architectures, extra, family);
    }

    public LlamaConfig withRopeTheta(double theta) {
        return new LlamaConfig(hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads, headDim, rmsNormEps, theta,
                ropeScaling, vocabSize, maxPositionEmbeddings, tieWordEmbeddings, bosTokenId, eosTokenIds, torchDtype, architectures, extra, family);
    }

    public LlamaConfig withSpecialTokens(int bos, int... eos) {
        return new LlamaConfig(hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads, headDim, rmsNormEps, ropeTheta,
                ropeScaling, vocabSize, maxPositionEmbeddings, tieWordEmbeddings, bos, eos, torchDtype, architectures, extra, family);
    }

    public LlamaConfig withTorchDtype(String dtype) {
        return new LlamaConfig(hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads, headDim, rmsNormEps, ropeTheta,
                ropeScaling, vocabSize, maxPositionEmbeddings, tieWordEmbeddings, bosTokenId, eosTokenIds, dtype, architectures, extra, family);
    }

    /** A copy with one extra config.json entry set (e.g. {@code quantization_config}); null removes it. */
    public LlamaConfig withExtra(String key, JsonNode value) {
        if (KNOWN.contains(key)) throw new IllegalArgumentException("withExtra: '" + key + "' is a modelled field of LlamaConfig");
        Map<String, JsonNode> m = new LinkedHashMap<>(extra);
        if (value == null) m.remove(key);
        else m.put(key, value);
        return new LlamaConfig(hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads, headDim, rmsNormEps, ropeTheta,
                ropeScaling, vocabSize, maxPositionEmbeddings, tieWordEmbeddings, bosTokenId, eosTokenIds, torchDtype, architectures, m, family);
    }

    // ---------------------------------------------------------------- parsing

    /** Reads and validates a config.json file; errors name the file and the field. */
    public static LlamaConfig load(Path configJson) throws IOException {
        String text;
        try {
            text = org.goldenstick.formats.TextFiles.read(configJson);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(configJson.toString(), null, "no config.json (a Hugging Face model folder needs one)");
        }
        return parse(text, configJson.toString());
    }

    /**
     * Reads a JSON file of a model folder (config.json, an index) as a tree; a missing file, bad UTF-8 or bad JSON
     * is an error that names the file.
     */
    public static JsonNode readJson(Path file) throws IOException {
        try {
            JsonNode root = JSON.readTree(org.goldenstick.formats.TextFiles.read(file));
            if (root == null || !root.isObject()) throw new IllegalArgumentException(file + ": expected a JSON object at top level");
            return root;
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(file + ": not valid JSON: " + e.getOriginalMessage() + " (line " + e.getLocation().getLineNr() + ")");
        }
    }

    /** Parses config.json text; {@code source} names the file in error messages. */
    public static LlamaConfig parse(String json, String source) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(source + ": not valid JSON: " + e.getOriginalMessage() + " (line " + e.getLocation().getLineNr() + ")");
        }
        if (root == null || !root.isObject()) throw new IllegalArgumentException(source + ": expected a JSON object at top level");
        Reader r = new Reader(root, source);
        int hidden = r.reqInt("hidden_size");
        int heads = r.reqInt("num_attention_heads");
        if (heads <= 0) throw new IllegalArgumentException(source + ": num_attention_heads must be > 0, got " + heads);
        int kvHeads = r.optInt("num_key_value_heads", heads);
        int headDim = r.optInt("head_dim", hidden / heads);
        if (!root.has("head_dim") && hidden % heads != 0) {
            throw new IllegalArgumentException(source + ": hidden_size " + hidden + " is not divisible by num_attention_heads " + heads + " (and no head_dim is given)");
        }
        RopeScaling scaling = parseRopeScaling(root.get("rope_scaling"), source);
        int bos = r.optInt("bos_token_id", -1);
        int[] eos = r.intOrList("eos_token_id");
        List<String> arch = new ArrayList<>();
        JsonNode a = root.get("architectures");
        if (a != null && !a.isNull()) {
            if (!a.isArray()) throw new IllegalArgumentException(source + ": architectures must be a list of strings, got " + a);
            for (JsonNode s : a) arch.add(s.asText());
        }
        ModelFamily family = ModelFamily.of(r.optString("model_type", null), arch, source);
        if (arch.isEmpty()) arch.add(family.architectures().getFirst());
        checkFamilyFields(r, family, source);
        Map<String, JsonNode> extra = new LinkedHashMap<>();
        root.fields().forEachRemaining(e -> {
            if (!KNOWN.contains(e.getKey())) extra.put(e.getKey(), e.getValue());
        });
        int inter = r.reqInt("intermediate_size"), layers = r.reqInt("num_hidden_layers"), vocab = r.reqInt("vocab_size");
        int maxPos = r.optInt("max_position_embeddings", 2048);
        double eps = r.optDouble("rms_norm_eps", 1e-6), theta = r.optDouble("rope_theta", 10000.0);
        validate(source, hidden, inter, layers, heads, kvHeads, headDim, eps, theta, vocab, maxPos, bos, eos);
        return new LlamaConfig(hidden, inter, layers, heads, kvHeads, headDim, eps, theta, scaling, vocab, maxPos,
                r.optBool("tie_word_embeddings", family.tiedByDefault()), bos, eos, r.optString("torch_dtype", r.optString("dtype", "float32")), arch, extra, family);
    }

    /** The family-specific fields the engine would otherwise silently ignore; errors name the file and field. */
    private static void checkFamilyFields(Reader r, ModelFamily family, String source) {
        String act = r.optString(family.activationKey(), family.defaultActivation());
        if (!ModelFamily.ACTIVATIONS.contains(act)) {
            throw new IllegalArgumentException(source + ": " + family.activationKey() + " '" + act + "' is not supported for model_type '" + family.modelType()
                    + "' (supported: " + String.join(", ", ModelFamily.ACTIVATIONS) + ")");
        }
        if (family.slidingWindowKey() != null && r.field(family.slidingWindowKey()) != null && r.optInt(family.slidingWindowKey(), 0) <= 0) {
            throw new IllegalArgumentException(source + ": " + family.slidingWindowKey() + " must be a positive integer or null, got " + r.field(family.slidingWindowKey()));
        }
        if (family.slidingWindowKey() == null && r.optBool("use_sliding_window", false)) {
            throw new IllegalArgumentException(source + ": use_sliding_window is true, which is not supported for model_type '" + family.modelType() + "'");
        }
        double partial = r.optDouble("partial_rotary_factor", 1.0);
        if (partial != 1.0) throw new IllegalArgumentException(source + ": partial_rotary_factor " + partial + " is not supported (rotary embeddings over the whole head only)");
        if (r.field("attn_logit_softcapping") != null || r.field("final_logit_softcapping") != null) {
            throw new IllegalArgumentException(source + ": logit soft-capping (Gemma 2) is not supported for model_type '" + family.modelType() + "'");
        }
    }

    private static RopeScaling parseRopeScaling(JsonNode n, String source) {
        if (n == null || n.isNull()) return null;
        if (!n.isObject()) throw new IllegalArgumentException(source + ": rope_scaling must be an object or null, got " + n);
        Reader r = new Reader(n, source + ": rope_scaling");
        String type = r.optString("rope_type", r.optString("type", null));
        if (type == null) throw new IllegalArgumentException(source + ": rope_scaling has neither 'rope_type' nor 'type'");
        try {
            return switch (type) {
                case "default" -> null;
                case "linear" -> new RopeScaling.Linear(r.reqDouble("factor"));
                case "llama3" -> new RopeScaling.Llama3(r.reqDouble("factor"), r.reqDouble("low_freq_factor"), r.reqDouble("high_freq_factor"),
                        r.reqInt("original_max_position_embeddings"));
                default -> throw new IllegalArgumentException(source + ": rope_scaling type '" + type + "' is not supported (supported: linear, llama3)");
            };
        } catch (IllegalArgumentException e) {
            if (e.getMessage().startsWith(source)) throw e;
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }

    private static void validate(String source, int hidden, int inter, int layers, int heads, int kvHeads, int headDim, double eps, double theta,
                                 int vocab, int maxPos, int bos, int[] eos) {
        positive(source, "hidden_size", hidden);
        positive(source, "intermediate_size", inter);
        positive(source, "num_hidden_layers", layers);
        positive(source, "num_attention_heads", heads);
        positive(source, "num_key_value_heads", kvHeads);
        positive(source, "head_dim", headDim);
        positive(source, "vocab_size", vocab);
        positive(source, "max_position_embeddings", maxPos);
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException(source + ": num_attention_heads (" + heads + ") must be a multiple of num_key_value_heads (" + kvHeads + ")");
        }
        if (headDim % 2 != 0) throw new IllegalArgumentException(source + ": head_dim must be even for rotary embeddings, got " + headDim);
        if (!(eps > 0) || Double.isInfinite(eps)) throw new IllegalArgumentException(source + ": rms_norm_eps must be > 0, got " + eps);
        if (!(theta > 1) || Double.isInfinite(theta)) throw new IllegalArgumentException(source + ": rope_theta must be > 1, got " + theta);
        if (bos >= vocab) throw new IllegalArgumentException(source + ": bos_token_id " + bos + " is outside the vocabulary (vocab_size " + vocab + ")");
        for (int e : eos) {
            if (e < 0 || e >= vocab) throw new IllegalArgumentException(source + ": eos_token_id " + e + " is outside the vocabulary (vocab_size " + vocab + ")");
        }
        long params = (long) vocab * hidden + (long) layers * ((long) hidden * heads * headDim * 2 + 3L * hidden * inter);
        if (params > 200_000_000_000L) throw new IllegalArgumentException(source + ": sizes describe an absurd model (" + params + " parameters)");
    }

    private static void positive(String source, String field, int v) {
        if (v <= 0) throw new IllegalArgumentException(source + ": " + field + " must be a positive integer, got " + v);
    }

    /** Typed access to a JSON object with errors naming the file and field. */
    private record Reader(JsonNode node, String source) {
        JsonNode field(String name) {
            JsonNode v = node.get(name);
            return v == null || v.isNull() ? null : v;
        }

        int reqInt(String name) {
            JsonNode v = field(name);
            if (v == null) throw new IllegalArgumentException(source + ": missing required field '" + name + "'");
            return asInt(name, v);
        }

        int optInt(String name, int def) {
            JsonNode v = field(name);
            return v == null ? def : asInt(name, v);
        }

        int asInt(String name, JsonNode v) {
            if (!v.isIntegralNumber() || !v.canConvertToInt()) throw new IllegalArgumentException(source + ": field '" + name + "' must be an integer, got " + v);
            return v.intValue();
        }

        double reqDouble(String name) {
            JsonNode v = field(name);
            if (v == null) throw new IllegalArgumentException(source + ": missing required field '" + name + "'");
            if (!v.isNumber()) throw new IllegalArgumentException(source + ": field '" + name + "' must be a number, got " + v);
            return v.doubleValue();
        }

        double optDouble(String name, double def) {
            return field(name) == null ? def : reqDouble(name);
        }

        boolean optBool(String name, boolean def) {
            JsonNode v = field(name);
            if (v == null) return def;
            if (!v.isBoolean()) throw new IllegalArgumentException(source + ": field '" + name + "' must be true or false, got " + v);
            return v.booleanValue();
        }

        String optString(String name, String def) {
            JsonNode v = field(name);
            if (v == null) return def;
            if (!v.isTextual()) throw new IllegalArgumentException(source + ": field '" + name + "' must be a string, got " + v);
            return v.textValue();
        }

        int[] intOrList(String name) {
            JsonNode v = field(name);
            if (v == null) return new int[0];
            if (v.isArray()) {
                int[] out = new int[v.size()];
                for (int i = 0; i < out.length; i++) out[i] = asInt(name, v.get(i));
                return out;
            }
            return new int[] {asInt(name, v)};
        }
    }

    // ---------------------------------------------------------------- writing

    /** This config as Hugging Face config.json text (pretty-printed), extra fields included. */
    public String toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        ArrayNode arch = o.putArray("architectures");
        architectures.forEach(arch::add);
        o.put("model_type", family.modelType());
        o.put("hidden_size", hiddenSize);
        o.put("intermediate_size", intermediateSize);
        o.put("num_hidden_layers", numHiddenLayers);
        o.put("num_attention_heads", numAttentionHeads);
        o.put("num_key_value_heads", numKeyValueHeads);
        o.put("head_dim", headDim);
        o.put("rms_norm_eps", rmsNormEps);
        o.put("rope_theta", ropeTheta);
        switch (ropeScaling) {
            case null -> o.putNull("rope_scaling");
            case RopeScaling.Linear l -> o.putObject("rope_scaling").put("rope_type", "linear").put("factor", l.factor());
            case RopeScaling.Llama3 s -> o.putObject("rope_scaling").put("rope_type", "llama3").put("factor", s.factor())
                    .put("low_freq_factor", s.lowFreqFactor()).put("high_freq_factor", s.highFreqFactor())
                    .put("original_max_position_embeddings", s.originalMaxPositionEmbeddings());
        }
        o.put("vocab_size", vocabSize);
        o.put("max_position_embeddings", maxPositionEmbeddings);
        o.put("tie_word_embeddings", tieWordEmbeddings);
        if (bosTokenId >= 0) o.put("bos_token_id", bosTokenId);
        if (eosTokenIds.length == 1) o.put("eos_token_id", eosTokenIds[0]);
        else if (eosTokenIds.length > 1) {
            ArrayNode e = o.putArray("eos_token_id");
            for (int id : eosTokenIds) e.add(id);
        }
        o.put("torch_dtype", torchDtype);
        extra.forEach(o::set);
        try {
            return JSON.writeValueAsString(o) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    // Records compare arrays by identity; configs are values, so compare contents.
    @Override
    public boolean equals(Object o) {
        return o instanceof LlamaConfig c && toJson().equals(c.toJson());
    }

    @Override
    public int hashCode() {
        return toJson().hashCode();
    }

    @Override
    public int[] eosTokenIds() {
        return eosTokenIds.clone();
    }
}
