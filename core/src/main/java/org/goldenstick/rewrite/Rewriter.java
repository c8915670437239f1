package org.goldenstick.rewrite;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.goldenstick.graph.ModelGraph;
import org.goldenstick.graph.Node;
import org.goldenstick.graph.Patterns;
import org.goldenstick.nn.Layer;
import org.goldenstick.nn.Module;

/**
 * Rewrites a network in place by {@link RewriteRules}, working from its traced {@link ModelGraph}: first fusion
 * (chains of layer types matched on the graph, e.g. Conv2d → BatchNorm2d where the conv feeds only the BN), then
 * wrapping of every called layer whose exact class has a policy. The layers are replaced by dotted name
 * ({@link Module#replaceChild}), so a network that calls its layers through fields runs the replacements; the network
 * is then traced again to check that every replacement is really called. Returns a {@link RewriteReport}: what was
 * wrapped, fused, and left (and why).
 *
 * <p>Errors, never silent no-ops: an op in the graph the rules do not support, a layer with a policy that the forward
 * never calls (e.g. its weight used directly by an op), and a replacement the re-traced forward does not call are
 * {@link IllegalArgumentException}s naming the op or layer.
 *
 * <pre>{@code
 * ModelGraph g = ModelGraph.trace(net, new int[] {1, 8, 8});
 * RewriteReport report = Rewriter.rewrite(net, g, rules);
 * }</pre>
 */
public final class Rewriter {
    private Rewriter() {}

    public static RewriteReport rewrite(Module root, ModelGraph graph, RewriteRules rules) {
        if (graph.root() != root) throw new IllegalArgumentException("Rewriter: the graph was traced from another network");
        checkUncalled(graph, rules);
        checkOps(graph, rules);
        Map<String, List<Node>> calls = graph.layerCalls();

        // 1. fusion: plan on the graph
        Map<String, Module> effective = new LinkedHashMap<>();
        calls.forEach((p, n) -> effective.put(p, n.get(0).layer()));
        Map<String, String> fusedRule = new HashMap<>();
        Map<String, String> tailOf = new HashMap<>();
        Set<String> used = new HashSet<>();
        for (RewriteRules.FusionRule rule : rules.fusions()) {
            for (List<Node> chain : Patterns.chains(graph, rule.chain())) {
                boolean ok = true;
                for (Node n : chain) if (used.contains(n.path()) || rules.skipPattern(n.path()) != null) ok = false;
                if (!ok) continue;
                List<Module> layers = new ArrayList<>();
                for (Node n : chain) layers.add(n.layer());
                String head = chain.get(0).path();
                effective.put(head, rule.fuser().apply(layers));
                fusedRule.put(head, rule.name());
                for (Node n : chain) used.add(n.path());
                for (int j = 1; j < chain.size(); j++) {
                    String tail = chain.get(j).path();
                    effective.put(tail, new FusedInto(head, chain.get(j).layer().getClass().getSimpleName()));
                    tailOf.put(tail, head);
                }
            }
        }

        // 2. which layers get wrapped (needed before building: a wrapper may drop its input quantizer)
        Set<String> wrapped = new HashSet<>();
        for (var e : effective.entrySet()) {
            String p = e.getKey();
            if (tailOf.containsKey(p) || rules.skipPattern(p) != null || calls.get(p).size() > 1) continue;
            if (rules.policy(e.getValue().getClass()) != null) wrapped.add(p);
        }

        // 3. build the replacements and the report
        List<RewriteReport.Row> rows = new ArrayList<>();
        Map<String, Module> replace = new LinkedHashMap<>();
        for (var e : effective.entrySet()) {
            String path = e.getKey();
            Module m = e.getValue();
            Module original = calls.get(path).get(0).layer();
            String cls = original.getClass().getSimpleName();
            if (tailOf.containsKey(path)) {
                replace.put(path, m);
                rows.add(new RewriteReport.Row(path, cls, RewriteReport.Action.FUSED, "FusedInto(" + tailOf.get(path) + ")", fusedRule.get(tailOf.get(path))));
                continue;
            }
            String skip = rules.skipPattern(path);
            RewriteRules.Policy policy = rules.policy(m.getClass());
            if (skip != null) {
                rows.add(new RewriteReport.Row(path, cls, RewriteReport.Action.LEFT, cls, "skipped: path matches '" + skip + "'"));
            } else if (policy != null && !wrapped.contains(path)) {
                rows.add(new RewriteReport.Row(path, cls, RewriteReport.Action.LEFT, cls, "called at " + calls.get(path).size()
                        + " points of the forward: one wrapper cannot stand for each call (kept in FP32)"));
            } else if (policy != null) {
                Node n = calls.get(path).get(0);
                Node producer = graph.producerThrough(n.id(), 0, x -> rules.keepsGrid(x) || (x.isLayer() && tailOf.containsKey(x.path())));
                boolean producerWrapped = producer.isLayer() && wrapped.contains(producer.path());
                Module w = policy.wrap(m, new RewriteRules.Site(path, producerWrapped));
                if (!(w instanceof Layer)) {
                    throw new IllegalArgumentException("Rewriter: the policy for " + m.getClass().getSimpleName() + " at '" + path + "' returned a "
                            + w.getClass().getSimpleName() + ", which is not a Layer: a replacement must be a Layer so the graph sees it as one call");
                }
                if (w != original) replace.put(path, w);
                rows.add(new RewriteReport.Row(path, cls, RewriteReport.Action.WRAPPED, w.getClass().getSimpleName(), w.describe()));
            } else if (m != original) { // fused, no policy for the fused layer
                replace.put(path, m);
                rows.add(new RewriteReport.Row(path, cls, RewriteReport.Action.FUSED, m.getClass().getSimpleName(), fusedRule.get(path)));
            } else {
                rows.add(new RewriteReport.Row(path, cls, RewriteReport.Action.LEFT, cls, whyNoPolicy(m, rules)));
            }
        }
        for (String p : graph.uncalledLayers()) {
            Module m = root.module(p);
            String cls = m.getClass().getSimpleName();
            rows.add(new RewriteReport.Row(p, cls, RewriteReport.Action.LEFT, cls, "never called by the traced forward"));
        }

        // 4. replace, then check on a fresh trace that the forward calls every replacement
        replace.forEach(root::replaceChild);
        ModelGraph after;
        try {
            after = graph.retrace();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("Rewriter: after replacing layers, " + e.getMessage(), e);
        }
        for (var e : replace.entrySet()) {
            List<Node> now = after.layerCalls(e.getKey());
            boolean called = !now.isEmpty() && now.get(0).layer() == e.getValue();
            if (!called || now.size() != calls.get(e.getKey()).size()) {
                throw new IllegalArgumentException("Rewriter: '" + e.getKey() + "' was replaced by " + e.getValue().getClass().getSimpleName()
                        + " but the forward of " + root.getClass().getSimpleName() + " does not call the replacement (" + now.size() + " calls, "
                        + calls.get(e.getKey()).size() + " before); the network must call its layers through the module tree or through fields holding its layers");
            }
        }
        return new RewriteReport(rows);
    }

