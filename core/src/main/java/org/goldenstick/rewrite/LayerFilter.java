package org.goldenstick.rewrite;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The one layer-selection mechanism of the library: which layers (by dotted path, e.g. {@code layer1.0.conv2} or
 * {@code model.layers.3.mlp.down_proj}) an algorithm touches. {@code targets} and {@code ignore} are regular
 * expressions searched anywhere in the path ({@link java.util.regex.Matcher#find()}; anchor with {@code ^…$} for an
 * exact name); a leading {@code re:} (llm-compressor's spelling) is accepted and dropped. A layer is selected when it
 * matches some target (or there are no targets) and no ignore pattern. SimQAT's {@code skip_layers}, the rewriter's
 * skip rules and PTQ's skip list are all this filter's {@code ignore}.
 *
 * <pre>{@code
 * LayerFilter f = LayerFilter.ignoring(List.of("lm_head", "re:.*down_proj$"));
 * f.selects("model.layers.0.self_attn.q_proj");   // true
 * f.ignoredBy("model.layers.0.mlp.down_proj");     // ".*down_proj$"
 * }</pre>
 *
 * @param targets patterns a layer must match one of (empty: every layer the algorithm handles)
 * @param ignore  patterns that leave a layer alone
 */
public record LayerFilter(List<String> targets, List<String> ignore) {
    public LayerFilter {
        targets = normalise("LayerFilter", "targets", targets);
        ignore = normalise("LayerFilter", "ignore", ignore);
    }

    /** Every layer the algorithm handles. */
    public static LayerFilter all() {
        return new LayerFilter(List.of(), List.of());
    }

    /** Every layer except those matching {@code ignore}. */
    public static LayerFilter ignoring(List<String> ignore) {
        return new LayerFilter(List.of(), ignore);
    }

    /**
     * Like {@link #ignoring(List)}, but a bad pattern's {@link ConfigException} names {@code owner} and {@code field}
     * (e.g. SimQAT's {@code skip_layers}).
     */
    public static LayerFilter ignoring(String owner, String field, List<String> ignore) {
        return new LayerFilter(List.of(), normalise(owner, field, ignore));
    }

    /** Whether the layer at {@code path} is selected. */
    public boolean selects(String path) {
        return ignoredBy(path) == null && targeted(path);
    }

    /** Whether {@code path} matches a target (true when there are none). */
    public boolean targeted(String path) {
        if (targets.isEmpty()) return true;
        for (String t : targets) if (Pattern.compile(t).matcher(path).find()) return true;
        return false;
    }

    /** The first ignore pattern found in {@code path}, or null. */
    public String ignoredBy(String path) {
        for (String r : ignore) if (Pattern.compile(r).matcher(path).find()) return r;
        return null;
    }

    /** This filter with more ignore patterns. */
    public LayerFilter ignoringAlso(List<String> more) {
        List<String> all = new ArrayList<>(ignore);
        all.addAll(more);
        return new LayerFilter(targets, all);
    }

    private static List<String> normalise(String owner, String field, List<String> patterns) {
        if (patterns == null) return List.of();
        List<String> out = new ArrayList<>();
        for (String p : patterns) {
            if (p == null || p.isEmpty()) throw new ConfigException(owner, field, p, "non-empty regular expressions", ConfigException.Kind.VALUE);
            String r = p.startsWith("re:") ? p.substring(3) : p;
            try {
                Pattern.compile(r);
            } catch (PatternSyntaxException e) {
                throw new ConfigException(owner, field, p, "valid regular expressions (" + e.getDescription() + ")", ConfigException.Kind.VALUE);
            }
            out.add(r);
        }
        return List.copyOf(out);
    }
}
