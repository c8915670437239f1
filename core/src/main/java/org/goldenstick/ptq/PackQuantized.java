package org.goldenstick.ptq;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.formats.safetensors.SafetensorsEntry;
import org.goldenstick.formats.safetensors.SafetensorsWriter;
import org.goldenstick.tensor.kernel.PackedIntWeights;

/**
 * compressed-tensors' {@code pack-quantized} format, as llm-compressor writes weight-only int4/int8 models and vLLM
 * loads them ({@code CompressedTensorsWNA16}; docs/llm-4bit.md names the code paths). Per quantized linear {@code L}:
 * {@code L.weight_packed} I32 {@code [out, ceil(in·b/32)]} ({@link PackedIntWeights#packRows}), {@code L.weight_scale}
 * {@code [out, groups]} in the model's weight dtype, {@code L.weight_shape} I64 {@code [2] = {out, in}} and, when
 * asymmetric, {@code L.weight_zero_point} I32 {@code [ceil(out·b/32), groups]} packed along the output dimension
 * ({@link PackedIntWeights#packColumns}).
 *
 * <pre>{@code
 * ObjectNode qc = PackQuantized.config(Map.of("Linear", WeightScheme.of(4, 128, true)), List.of("lm_head"), gstick);
 * PackQuantized.add(writer, "model.layers.0.mlp.up_proj", layer.weights(), DType.BF16);
 * }</pre>
 */
public final class PackQuantized {
    /** The compressed-tensors release whose layout and config schema we follow (written as {@code version}). */
    public static final String COMPRESSED_TENSORS_VERSION = "0.20.0";
    public static final String FORMAT = "pack-quantized";
    private static final ObjectMapper JSON = new ObjectMapper();

    private PackQuantized() {}

    /**
     * A {@code quantization_config} for weight-only layers. {@code targets} maps a compressed-tensors target (the
     * class name {@code Linear}, an exact layer name, or {@code re:REGEX}) to its scheme; targets with the same scheme
     * share one config group. {@code ignore} lists every linear left in floating point.
     */
    public static ObjectNode config(Map<String, WeightScheme> targets, List<String> ignore, ObjectNode gstick) {
        Map<WeightScheme, List<String>> byScheme = new LinkedHashMap<>();
        targets.forEach((t, s) -> byScheme.computeIfAbsent(s, k -> new ArrayList<>()).add(t));
        ObjectNode q = JSON.createObjectNode();
        q.put("quant_method", "compressed-tensors");
        q.put("format", FORMAT);
        q.put("quantization_status", "compressed");
        q.put("version", COMPRESSED_TENSORS_VERSION);
        ObjectNode groups = q.putObject("config_groups");
        int i = 0;
        for (var e : byScheme.entrySet()) {
            WeightScheme s = e.getKey();
            ObjectNode g = groups.putObject("group_" + i++);
            ArrayNode t = g.putArray("targets");
            e.getValue().forEach(t::add);
            ObjectNode w = g.putObject("weights");
            w.put("num_bits", s.bits()).put("type", "int").put("symmetric", s.symmetric()).put("strategy", s.strategy());
            if (s.groupSize() == 0) w.putNull("group_size");
            else w.put("group_size", s.groupSize());
            w.putNull("block_structure");
            w.put("dynamic", false);
            w.putNull("actorder");
            w.put("observer", "minmax");
            w.putNull("observer_kwargs");
            g.putNull("input_activations");
            g.putNull("output_activations");
            g.put("format", FORMAT);
        }
        ArrayNode ig = q.putArray("ignore");
        ignore.forEach(ig::add);
        q.putNull("kv_cache_scheme");
        q.putNull("sparsity_config");
        q.putNull("transform_config");
        q.put("global_compression_ratio", (Double) null);
        if (gstick != null) {
            if (targets.values().stream().anyMatch(s -> s.rule() == WeightScheme.ScaleRule.GGML)) {
                // compressed-tensors has no field for it; readers need none (the file holds the scales)
                gstick.put("scale_rule", "ggml: each group of 32 is a Q4_0/Q8_0 block (scale = the value of largest |w| / -8, or max|w| / 127, in fp16)");
            }
            q.set("gstick", gstick);
        }
        return q;
    }

    /**
     * The config targets of a per-layer plan: {@code {"Linear": s}} when every linear in {@code allTargets} has the
     * same scheme {@code s}, else one exact layer name per entry (grouped by scheme in {@link #config}).
     */
    public static Map<String, WeightScheme> targetsOf(Map<String, WeightScheme> plan, List<String> allTargets) {
        java.util.Set<WeightScheme> distinct = new java.util.HashSet<>(plan.values());
        if (distinct.size() == 1 && plan.keySet().containsAll(allTargets)) return Map.of("Linear", distinct.iterator().next());
        return plan;
    }

