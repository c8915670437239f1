package org.goldenstick.prune;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.goldenstick.graph.ModelGraph;
import org.goldenstick.rewrite.LayerFilter;
import org.goldenstick.graph.Node;
import org.goldenstick.nn.AdaptiveAvgPool2d;
import org.goldenstick.nn.AvgPool2d;
import org.goldenstick.nn.BatchNorm2d;
import org.goldenstick.nn.Clip;
import org.goldenstick.nn.ConstantPad;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Dropout;
import org.goldenstick.nn.Flatten;
import org.goldenstick.nn.HardSwish;
import org.goldenstick.nn.Identity;
import org.goldenstick.nn.LeakyReLU;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.MaxPool2d;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.ReLU;
import org.goldenstick.nn.ReLU6;
import org.goldenstick.nn.Tanh;

/**
 * Channel dependency analysis on a traced {@link ModelGraph}: which output channels of which layers can be removed,
 * and what else must change with them. Every ungrouped Conv2d and every Linear layer starts a channel set of its output
 * channels (features); the analysis follows each tensor's channel axis through the graph and
 * <ul>
 *   <li>ties channel sets that an element-wise {@code add}/{@code sub}/{@code mul} of two tensors joins (residual
 *   additions: the sets become one group, pruned consistently);</li>
 *   <li>concatenates them along a {@code concat} on the channel axis (each part keeps its own group, at its offset);</li>
 *   <li>passes them through depthwise convolutions and BatchNorm (channel-wise layers, sliced with the group) and
 *   through layers and ops that keep a zero channel zero (ReLU, ReLU6, leaky ReLU, hard-swish, tanh, pooling, dropout,
 *   identity, tanh, a clip whose range holds 0, zero padding of the spatial axes, flatten/reshape to features,
 *   multiplication by a per-tensor constant);</li>
 *   <li>records every consumer (a conv's input channels, a Linear's input features after a flatten, each channel
 *   spanning {@code unit} consecutive features).</li>
 * </ul>
 * A group is <em>pinned</em> (not pruned; its producing layers are listed in {@link Result#skipped()} with the reason)
 * when it reaches the network output, or feeds anything whose channel mapping is unknown or that maps a zero channel to
 * a non-zero one (sigmoid, adding a constant, a grouped convolution, an unknown layer or op, a layer called twice...):
 * there, removing a channel would not equal zeroing it. Nothing is skipped silently.
 *
 * <pre>{@code
 * ChannelGraph.Result r = ChannelGraph.analyze(ModelGraph.trace(net, new int[] {1, 8, 8}));
 * r.groups();    // prunable channel groups (residual ties included)
 * r.skipped();   // producing layers left alone, with reasons
 * }</pre>
 */
public final class ChannelGraph {
    /**
     * A run of {@code channels} consecutive channels of a tensor's channel axis belonging to {@code group} (null: a set
     * that is not pruned), each channel spanning {@code unit} consecutive features (1 before any flatten).
     */
    public record Segment(ChannelGroup group, int channels, int unit) {}

    /** How the input and output channels (or features) of a layer divide into groups, in order. */
    public record LayerChannels(List<Segment> in, List<Segment> out) {}

    /**
     * @param groups  prunable groups in network order
     * @param skipped producing layers that are not pruned, with reasons
     * @param layers  every layer whose weights index pruned channels, by dotted path (what {@link ChannelSurgery} slices)
     */
    public record Result(List<ChannelGroup> groups, List<SkippedLayer> skipped, Map<String, LayerChannels> layers) {}

    /** Layers whose output is their input with zero channels kept zero, channel by channel. */
    private static final Set<Class<?>> ZERO_KEEPING_LAYERS = Set.of(ReLU.class, ReLU6.class, LeakyReLU.class, HardSwish.class, MaxPool2d.class,
            AvgPool2d.class, AdaptiveAvgPool2d.class, Dropout.class, Identity.class, Tanh.class);
    /** Unary tape ops that map 0 to 0. */
    private static final Set<String> ZERO_KEEPING_OPS = Set.of("relu", "relu6", "tanh", "silu", "gelu", "dropout", "hardSwish");

    private static final class Set0 {
        final int channels;
        final List<ChannelGroup.Member> members = new ArrayList<>();
        final List<ChannelGroup.Consumer> consumers = new ArrayList<>();
        String pinned;

        Set0(int channels) {
            this.channels = channels;
        }
    }

    private record Seg(int set, int channels, int unit) {}

