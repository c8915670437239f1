package org.goldenstick.ptq;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.goldenstick.llm.ModelFamily;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;

/**
 * One SmoothQuant mapping (llm-compressor's {@code mappings} entry {@code [[balance…], smooth]}): the layer whose output
 * is divided by the smoothing factors ({@code smooth}, a norm with a {@code weight}) and the linear layers reading that
 * output, whose input columns are multiplied by them ({@code balance}). Patterns are regular expressions matched
 * against the whole dotted name ({@code re:} prefix optional); for each layer matching {@code smooth}, each balance
 * pattern must match exactly one linear under the smooth layer's parent (the same decoder layer).
 *
 * <pre>{@code
 * List<SmoothingMapping> m = List.of(new SmoothingMapping(List.of("re:.*q_proj", "re:.*k_proj", "re:.*v_proj"), "re:.*input_layernorm"));
 * new SmoothQuant(PTQConfig.smoothQuant(), m);
 * }</pre>
 *
 * @param balance patterns of the linears reading the smoothed output
 * @param smooth  pattern of the norm layers whose weight absorbs {@code 1/s}
 */
public record SmoothingMapping(List<String> balance, String smooth) {
    /**
     * The norm → linears mappings of a family's description ({@link ModelFamily#mappings()} whose smoothing layer is
     * a norm): for Llama input_layernorm → q/k/v_proj and post_attention_layernorm → gate/up_proj; Phi-3's fused
     * qkv_proj and gate_up_proj.
     */
    public static List<SmoothingMapping> of(ModelFamily family) {
        List<SmoothingMapping> out = new ArrayList<>();
        for (ModelFamily.Mapping m : family.mappings()) {
            if (!m.fromNorm()) continue;
            out.add(new SmoothingMapping(m.balance().stream().map(b -> "re:.*" + Pattern.quote(b)).toList(), "re:.*" + Pattern.quote(m.smooth())));
        }
        return List.copyOf(out);
    }

    /** The Llama mappings ({@link #of(ModelFamily)} of {@link ModelFamily#LLAMA}). */
    public static final List<SmoothingMapping> LLAMA = of(ModelFamily.LLAMA);

    public SmoothingMapping {
        if (balance == null || balance.isEmpty()) throw new IllegalArgumentException("SmoothQuant mapping: 'balance' needs at least one layer pattern, got " + balance);
        if (smooth == null || smooth.isEmpty()) throw new IllegalArgumentException("SmoothQuant mapping: 'smooth' needs a layer pattern");
        balance = List.copyOf(balance);
        for (String p : balance) compile(p);
        compile(smooth);
    }

    private static Pattern compile(String p) {
        try {
            return Pattern.compile(p.startsWith("re:") ? p.substring(3) : p);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("SmoothQuant mapping: '" + p + "' is not a valid regular expression: " + e.getDescription());
        }
    }

    /**
     * Smooth layer path → its balance linears, over all {@code mappings}, for the layers present in {@code network}
     * (a smooth layer without a {@code weight} or without a matching linear for every balance pattern is left out).
     */
    static Map<String, List<String>> resolve(Module network, List<SmoothingMapping> mappings) {
        Map<String, Module> mods = network.namedModules();
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (SmoothingMapping m : mappings) {
            Pattern smooth = compile(m.smooth());
            for (String p : mods.keySet()) {
                if (!smooth.matcher(p).matches() || mods.get(p).parameter("weight") == null) continue;
                String parent = p.lastIndexOf('.') < 0 ? "" : p.substring(0, p.lastIndexOf('.') + 1);
                List<String> linears = new ArrayList<>();
                for (String b : m.balance()) {
                    Pattern bp = compile(b);
                    List<String> hits = new ArrayList<>();
                    for (var e : mods.entrySet()) {
                        if (e.getKey().startsWith(parent) && e.getValue() instanceof Linear && bp.matcher(e.getKey()).matches()) hits.add(e.getKey());
                    }
                    if (hits.size() > 1) throw new IllegalArgumentException("SmoothQuant mapping " + m + ": balance pattern '" + b + "' matches " + hits.size() + " linears under '" + parent + "': " + hits);
                    if (hits.size() == 1) linears.add(hits.getFirst());
                }
                if (linears.size() == m.balance().size()) out.put(p, List.copyOf(linears));
            }
        }
        return out;
    }
}