    /**
     * Adds the four (or three) tensors of one quantized layer. Scales are written in {@code scaleDtype} (the model's
     * weight dtype, as llm-compressor writes them) unless that would change one of them — fp16 scales of the ggml
     * rule in a bf16 model — then in F32, so the file holds exactly the scales the codes were chosen for.
     */
    public static void add(SafetensorsWriter w, String layer, PackedIntWeights pw, DType scaleDtype) {
        int out = pw.rows(), in = pw.cols(), groups = pw.groups();
        w.addInt32(layer + ".weight_packed", pw.packed(), out, pw.wordsPerRow());
        DType sd = scaleDtype;
        for (float s : pw.scales()) {
            if (WeightScheme.roundTo(s, sd) != s) {
                sd = DType.F32;
                break;
            }
        }
        w.addFloats(layer + ".weight_scale", pw.scales(), sd, out, groups);
        w.addInt64(layer + ".weight_shape", new long[] {out, in}, 2);
        if (!pw.symmetric()) {
            w.addInt32(layer + ".weight_zero_point", PackedIntWeights.packColumns(pw.zeroPoints(), out, groups, pw.bits()), PackedIntWeights.wordsPerRow(out, pw.bits()), groups);
        }
    }

    /**
     * The dtype scales of {@code scheme} are stored in, known before any is computed (a streamed write declares it in
     * the header first): the model's weight dtype, in which they were rounded; the {@link WeightScheme.ScaleRule#GGML}
     * rule's fp16 scales in F16 for an F16 model and in F32 otherwise (bf16 cannot hold every fp16 value).
     */
    static DType storedScaleDtype(WeightScheme scheme, DType modelDtype) {
        if (scheme.rule() == WeightScheme.ScaleRule.GGML) return modelDtype == DType.F16 ? DType.F16 : DType.F32;
        return modelDtype;
    }

    /** Names of the tensors {@link #add} writes for a layer with this symmetry. */
    static List<String> tensorNames(String layer, boolean symmetric) {
        List<String> n = new ArrayList<>(List.of(layer + ".weight_packed", layer + ".weight_scale", layer + ".weight_shape"));
        if (!symmetric) n.add(layer + ".weight_zero_point");
        return n;
    }

    /**
     * Reads one layer back, checking every shape and dtype against {@code [out, in]} and {@code scheme}; errors name
     * the folder and tensor. With {@code inPlace} the packed words are a view of the mapping (valid while it is), else
     * a copy in native memory (the weights' one segment kind, {@code WeightMemory}).
     */
    static PackedIntWeights read(CheckpointFolder ck, String layer, int out, int in, WeightScheme scheme, boolean inPlace) {
        String where = ck.dir() + ": tensor '" + layer;
        long[] shape = int64(ck, layer + ".weight_shape", 2);
        if (shape[0] != out || shape[1] != in) throw new IllegalArgumentException(where + ".weight_shape' says " + Arrays.toString(shape) + " but the model expects [" + out + ", " + in + "]");
        int gs = scheme.groupFor(in, ck.dir() + ": layer '" + layer + "'"), groups = in / gs;
        SafetensorsEntry pe = int32Entry(ck, layer + ".weight_packed", out, PackedIntWeights.wordsPerRow(in, scheme.bits()));
        java.lang.foreign.MemorySegment words = inPlace ? pe.segment() : org.goldenstick.tensor.kernel.WeightMemory.copy(pe.segment());
        SafetensorsEntry se = ck.entry(layer + ".weight_scale");
        if (!se.dtype().isFloatingPoint()) throw new IllegalArgumentException(where + ".weight_scale' is " + se.dtype() + ", expected floating point");
        requireShape(ck, se, out, groups);
        float[] scales = ck.floats(layer + ".weight_scale");
        for (int i = 0; i < scales.length; i++) if (!Float.isFinite(scales[i])) throw new IllegalArgumentException(where + ".weight_scale' holds a non-finite value " + scales[i] + " at index " + i);
        byte[] zp = null;
        if (!scheme.symmetric()) {
            int[] z = int32(ck, layer + ".weight_zero_point", PackedIntWeights.wordsPerRow(out, scheme.bits()), groups);
            zp = PackedIntWeights.unpackColumns(z, out, groups, scheme.bits());
        } else if (ck.entries().containsKey(layer + ".weight_zero_point")) {
            throw new IllegalArgumentException(where + ".weight_zero_point' is present but the config says the weights are symmetric");
        }
        if (ck.entries().containsKey(layer + ".weight_g_idx")) throw new IllegalArgumentException(where + ".weight_g_idx': activation-ordered groups (actorder=group) are not supported; quantize with actorder=weight (static groups)");
        return new PackedIntWeights(words, out, in, scheme.bits(), gs, scales, zp);
    }