    private record Layer(List<Seg> in, List<Seg> out) {}

    private final List<Set0> sets = new ArrayList<>();
    private final List<Integer> parent = new ArrayList<>();
    private final Map<String, Layer> layers = new LinkedHashMap<>();
    private final List<SkippedLayer> skippedOther = new ArrayList<>();

    private ChannelGraph() {}

    /** Analyses the traced network (not modified). */
    public static Result analyze(ModelGraph graph) {
        return analyze(graph, LayerFilter.all());
    }

    /**
     * As {@link #analyze(ModelGraph)}, leaving whole every channel group one of whose producing layers {@code layers}
     * does not select (its members are listed in {@link Result#skipped()} with the ignore pattern).
     */
    public static Result analyze(ModelGraph graph, LayerFilter layers) {
        ChannelGraph a = new ChannelGraph();
        a.run(graph);
        a.pinIgnored(layers);
        return a.result();
    }

    private void pinIgnored(LayerFilter layers) {
        for (int i = 0; i < sets.size(); i++) {
            if (find(i) != i) continue; // members live in the root set
            Set0 s = sets.get(i);
            if (s.pinned != null) continue;
            for (ChannelGroup.Member m : s.members) {
                if (!layers.selects(m.conv())) {
                    String why = layers.ignoredBy(m.conv());
                    s.pinned = why != null ? "ignored by pattern '" + why + "'" : "not among the targets " + layers.targets();
                    break;
                }
            }
        }
    }

    private void run(ModelGraph g) {
        Map<String, List<Node>> calls = g.layerCalls();
        List<List<Seg>> segs = new ArrayList<>();
        for (Node n : g.nodes()) {
            List<List<Seg>> in = new ArrayList<>();
            for (int i : n.inputs()) in.add(segs.get(i));
            segs.add(switch (n.kind()) {
                case INPUT -> fixed(n.shape());
                case CONSTANT, PARAMETER -> null;
                case LAYER -> calls.get(n.path()).size() > 1 && !n.layer().namedParameters().isEmpty()
                        ? opaque(n, in, "layer " + n.path() + " is called " + calls.get(n.path()).size() + " times")
                        : layer(g, n, in.get(0));
                case OP -> op(g, n, in);
            });
        }
        pin(segs.get(g.output().id()), "feeds the network output");
    }

    // ---------------------------------------------------------------- union-find over channel sets

    private int newSet(int channels, String producer) {
        sets.add(new Set0(channels));
        parent.add(sets.size() - 1);
        sets.getLast().members.add(new ChannelGroup.Member(producer, null));
        return sets.size() - 1;
    }

    private int find(int i) {
        while (parent.get(i) != i) {
            parent.set(i, parent.get(parent.get(i)));
            i = parent.get(i);
        }
        return i;
    }

    private Set0 set(int i) {
        return sets.get(find(i));
    }

    private void union(int a, int b) {
        a = find(a);
        b = find(b);
        if (a == b) return;
        if (b < a) {  // the earlier set stays the root, so members and groups keep network order
            int t = a;
            a = b;
            b = t;
        }
        Set0 sa = sets.get(a), sb = sets.get(b);
        parent.set(b, a);
        sa.members.addAll(sb.members);
        sa.consumers.addAll(sb.consumers);
        if (sa.pinned == null) sa.pinned = sb.pinned;
    }

    private void pin(List<Seg> segs, String reason) {
        if (segs == null) return;
        for (Seg s : segs) {
            if (s.set < 0) continue;
            Set0 x = set(s.set);
            if (x.pinned == null) x.pinned = reason;
        }
    }

    private static List<Seg> fixed(int[] shape) {
        return shape.length < 2 ? null : List.of(new Seg(-1, shape[1], 1));
    }

    private static int[] shape(ModelGraph g, Node n, int arg) {
        return g.node(n.inputs().get(arg)).shape();
    }

    // ---------------------------------------------------------------- layers

    /** A node whose channel mapping is not followed: its inputs are pinned, its output is a fixed set. */
    private List<Seg> opaque(Node n, List<List<Seg>> in, String reason) {
        for (List<Seg> s : in) pin(s, reason);
        if (n.isLayer()) {
            for (Map.Entry<String, Module> e : n.layer().namedModules().entrySet()) {
                Module m = e.getValue();
                if (m instanceof Conv2d || m instanceof Linear) {
                    String p = e.getKey().isEmpty() ? n.path() : n.path() + "." + e.getKey();
                    if (skippedOther.stream().noneMatch(s -> s.path().equals(p))) skippedOther.add(new SkippedLayer(p, reason));
                }
            }
        }
        return fixed(n.shape());
    }