    private static void checkOps(ModelGraph graph, RewriteRules rules) {
        for (Node n : graph.ops()) {
            if (!rules.supportsOp(n.op())) {
                throw new IllegalArgumentException("op '" + n.op() + "' (" + n.name() + ", output " + java.util.Arrays.toString(n.shape()) + ") in the forward of "
                        + graph.root().getClass().getSimpleName() + " is not supported; supported ops between layers: " + new java.util.TreeSet<>(rules.supportedOps())
                        + " (use a layer for it, or a layer that the algorithm leaves in FP32)");
            }
        }
    }

    private static void checkUncalled(ModelGraph graph, RewriteRules rules) {
        for (String p : graph.uncalledLayers()) {
            Module m = graph.root().module(p);
            if (rules.policy(m.getClass()) == null || rules.skipPattern(p) != null) continue;
            List<String> direct = new ArrayList<>();
            for (Node n : graph.nodes()) if (n.kind() == Node.Kind.PARAMETER && n.path().startsWith(p + ".")) direct.add(n.path());
            String use = direct.isEmpty() ? "" : "; its parameters " + direct + " are used directly by ops instead";
            throw new IllegalArgumentException("layer '" + p + "' (" + m.getClass().getSimpleName() + ") is in the network but the traced forward of "
                    + graph.root().getClass().getSimpleName() + " never calls it" + use + ": it would be wrapped without effect. Call it, remove it, or skip it by name");
        }
    }

    private static String whyNoPolicy(Module m, RewriteRules rules) {
        for (Class<? extends Module> c : rules.policyClasses()) {
            if (c.isInstance(m)) return "subclass of " + c.getSimpleName() + ": policies match exact classes (kept in FP32)";
        }
        if (rules.isTransparent(m)) return "keeps its input's grid";
        boolean hasWeights = !m.namedParameters().isEmpty();
        return "no policy for " + m.getClass().getSimpleName() + (hasWeights ? " (unsupported layer, weights kept in FP32)" : " (kept in FP32)");
    }

}
