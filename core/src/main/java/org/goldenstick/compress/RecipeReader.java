package org.goldenstick.compress;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.goldenstick.ptq.ActGranularity;
import org.goldenstick.ptq.PTQConfig;
import org.goldenstick.ptq.SmoothingMapping;
import org.goldenstick.ptq.WeightMethod;
import org.goldenstick.ptq.WeightScheme;
import org.goldenstick.qat.SimQATConfig;
import org.goldenstick.qat.slb.SlbConfig;

/**
 * Reads recipe files in llm-compressor's shape. The document is a map of <b>stages</b> (any name, e.g.
 * {@code quant_stage}), each a map of <b>modifier groups</b> whose names end in {@code _modifiers}, each a map from a
 * modifier name to its arguments; a top-level {@code modifiers} map (or list of one-key maps) is accepted as a single
 * stage. Modifiers run in file order.
 *
 * <pre>{@code
 * quant_stage:
 *   quant_modifiers:
 *     SmoothQuantModifier:
 *       smoothing_strength: 0.5
 *       mappings:
 *         - [["re:.*q_proj", "re:.*k_proj", "re:.*v_proj"], "re:.*input_layernorm"]
 *       ignore: ["lm_head", "re:.*down_proj"]
 * }</pre>
 *
 * <table>
 *   <caption>modifiers and their arguments</caption>
 *   <tr><td>{@code SimQATModifier}</td><td>the keys of {@link SimQATConfig#fromMap}, with {@code ignore} for {@code skip_layers}</td></tr>
 *   <tr><td>{@code SLBModifier}</td><td>the keys of {@link SlbConfig#fromMap}, and {@code ignore}</td></tr>
 *   <tr><td>{@code SCOPModifier}</td><td>{@code prune_rate} (default 0.45), {@code knockoff_epochs} (1), {@code knockoff_lr} (0.01), {@code seed} (0),
 *       {@code ignore}</td></tr>
 *   <tr><td>{@code SmoothQuantModifier}</td><td>{@code smoothing_strength} (α, default 0.5), {@code mappings} (default: the model family's, e.g. Phi-3's fused qkv_proj), {@code ignore}
 *       (default {@code [lm_head, down_proj]}), {@code activations} ({@code token} | {@code tensor})</td></tr>
 *   <tr><td>{@code QuantizationModifier}</td><td>round-to-nearest weight-only: {@code scheme} ({@code W8A16} | {@code W4A16}),
 *       {@code group_size} (0 = per channel), {@code symmetric} (true), {@code targets} ({@code [Linear]}), {@code ignore} (default {@code [lm_head]})</td></tr>
 *   <tr><td>{@code GPTQModifier}</td><td>the same five, and {@code dampening_frac} (0.01), {@code block_size} (128), {@code actorder}
 *       ({@code static} | {@code weight} | true | false)</td></tr>
 *   <tr><td>{@code AWQModifier}</td><td>the same five, and {@code n_grid} (20), {@code apply_clip} (true), {@code max_shrink} (0.5), {@code clip_qk} (true: q/k are clipped
 *       too; false: AutoAWQ's choice), {@code duo_scaling} (true | false | "both", the default); a
 *       {@code GPTQModifier} right after it rounds with GPTQ instead of RTN</td></tr>
 * </table>
 * Unknown stages, groups, modifiers or arguments, and values of the wrong type, are errors naming the file and field.
 */