    private static void requireShape(CheckpointFolder ck, SafetensorsEntry e, int... shape) {
        if (!Arrays.equals(e.shape(), shape)) throw new IllegalArgumentException(ck.dir() + ": tensor '" + e.name() + "' has shape " + Arrays.toString(e.shape()) + ", expected " + Arrays.toString(shape));
    }

    private static SafetensorsEntry int32Entry(CheckpointFolder ck, String name, int... shape) {
        SafetensorsEntry e = ck.entry(name);
        if (e.dtype() != DType.I32) throw new IllegalArgumentException(ck.dir() + ": tensor '" + name + "' is " + e.dtype() + ", expected I32");
        requireShape(ck, e, shape);
        return e;
    }

    private static int[] int32(CheckpointFolder ck, String name, int... shape) {
        SafetensorsEntry e = int32Entry(ck, name, shape);
        int[] v = new int[(int) e.numel()];
        java.lang.foreign.MemorySegment.copy(e.segment(), java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), 0, v, 0, v.length);
        return v;
    }

    private static long[] int64(CheckpointFolder ck, String name, int... shape) {
        SafetensorsEntry e = ck.entry(name);
        if (e.dtype() != DType.I64 && e.dtype() != DType.I32) throw new IllegalArgumentException(ck.dir() + ": tensor '" + name + "' is " + e.dtype() + ", expected I64");
        requireShape(ck, e, shape);
        long[] v = new long[(int) e.numel()];
        for (int i = 0; i < v.length; i++) {
            v[i] = e.dtype() == DType.I64
                    ? e.segment().get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), 8L * i)
                    : e.segment().get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), 4L * i);
        }
        return v;
    }

    /** The config groups of a {@code pack-quantized} quantization_config, validated; errors name the field. */
    static List<Target> parseGroups(JsonNode q, String where) {
        List<Target> out = new ArrayList<>();
        JsonNode groups = q.path("config_groups");
        if (!groups.isObject() || groups.isEmpty()) throw new IllegalArgumentException(where + ".config_groups is missing or empty");
        for (var it = groups.fields(); it.hasNext(); ) {
            var e = it.next();
            String gw = where + ".config_groups." + e.getKey();
            JsonNode w = e.getValue().path("weights");
            if (!"int".equals(w.path("type").asText())) throw new IllegalArgumentException(gw + ".weights.type must be \"int\", got " + w.get("type"));
            int bits = w.path("num_bits").asInt();
            if (bits != 4 && bits != 8) throw new IllegalArgumentException(gw + ".weights.num_bits must be 4 or 8, got " + w.get("num_bits"));
            if (w.path("dynamic").asBoolean(false)) throw new IllegalArgumentException(gw + ".weights.dynamic must be false");
            String strategy = w.path("strategy").asText();
            int gs = switch (strategy) {
                case "channel" -> 0;
                case "group" -> w.path("group_size").asInt(-1);
                default -> throw new IllegalArgumentException(gw + ".weights.strategy must be channel or group, got " + w.get("strategy"));
            };
            if (gs < 0) throw new IllegalArgumentException(gw + ".weights.group_size is missing for strategy group");
            String actorder = w.path("actorder").isNull() || w.path("actorder").isMissingNode() ? null : w.path("actorder").asText();
            if ("group".equals(actorder)) throw new IllegalArgumentException(gw + ".weights.actorder \"group\" (weight_g_idx) is not supported; \"weight\" (static groups) is");
            JsonNode a = e.getValue().get("input_activations");
            if (a != null && !a.isNull()) throw new IllegalArgumentException(gw + ".input_activations must be null for " + FORMAT + " (weight-only)");
            WeightScheme s;
            try {
                s = WeightScheme.of(bits, gs, w.path("symmetric").asBoolean(true));
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException(gw + ".weights: " + ex.getMessage());
            }
            JsonNode targets = e.getValue().path("targets");
            if (!targets.isArray() || targets.isEmpty()) throw new IllegalArgumentException(gw + ".targets is missing or empty");
            for (JsonNode t : targets) out.add(new Target(t.asText(), s));
        }
        return out;
    }

    /** One compressed-tensors target (class name {@code Linear}, exact layer name, or {@code re:REGEX}) and its scheme. */
    public record Target(String target, WeightScheme weights) {
        /** Whether this target selects the linear layer {@code name}, the way compressed-tensors matches targets. */
        public boolean matches(String name) {
            if (target.equals("Linear") || target.equals(name)) return true;
            return target.startsWith("re:") && Pattern.compile(target.substring(3)).matcher(name).matches();
        }
    }

    /** The scheme of the first target matching {@code layer} (exact names before regexes before the class), or null. */
    static WeightScheme schemeFor(List<Target> targets, String layer) {
        for (Target t : targets) if (t.target().equals(layer)) return t.weights();
        for (Target t : targets) if (t.target().startsWith("re:") && t.matches(layer)) return t.weights();
        for (Target t : targets) if (t.target().equals("Linear")) return t.weights();
        return null;
    }
}
