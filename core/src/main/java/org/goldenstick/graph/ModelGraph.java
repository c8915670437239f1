package org.goldenstick.graph;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Predicate;
import org.goldenstick.nn.Layer;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.GradMode;
import org.goldenstick.tensor.OpTrace;
import org.goldenstick.tensor.Tensor;

/**
 * The dataflow graph of a network, traced from one example forward: nodes are leaf-layer calls ({@link Layer}) and the
 * tensor ops run between them (add, mul, concat, reshape, activation functions...), edges are tensors with their
 * shapes, and every layer node carries its dotted module name. See the package documentation for how it is built and
 * used.
 *
 * <pre>{@code
 * ModelGraph g = ModelGraph.trace(net, new int[] {1, 28, 28});
 * for (Node n : g.nodes()) if (n.isLayer(Conv2d.class)) g.consumers(n.id());
 * }</pre>
 */
public final class ModelGraph {
    private final Module root;
    private final List<Node> nodes;
    private final List<List<Edge>> consumers;
    private final int output;
    private final Tensor example;

    private ModelGraph(Module root, Tensor example, List<Node> nodes, int output) {
        this.root = root;
        this.example = example;
        this.nodes = List.copyOf(nodes);
        this.output = output;
        List<List<Edge>> cons = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) cons.add(new ArrayList<>());
        for (Node n : nodes) {
            for (int a = 0; a < n.inputs().size(); a++) {
                int from = n.inputs().get(a);
                cons.get(from).add(new Edge(from, n.id(), a, nodes.get(from).shape()));
            }
        }
        List<List<Edge>> frozen = new ArrayList<>();
        for (List<Edge> l : cons) frozen.add(List.copyOf(l));
        this.consumers = List.copyOf(frozen);
    }

    /**
     * Traces {@code root} on a random example of {@code sampleShape} (one sample, no batch axis); see {@link #trace(Module, Tensor)}.
     */
    public static ModelGraph trace(Module root, int[] sampleShape) {
        if (sampleShape == null) throw new IllegalArgumentException("ModelGraph.trace: sample shape is null");
        int[] s = new int[sampleShape.length + 1];
        s[0] = 1;
        System.arraycopy(sampleShape, 0, s, 1, sampleShape.length);
        return trace(root, Tensor.randn(new Random(0), s));
    }

    /**
     * Runs {@code root.forward(example)} once, in eval mode (modes restored afterwards, so no BatchNorm statistics move)
     * and without gradient recording, and builds the graph from what the tape reports ({@link OpTrace}). Only nodes the
     * output depends on are kept. A layer the forward calls that is not registered in the module tree is an error naming
     * its class.
     */
    public static ModelGraph trace(Module root, Tensor example) {
        if (root == null) throw new IllegalArgumentException("ModelGraph.trace: network is null");
        Recorder rec = new Recorder(root, example);
        Tensor out = root.inEvalMode(() -> {
            try (var g = GradMode.off(); OpTrace.Scope s = OpTrace.record(rec)) {
                return root.forward(example);
            }
        });
        if (rec.failure != null) throw rec.failure;
        Integer outId = rec.current.get(out);
        if (outId == null) throw new IllegalArgumentException("ModelGraph.trace: the output of " + root.getClass().getSimpleName() + ".forward was not computed from its input");
        return rec.build(example, outId);
    }

    public Module root() {
        return root;
    }

    /** Traces the same network again on the same example (e.g. after layers were replaced). */
    public ModelGraph retrace() {
        return trace(root, example);
    }

    /** One sample's shape (the example's shape without its batch axis). */
    public int[] sampleShape() {
        int[] s = example.shape();
        return Arrays.copyOfRange(s, 1, s.length);
    }

    /** All nodes in execution order; {@code nodes().get(i).id() == i}. */
    public List<Node> nodes() {
        return nodes;
    }

    public Node node(int id) {
        return nodes.get(id);
    }

    /** The network input (node 0). */
    public Node input() {
        return nodes.get(0);
    }

    /** The node whose tensor the forward returned. */
    public Node output() {
        return nodes.get(output);
    }

    /** Every edge, grouped by producer in execution order. */
    public List<Edge> edges() {
        List<Edge> out = new ArrayList<>();
        for (List<Edge> l : consumers) out.addAll(l);
        return out;
    }

    /** The edges leaving node {@code id}, in execution order of their consumers. */
    public List<Edge> consumers(int id) {
        return consumers.get(id);
    }

    /** The producers of node {@code id}'s inputs, in argument order. */
    public List<Node> producers(int id) {
        List<Node> out = new ArrayList<>();
        for (int i : nodes.get(id).inputs()) out.add(nodes.get(i));
        return out;
    }

    /** The layer nodes by dotted module name, in order of first call; a name with several nodes is a layer called several times. */
    public Map<String, List<Node>> layerCalls() {
        Map<String, List<Node>> out = new LinkedHashMap<>();
        for (Node n : nodes) if (n.isLayer()) out.computeIfAbsent(n.path(), k -> new ArrayList<>()).add(n);
        out.replaceAll((k, v) -> List.copyOf(v));
        return Collections.unmodifiableMap(out);
    }

    /** The calls of the layer at {@code path} (empty if the traced forward never calls it). */
    public List<Node> layerCalls(String path) {
        return layerCalls().getOrDefault(path, List.of());
    }

    /** The OP nodes. */
    public List<Node> ops() {
        return nodes.stream().filter(n -> n.kind() == Node.Kind.OP).toList();
    }

    /**
     * Dotted names of the {@link Layer}s of the module tree that the traced forward never called (layers inside a called
     * layer, such as a quant cell's BatchNorm, do not count).
     */
    public List<String> uncalledLayers() {
        Map<String, List<Node>> calls = layerCalls();
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, Module> e : root.namedModules().entrySet()) {
            if (!(e.getValue() instanceof Layer) || calls.containsKey(e.getKey())) continue;
            boolean inside = false;
            for (String called : calls.keySet()) if (called.isEmpty() || e.getKey().startsWith(called + ".")) inside = true;
            if (!inside) out.add(e.getKey());
        }
        return out;
    }

    /**
     * The producer of argument {@code arg} of node {@code id}, looking back through nodes {@code through} accepts (e.g.
     * layers that keep values on their input's quantization grid).
     */
    public Node producerThrough(int id, int arg, Predicate<Node> through) {
        Node p = nodes.get(nodes.get(id).inputs().get(arg));
        while (through.test(p) && !p.inputs().isEmpty()) p = nodes.get(p.inputs().get(0));
        return p;
    }

    /** One line per node. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (Node n : nodes) sb.append(n).append('\n');
        return sb.append("output %").append(output).append('\n').toString();
    }

    /** Collects ops and layer calls at depth 0 (inside a layer, its own ops are not graph nodes). */
    private static final class Recorder implements OpTrace.Listener {
        final IdentityHashMap<Tensor, Integer> current = new IdentityHashMap<>();
        final IdentityHashMap<Module, String> paths = new IdentityHashMap<>();
        final IdentityHashMap<Tensor, String> params = new IdentityHashMap<>();
        final List<Node> nodes = new ArrayList<>();
        final List<Integer> layerInputs = new ArrayList<>();
        final Module root;
        int depth;
        IllegalArgumentException failure;

        Recorder(Module root, Tensor example) {
            this.root = root;
            root.namedModules().forEach((p, m) -> paths.putIfAbsent(m, p));
            root.stateDict().forEach((p, t) -> params.putIfAbsent(t, p));
            add(Node.Kind.INPUT, "input", null, null, List.of(), example.shape(), null);
            current.put(example, 0);
        }

        private int add(Node.Kind kind, String op, String path, Module layer, List<Integer> inputs, int[] shape, Tensor value) {
            int id = nodes.size();
            nodes.add(new Node(id, kind, op, path, layer, inputs, shape, value));
            return id;
        }

        private int resolve(Tensor t) {
            Integer id = current.get(t);
            if (id != null) return id;
            String p = params.get(t);
            int n = p != null ? add(Node.Kind.PARAMETER, "parameter", p, null, List.of(), t.shape(), t)
                    : add(Node.Kind.CONSTANT, "constant", null, null, List.of(), t.shape(), t);
            current.put(t, n);
            return n;
        }

        @Override
        public void op(String op, Tensor[] inputs, Tensor output) {
            if (depth > 0) return;
            List<Integer> in = new ArrayList<>();
            for (Tensor t : inputs) if (t != null) in.add(resolve(t));
            current.put(output, add(Node.Kind.OP, op, scope(in), null, in, output.shape(), null));
        }

        /** The longest common dotted prefix of the modules the producers ran in. */
        private String scope(List<Integer> in) {
            String common = null;
            for (int i : in) {
                Node n = nodes.get(i);
                String s;
                if (n.kind() == Node.Kind.LAYER) s = n.path().contains(".") ? n.path().substring(0, n.path().lastIndexOf('.')) : "";
                else if (n.kind() == Node.Kind.OP) s = n.path();
                else continue;
                common = common == null ? s : commonPrefix(common, s);
            }
            return common == null ? "" : common;
        }

        private static String commonPrefix(String a, String b) {
            String[] x = a.split("\\."), y = b.split("\\.");
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < Math.min(x.length, y.length) && x[i].equals(y[i]); i++) sb.append(i == 0 ? "" : ".").append(x[i]);
            return sb.toString();
        }

        @Override
        public void opOwner(Object module, Tensor output) {
            if (depth > 0) return;
            Integer id = current.get(output);
            String path = paths.get(module);
            if (id == null || path == null || !(module instanceof Module m)) return;
            Node n = nodes.get(id);
            if (n.kind() == Node.Kind.OP) nodes.set(id, new Node(n.id(), n.kind(), n.op(), path, m, n.inputs(), n.shape(), null));
        }

        @Override
        public void enterLayer(Object layer, Tensor input) {
            if (depth++ > 0) return;
            layerInputs.add(resolve(input));
        }

        @Override
        public void exitLayer(Object layer, Tensor input, Tensor output) {
            if (--depth > 0) return;
            int in = layerInputs.removeLast();
            Module m = (Module) layer;
            String path = paths.get(m);
            if (path == null) {
                if (failure == null) {
                    failure = new IllegalArgumentException("ModelGraph.trace: the forward of " + root.getClass().getSimpleName() + " calls a " + m.getClass().getSimpleName()
                            + " (" + m.describe() + ") that is not registered in the module tree; register it with registerChild so it has a name and its parameters are seen");
                }
                path = "?" + m.getClass().getSimpleName();
            }
            current.put(output, add(Node.Kind.LAYER, m.getClass().getSimpleName(), path, m, List.of(in), output.shape(), null));
        }

        /** Keeps the nodes the output depends on, renumbered in execution order. */
        ModelGraph build(Tensor example, int out) {
            boolean[] live = new boolean[nodes.size()];
            live[0] = true;
            live[out] = true;
            for (int i = out; i >= 0; i--) if (live[i]) for (int p : nodes.get(i).inputs()) live[p] = true;
            int[] renumber = new int[nodes.size()];
            List<Node> kept = new ArrayList<>();
            for (Node n : nodes) {
                if (!live[n.id()]) continue;
                renumber[n.id()] = kept.size();
                List<Integer> in = new ArrayList<>();
                for (int p : n.inputs()) in.add(renumber[p]);
                kept.add(new Node(kept.size(), n.kind(), n.op(), n.path(), n.layer(), in, n.shape(), n.value()));
            }
            return new ModelGraph(root, example, kept, renumber[out]);
        }
    }

    static String shape(int[] s) {
        return Arrays.toString(s);
    }
}