    private List<Seg> layer(ModelGraph g, Node n, List<Seg> in) {
        Module m = n.layer();
        String p = n.path();
        if (m.getClass() == Conv2d.class) {
            Conv2d c = (Conv2d) m;
            if (c.groups() == 1) {
                consume(in, p);
                List<Seg> out = List.of(new Seg(newSet(c.outChannels(), p), c.outChannels(), 1));
                layers.put(p, new Layer(in, out));
                return out;
            }
            if (c.groups() == c.inChannels() && c.outChannels() == c.inChannels() && in != null) {  // depthwise: channel-wise
                layers.put(p, new Layer(in, in));
                return in;
            }
            pin(in, "read by grouped Conv2d " + p + " (groups=" + c.groups() + ")");
            int s = newSet(c.outChannels(), p);
            sets.get(s).pinned = "grouped convolution (groups=" + c.groups() + ")";
            return List.of(new Seg(s, c.outChannels(), 1));
        }
        if (m.getClass() == Linear.class) {
            Linear l = (Linear) m;
            if (shape(g, n, 0).length != 2) pin(in, "read by Linear " + p + " along a non-channel axis");
            else consume(in, p);
            List<Seg> out = List.of(new Seg(newSet(l.outFeatures(), p), l.outFeatures(), 1));
            layers.put(p, new Layer(shape(g, n, 0).length == 2 ? in : fixed(shape(g, n, 0)), out));
            return out;
        }
        if (m.getClass() == BatchNorm2d.class && in != null) {
            Node producer = g.node(n.inputs().get(0));
            if (producer.isLayer() && producer.layer().getClass() == Conv2d.class && ((Conv2d) producer.layer()).groups() == 1
                    && g.consumers(producer.id()).size() == 1 && in.size() == 1 && in.get(0).set >= 0) {
                Set0 s = set(in.get(0).set);
                for (int i = 0; i < s.members.size(); i++) {
                    ChannelGroup.Member mem = s.members.get(i);
                    if (mem.conv().equals(producer.path()) && mem.norm() == null) s.members.set(i, new ChannelGroup.Member(mem.conv(), p));
                }
            }
            layers.put(p, new Layer(in, in));
            return in;
        }
        if (ZERO_KEEPING_LAYERS.contains(m.getClass())) return in;
        if (m.getClass() == Clip.class && ((Clip) m).min() <= 0 && ((Clip) m).max() >= 0) return in;
        if (m.getClass() == ConstantPad.class && spatialZeroPad((ConstantPad) m)) return in;
        if (m.getClass() == Flatten.class && ((Flatten) m).startDim() == 1) return flattened(in, shape(g, n, 0), n.shape());
        return opaque(n, List.of(in), "feeds " + m.getClass().getSimpleName() + " " + p
                + (m.getClass().getSimpleName().equals("Sigmoid") ? " (maps a zero channel to 0.5)" : " whose channel mapping is unknown"));
    }

    /** Zeros added (or cropped) only after the channel axis: a zero channel stays zero, channel by channel. */
    private static boolean spatialZeroPad(ConstantPad p) {
        int[] pads = p.pads();
        int r = p.rank();
        return p.value() == 0 && r >= 2 && pads[0] == 0 && pads[1] == 0 && pads[r] == 0 && pads[r + 1] == 0;
    }

    private void consume(List<Seg> in, String path) {
        if (in == null) return;
        for (Seg s : in) if (s.set >= 0) set(s.set).consumers.add(new ChannelGroup.Consumer(path, s.unit));
    }

    /** [N, C, ...] → [N, C·rest]: each channel now spans {@code rest} times as many features. */
    private static List<Seg> flattened(List<Seg> in, int[] from, int[] to) {
        if (in == null) return null;
        int rest = 1;
        for (int i = 2; i < from.length; i++) rest *= from[i];
        List<Seg> out = new ArrayList<>();
        for (Seg s : in) out.add(new Seg(s.set, s.channels, s.unit * rest));
        return to.length == 2 ? out : null;
    }

    // ---------------------------------------------------------------- ops

