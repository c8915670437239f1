package org.goldenstick.graph;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Structural patterns matched on a {@link ModelGraph}, by layer type and op name (never by network class).
 *
 * <pre>{@code
 * List<List<Node>> convBn = Patterns.chains(g, List.of(Conv2d.class, BatchNorm2d.class));          // conv → bn
 * List<List<Node>> convBnRelu = Patterns.chains(g, List.of(Conv2d.class, BatchNorm2d.class, ReLU.class));
 * List<Node> residual = Patterns.residualAdds(g);
 * }</pre>
 */
public final class Patterns {
    private Patterns() {}

    /**
     * Chains of layer calls whose exact classes are {@code types} in order, where each call but the last feeds only the
     * next one (so fusing them changes nothing else) and each layer is called once in the forward.
     */
    public static List<List<Node>> chains(ModelGraph g, List<? extends Class<?>> types) {
        if (types.isEmpty()) throw new IllegalArgumentException("Patterns.chains: no layer types given");
        List<List<Node>> out = new ArrayList<>();
        var calls = g.layerCalls();
        for (Node n : g.nodes()) {
            List<Node> chain = new ArrayList<>();
            Node at = n;
            for (int i = 0; i < types.size(); i++) {
                if (!at.isLayer() || at.layer().getClass() != types.get(i) || calls.get(at.path()).size() != 1) break;
                chain.add(at);
                if (i == types.size() - 1) break;
                var cons = g.consumers(at.id());
                if (cons.size() != 1) break;
                at = g.node(cons.get(0).to());
            }
            if (chain.size() == types.size()) out.add(List.copyOf(chain));
        }
        return out;
    }

    /** {@code add} ops of two computed tensors (no constants or parameters) of the same shape: residual connections. */
    public static List<Node> residualAdds(ModelGraph g) {
        List<Node> out = new ArrayList<>();
        for (Node n : g.ops()) {
            if (!n.op().equals("add") || n.inputs().size() != 2) continue;
            Node a = g.node(n.inputs().get(0)), b = g.node(n.inputs().get(1));
            if (computed(a) && computed(b) && Arrays.equals(a.shape(), b.shape())) out.add(n);
        }
        return out;
    }

    private static boolean computed(Node n) {
        return n.kind() == Node.Kind.LAYER || n.kind() == Node.Kind.OP || n.kind() == Node.Kind.INPUT;
    }
}