public final class RecipeReader {
    private RecipeReader() {}

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    static Recipe read(Path file) throws IOException {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new RecipeException(file.toString(), "", "no such recipe file");
        }
        return parse(text, !file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".json"), file.toString());
    }

    static Recipe parse(String text, boolean yaml, String source) {
        Object root;
        try {
            root = (yaml ? YAML : JSON).readValue(text, Object.class);
        } catch (JsonProcessingException e) {
            throw new RecipeException(source, "", "not valid " + (yaml ? "YAML" : "JSON") + ": " + e.getOriginalMessage()
                    + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")"));
        }
        if (!(root instanceof Map<?, ?> top) || top.isEmpty()) throw new RecipeException(source, "", "a recipe is a map of stages (e.g. quant_stage: {quant_modifiers: {...}})");
        List<Modifier> out = new ArrayList<>();
        for (var stage : top.entrySet()) {
            String name = String.valueOf(stage.getKey());
            if (name.equals("modifiers")) {
                group(source, name, stage.getValue(), out);
                continue;
            }
            if (name.endsWith("_modifiers")) {
                group(source, name, stage.getValue(), out);
                continue;
            }
            if (!(stage.getValue() instanceof Map<?, ?> groups)) throw new RecipeException(source, name, "a stage must be a map of *_modifiers groups");
            for (var g : groups.entrySet()) {
                String gname = name + "." + g.getKey();
                if (!String.valueOf(g.getKey()).endsWith("_modifiers")) {
                    throw new RecipeException(source, gname, "unknown key; a stage holds modifier groups whose names end in _modifiers (e.g. quant_modifiers)");
                }
                group(source, gname, g.getValue(), out);
            }
        }
        if (out.isEmpty()) throw new RecipeException(source, "", "no modifier found");
        return new Recipe(out);
    }

    private static void group(String source, String path, Object value, List<Modifier> out) {
        if (value instanceof Map<?, ?> m) {
            for (var e : m.entrySet()) out.add(modifier(source, path + "." + e.getKey(), String.valueOf(e.getKey()), e.getValue()));
        } else if (value instanceof List<?> list) {
            for (int i = 0; i < list.size(); i++) {
                if (!(list.get(i) instanceof Map<?, ?> one) || one.size() != 1) throw new RecipeException(source, path + "[" + i + "]", "each list entry is a one-key map {ModifierName: {arguments}}");
                var e = one.entrySet().iterator().next();
                out.add(modifier(source, path + "[" + i + "]." + e.getKey(), String.valueOf(e.getKey()), e.getValue()));
            }
        } else {
            throw new RecipeException(source, path, "must map modifier names to their arguments");
        }
    }

    private static Modifier modifier(String source, String path, String name, Object args) {
        Map<String, Object> a = new LinkedHashMap<>();
        if (args != null) {
            if (!(args instanceof Map<?, ?> m)) throw new RecipeException(source, path, "the arguments must be a map, got " + args);
            m.forEach((k, v) -> a.put(String.valueOf(k), v));
        }
        try {
            return switch (name) {
                case "SimQATModifier" -> {
                    if (a.containsKey("skip_layers")) throw new RecipeException(source, path + ".skip_layers", "write 'ignore' in recipes (the same regexes)");
                    Object ignore = a.remove("ignore");
                    if (ignore != null) a.put("skip_layers", ignore);
                    for (String k : List.of("save_mindir", "save_mindir_path", "save_deploy_model", "save_deploy_model_path")) {
                        if (a.containsKey(k)) throw new RecipeException(source, path + "." + k, "not a recipe argument (gstick compress --out writes the result)");
                    }
                    yield new SimQatModifier(SimQATConfig.fromMap(a));
                }
                case "SLBModifier" -> {
                    List<String> ignore = strings(source, path, a, "ignore", List.of());
                    a.remove("ignore");
                    yield new SlbModifier(SlbConfig.fromMap(a), ignore);
                }
                case "SCOPModifier" -> {
                    known(source, path, a, Set.of("prune_rate", "knockoff_epochs", "knockoff_lr", "seed", "ignore"));
                    yield new ScopModifier(number(source, path, a, "prune_rate", 0.45), integer(source, path, a, "knockoff_epochs", 1),
                            number(source, path, a, "knockoff_lr", 0.01), integer(source, path, a, "seed", 0), strings(source, path, a, "ignore", List.of()));
                }
                case "SmoothQuantModifier" -> {
                    known(source, path, a, Set.of("smoothing_strength", "mappings", "ignore", "activations"));
                    String gran = string(source, path, a, "activations", "token");
                    ActGranularity g = switch (gran) {
                        case "token" -> ActGranularity.PER_TOKEN;
                        case "tensor" -> ActGranularity.PER_TENSOR;
                        default -> throw new RecipeException(source, path + ".activations", "must be token or tensor, got '" + gran + "'");
                    };
                    yield new SmoothQuantModifier(number(source, path, a, "smoothing_strength", PTQConfig.DEFAULT_ALPHA), mappings(source, path, a.get("mappings")),
                            strings(source, path, a, "ignore", PTQConfig.DEFAULT_SKIP_W8A8), g);
                }
                case "QuantizationModifier" -> {
                    known(source, path, a, WEIGHT_ONLY_KEYS);
                    yield new RtnModifier(weightScheme(source, path, a), strings(source, path, a, "ignore", PTQConfig.DEFAULT_SKIP_W8A16));
                }
                case "GPTQModifier" -> {
                    known(source, path, a, union(WEIGHT_ONLY_KEYS, "dampening_frac", "block_size", "actorder"));
                    WeightMethod.Gptq d = WeightMethod.Gptq.defaults();
                    Object order = a.get("actorder");
                    boolean actOrder = switch (order) {
                        case null -> false;
                        case Boolean b -> b;
                        case String s when s.equals("static") || s.equals("weight") -> true;
                        default -> throw new RecipeException(source, path + ".actorder", "must be static (columns by decreasing Hessian diagonal, static groups), weight (the same), true or false; got " + order);
                    };
                    yield new GptqModifier(weightScheme(source, path, a), new WeightMethod.Gptq(number(source, path, a, "dampening_frac", d.dampening()),
                            integer(source, path, a, "block_size", d.blockSize()), actOrder), strings(source, path, a, "ignore", PTQConfig.DEFAULT_SKIP_W8A16));
                }
                case "AWQModifier" -> {
                    known(source, path, a, union(WEIGHT_ONLY_KEYS, "n_grid", "apply_clip", "max_shrink", "duo_scaling", "clip_qk"));
                    WeightMethod.Awq d = WeightMethod.Awq.defaults();
                    Object clip = a.getOrDefault("apply_clip", d.clip());
                    if (!(clip instanceof Boolean c)) throw new RecipeException(source, path + ".apply_clip", "must be true or false, got " + clip);
                    Object clipQk = a.getOrDefault("clip_qk", d.clipQk());
                    if (!(clipQk instanceof Boolean cqk)) throw new RecipeException(source, path + ".clip_qk", "must be true or false, got " + clipQk);
                    // llm-compressor's duo_scaling: true, false or "both"
                    org.goldenstick.ptq.Awq.DuoScaling duo = switch (a.get("duo_scaling")) {
                        case null -> d.duo();
                        case Boolean b -> b ? org.goldenstick.ptq.Awq.DuoScaling.ON : org.goldenstick.ptq.Awq.DuoScaling.OFF;
                        case String s when s.equals("both") -> org.goldenstick.ptq.Awq.DuoScaling.BOTH;
                        case Object o -> throw new RecipeException(source, path + ".duo_scaling", "must be true, false or \"both\", got " + o);
                    };
                    yield new AwqModifier(weightScheme(source, path, a), new WeightMethod.Awq(integer(source, path, a, "n_grid", d.grid()), c,
                            number(source, path, a, "max_shrink", d.maxShrink()), duo, cqk, new WeightMethod.Rtn()), strings(source, path, a, "ignore", PTQConfig.DEFAULT_SKIP_W8A16));
                }
                default -> throw new RecipeException(source, path, "unknown modifier '" + name
                        + "'; known: SimQATModifier, SLBModifier, SCOPModifier, SmoothQuantModifier, QuantizationModifier, GPTQModifier, AWQModifier");
            };
        } catch (RecipeException e) {
            throw e;
        } catch (org.goldenstick.rewrite.ConfigException e) {
            throw new RecipeException(source, path + "." + e.field(), e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new RecipeException(source, path, e.getMessage());
        }
    }

    private static final Set<String> WEIGHT_ONLY_KEYS = Set.of("scheme", "group_size", "symmetric", "targets", "ignore");

    private static Set<String> union(Set<String> keys, String... more) {
        Set<String> out = new java.util.HashSet<>(keys);
        out.addAll(List.of(more));
        return out;
    }

    /** {@code scheme} (W8A16 | W4A16), {@code group_size} (0 = per channel), {@code symmetric}, {@code targets} ([Linear] only). */
    private static WeightScheme weightScheme(String source, String path, Map<String, Object> a) {
        String scheme = string(source, path, a, "scheme", "W8A16").toUpperCase(Locale.ROOT);
        int bits = switch (scheme) {
            case "W8A16" -> 8;
            case "W4A16" -> 4;
            default -> throw new RecipeException(source, path + ".scheme", "must be W8A16 or W4A16 (weight-only; W8A8 is SmoothQuantModifier), got '" + scheme + "'");
        };
        List<String> targets = strings(source, path, a, "targets", List.of("Linear"));
        if (!targets.equals(List.of("Linear"))) throw new RecipeException(source, path + ".targets", "only [Linear] is supported (every nn.Linear; use 'ignore' to leave layers out), got " + targets);
        Object sym = a.getOrDefault("symmetric", true);
        if (!(sym instanceof Boolean b)) throw new RecipeException(source, path + ".symmetric", "must be true or false, got " + sym);
        return WeightScheme.of(bits, integer(source, path, a, "group_size", 0), b);
    }

    private static void known(String source, String path, Map<String, Object> a, Set<String> keys) {
        for (String k : a.keySet()) if (!keys.contains(k)) throw new RecipeException(source, path + "." + k, "unknown argument; allowed: " + new java.util.TreeSet<>(keys));
    }

    private static double number(String source, String path, Map<String, Object> a, String key, double dflt) {
        Object v = a.get(key);
        if (v == null) return dflt;
        if (v instanceof Double || v instanceof Float || v instanceof Integer || v instanceof Long) return ((Number) v).doubleValue();
        throw new RecipeException(source, path + "." + key, "must be a number, got " + v);
    }

    private static int integer(String source, String path, Map<String, Object> a, String key, int dflt) {
        Object v = a.get(key);
        if (v == null) return dflt;
        if (v instanceof Integer i) return i;
        throw new RecipeException(source, path + "." + key, "must be an integer, got " + v);
    }

    private static String string(String source, String path, Map<String, Object> a, String key, String dflt) {
        Object v = a.get(key);
        if (v == null) return dflt;
        if (v instanceof String s) return s;
        throw new RecipeException(source, path + "." + key, "must be a string, got " + v);
    }

    private static List<String> strings(String source, String path, Map<String, Object> a, String key, List<String> dflt) {
        Object v = a.get(key);
        if (v == null) return dflt;
        if (v instanceof List<?> l && l.stream().allMatch(x -> x instanceof String)) return l.stream().map(String.class::cast).toList();
        throw new RecipeException(source, path + "." + key, "must be a list of strings, got " + v);
    }

    private static List<SmoothingMapping> mappings(String source, String path, Object v) {
        if (v == null) return null; // the model family's (ModelFamily's norm → linear mappings)
        String where = path + ".mappings";
        if (!(v instanceof List<?> list) || list.isEmpty()) throw new RecipeException(source, where, "must be a non-empty list of [[balance layers...], smooth layer]");
        List<SmoothingMapping> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            if (!(list.get(i) instanceof List<?> pair) || pair.size() != 2 || !(pair.get(0) instanceof List<?> bal) || !(pair.get(1) instanceof String smooth)
                    || !bal.stream().allMatch(x -> x instanceof String)) {
                throw new RecipeException(source, where + "[" + i + "]", "must be [[balance layer patterns...], smooth layer pattern], got " + list.get(i));
            }
            try {
                out.add(new SmoothingMapping(bal.stream().map(String.class::cast).toList(), smooth));
            } catch (IllegalArgumentException e) {
                throw new RecipeException(source, where + "[" + i + "]", e.getMessage());
            }
        }
        return out;
    }
}
