package org.goldenstick.rewrite;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.goldenstick.nn.Module;

/**
 * Rewrites a module tree in place by {@link RewriteRules}: first fusion (chains of consecutive children of
 * chain containers, and named chains of structured blocks), then wrapping of every layer whose exact class has
 * a policy. Returns a {@link RewriteReport}.
 *
 * <pre>{@code
 * RewriteReport report = Rewriter.rewrite(net, rules);
 * List<Rewriter.Edge> edges = Rewriter.edges(net, rules, m -> m instanceof QuantCell);
 * }</pre>
 */
public final class Rewriter {
    private Rewriter() {}

    /** A producer → consumer connection between two layers of a chain container (dotted paths). */
    public record Edge(String producer, String consumer) {}

    public static RewriteReport rewrite(Module root, RewriteRules rules) {
        List<RewriteReport.Row> rows = new ArrayList<>();
        fuse(root, rules, rows);
        wrap(root, rules, rows);
        return new RewriteReport(rows);
    }

    private static String join(String prefix, String name) {
        return prefix.isEmpty() ? name : prefix + "." + name;
    }

    private static void fuse(Module root, RewriteRules rules, List<RewriteReport.Row> rows) {
        if (rules.fusions().isEmpty()) return;
        for (Map.Entry<String, Module> e : List.copyOf(root.namedModules().entrySet())) {
            String prefix = e.getKey();
            Module owner = e.getValue();
            if (rules.isChainContainer(owner)) {
                List<String> names = new ArrayList<>(owner.children().keySet());
                for (int i = 0; i < names.size(); i++) {
                    for (RewriteRules.FusionRule rule : rules.fusions()) {
                        int k = rule.chain().size();
                        if (i + k > names.size()) continue;
                        if (tryFuse(root, owner, prefix, names.subList(i, i + k), rule, rules, rows)) {
                            i += k - 1;
                            break;
                        }
                    }
                }
            }
            for (List<String> chain : rules.namedChains(owner)) {
                for (RewriteRules.FusionRule rule : rules.fusions()) {
                    if (rule.chain().size() == chain.size() && tryFuse(root, owner, prefix, chain, rule, rules, rows)) break;
                }
            }
        }
    }

    private static boolean tryFuse(Module root, Module owner, String prefix, List<String> names, RewriteRules.FusionRule rule,
                                   RewriteRules rules, List<RewriteReport.Row> rows) {
        List<Module> layers = new ArrayList<>();
        for (int j = 0; j < names.size(); j++) {
            Module m = owner.children().get(names.get(j));
            if (m == null || m.getClass() != rule.chain().get(j)) return false;
            String path = join(prefix, names.get(j));
            if (rules.skipPattern(path) != null || rules.leaveReason(owner, names.get(j)) != null) return false;
            layers.add(m);
        }
        Module fused = rule.fuser().apply(layers);
        String head = join(prefix, names.get(0));
        root.replaceChild(head, fused);
        for (int j = 1; j < names.size(); j++) {
            String path = join(prefix, names.get(j));
            root.replaceChild(path, new FusedInto(head, layers.get(j).getClass().getSimpleName()));
            rows.add(new RewriteReport.Row(path, layers.get(j).getClass().getSimpleName(), RewriteReport.Action.FUSED,
                    "FusedInto(" + head + ")", rule.name()));
        }
        return true;
    }

    private static void wrap(Module root, RewriteRules rules, List<RewriteReport.Row> rows) {
        List<String> handled = new ArrayList<>();
        java.util.Set<String> producerWrapped = new java.util.HashSet<>();
        for (Edge e : edges(root, rules, m -> rules.policy(m.getClass()) != null)) {
            if (wrappable(root, rules, e.producer()) && wrappable(root, rules, e.consumer())) producerWrapped.add(e.consumer());
        }
        for (Map.Entry<String, Module> e : List.copyOf(root.namedModules().entrySet())) {
            String path = e.getKey();
            Module m = e.getValue();
            if (path.isEmpty() || m instanceof FusedInto) continue;
            boolean inside = false;
            for (String h : handled) if (path.startsWith(h + ".")) inside = true;
            if (inside) continue;
            int dot = path.lastIndexOf('.');
            Module owner = root.module(dot < 0 ? "" : path.substring(0, dot));
            String name = path.substring(dot + 1);
            String cls = m.getClass().getSimpleName();
            String skip = rules.skipPattern(path);
            String leave = rules.leaveReason(owner, name);
            RewriteRules.Policy policy = rules.policy(m.getClass());
            if (skip != null) {
                rows.add(new RewriteReport.Row(path, cls, RewriteReport.Action.LEFT, cls, "skipped: path matches '" + skip + "'"));
                handled.add(path);
            } else if (leave != null) {
                rows.add(new RewriteReport.Row(path, cls, RewriteReport.Action.LEFT, cls, leave));
                handled.add(path);
            } else if (policy != null) {
                Module wrapped = policy.wrap(m, new RewriteRules.Site(path, producerWrapped.contains(path)));
                if (wrapped != m) root.replaceChild(path, wrapped);
                rows.add(new RewriteReport.Row(path, cls, RewriteReport.Action.WRAPPED, wrapped.getClass().getSimpleName(), wrapped.describe()));
                handled.add(path);
            } else if (m.children().isEmpty()) {
                rows.add(new RewriteReport.Row(path, cls, RewriteReport.Action.LEFT, cls, whyNoPolicy(m, rules)));
            }
        }
    }

    private static boolean wrappable(Module root, RewriteRules rules, String path) {
        if (rules.skipPattern(path) != null) return false;
        int dot = path.lastIndexOf('.');
        Module owner = root.module(dot < 0 ? "" : path.substring(0, dot));
        return rules.leaveReason(owner, path.substring(dot + 1)) == null;
    }

    private static String whyNoPolicy(Module m, RewriteRules rules) {
        for (Class<? extends Module> c : rules.policyClasses()) {
            if (c.isInstance(m)) return "subclass of " + c.getSimpleName() + ": policies match exact classes (kept in FP32)";
        }
        boolean hasWeights = !m.namedParameters().isEmpty();
        return "no policy for " + m.getClass().getSimpleName() + (hasWeights ? " (unsupported layer, weights kept in FP32)" : " (kept in FP32)");
    }

    /**
     * Producer → consumer pairs inside chain containers: for each child accepted by {@code node}, the nearest
     * earlier sibling that is not {@link RewriteRules#isTransparent transparent}, if {@code node} accepts it too.
     */
    public static List<Edge> edges(Module root, RewriteRules rules, Predicate<Module> node) {
        List<Edge> out = new ArrayList<>();
        for (Map.Entry<String, Module> e : root.namedModules().entrySet()) {
            Module owner = e.getValue();
            if (!rules.isChainContainer(owner)) continue;
            List<Map.Entry<String, Module>> kids = new ArrayList<>(owner.children().entrySet());
            for (int i = 1; i < kids.size(); i++) {
                if (!node.test(kids.get(i).getValue())) continue;
                int j = i - 1;
                while (j >= 0 && rules.isTransparent(kids.get(j).getValue())) j--;
                if (j >= 0 && node.test(kids.get(j).getValue())) {
                    out.add(new Edge(join(e.getKey(), kids.get(j).getKey()), join(e.getKey(), kids.get(i).getKey())));
                }
            }
        }
        return out;
    }
}