    private List<Seg> op(ModelGraph g, Node n, List<List<Seg>> in) {
        String op = n.op();
        if (ZERO_KEEPING_OPS.contains(op) && in.size() == 1) return in.get(0);
        switch (op) {
            case "add", "sub", "mul" -> {
                if (in.size() == 2 && in.get(0) != null && in.get(1) != null && Arrays.equals(shape(g, n, 0), shape(g, n, 1))) {
                    return tie(in.get(0), in.get(1), n.name());
                }
                if (op.equals("mul") && in.size() == 2) {
                    int t = in.get(0) != null ? 0 : 1;  // the channel-carrying side, the other a per-tensor constant
                    int[] other = shape(g, n, 1 - t);
                    if (in.get(t) != null && (other.length < 2 || other[1] == 1) && Arrays.equals(shape(g, n, t), n.shape())) return in.get(t);
                }
            }
            case "div" -> {
                int[] d = shape(g, n, 1);
                if (in.size() == 2 && in.get(0) != null && in.get(1) == null && (d.length < 2 || d[1] == 1)) return in.get(0);
            }
            case "concat" -> {
                if (channelAxisConcat(g, n)) {
                    List<Seg> out = new ArrayList<>();
                    for (List<Seg> s : in) out.addAll(s);
                    return out;
                }
            }
            case "reshape" -> {
                int[] from = shape(g, n, 0), to = n.shape();
                if (in.get(0) != null && from.length >= 2 && to.length == 2 && to[0] == from[0]) return flattened(in.get(0), from, to);
                if (in.get(0) != null && Arrays.equals(from, to)) return in.get(0);
            }
            default -> { }
        }
        return opaque(n, in, "feeds op " + n.name() + " whose channel mapping is not followed");
    }

    private static boolean channelAxisConcat(ModelGraph g, Node n) {
        int[] out = n.shape();
        if (out.length < 2) return false;
        int sum = 0;
        for (int a = 0; a < n.inputs().size(); a++) {
            int[] s = shape(g, n, a);
            if (s.length != out.length || s[0] != out[0]) return false;
            for (int d = 2; d < s.length; d++) if (s[d] != out[d]) return false;
            sum += s[1];
        }
        return sum == out[1];
    }

    /** Two tensors joined element-wise: their channel sets are tied run by run (identical boundaries required). */
    private List<Seg> tie(List<Seg> a, List<Seg> b, String where) {
        boolean aligned = a.size() == b.size();
        for (int i = 0; aligned && i < a.size(); i++) aligned = a.get(i).channels == b.get(i).channels && a.get(i).unit == b.get(i).unit;
        if (!aligned) {
            pin(a, "joined at " + where + " with channels grouped differently");
            pin(b, "joined at " + where + " with channels grouped differently");
            return a;
        }
        for (int i = 0; i < a.size(); i++) {
            Seg x = a.get(i), y = b.get(i);
            if (x.set < 0 || y.set < 0) {
                pin(List.of(x, y), "joined at " + where + " with a tensor that is not prunable");
            } else {
                union(x.set, y.set);
            }
        }
        return a;
    }

    // ---------------------------------------------------------------- result

    private Result result() {
        Map<Integer, ChannelGroup> group = new HashMap<>();
        List<ChannelGroup> groups = new ArrayList<>();
        List<SkippedLayer> skipped = new ArrayList<>();
        for (int i = 0; i < sets.size(); i++) {
            int r = find(i);
            if (r != i) continue;
            Set0 s = sets.get(r);
            if (s.pinned != null) {
                for (ChannelGroup.Member m : s.members) skipped.add(new SkippedLayer(m.conv(), s.pinned));
            } else {
                ChannelGroup cg = new ChannelGroup(s.channels, s.members, s.consumers);
                group.put(r, cg);
                groups.add(cg);
            }
        }
        for (SkippedLayer s : skippedOther) if (skipped.stream().noneMatch(x -> x.path().equals(s.path()))) skipped.add(s);
        Map<String, LayerChannels> out = new LinkedHashMap<>();
        layers.forEach((p, l) -> out.put(p, new LayerChannels(segments(l.in, group), segments(l.out, group))));
        return new Result(List.copyOf(groups), List.copyOf(skipped), java.util.Collections.unmodifiableMap(out));
    }

    private List<Segment> segments(List<Seg> segs, Map<Integer, ChannelGroup> group) {
        if (segs == null) return List.of();
        List<Segment> out = new ArrayList<>();
        for (Seg s : segs) out.add(new Segment(s.set < 0 ? null : group.get(find(s.set)), s.channels, s.unit));
        return List.copyOf(out);
    }
}
