package org.goldenstick.prune;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.goldenstick.nn.AdaptiveAvgPool2d;
import org.goldenstick.nn.AvgPool2d;
import org.goldenstick.nn.BatchNorm2d;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Dropout;
import org.goldenstick.nn.Flatten;
import org.goldenstick.nn.Identity;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.MaxPool2d;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.ReLU;
import org.goldenstick.nn.ReLU6;
import org.goldenstick.nn.Sequential;
import org.goldenstick.nn.models.BasicBlock;
import org.goldenstick.nn.models.LeNet5;
import org.goldenstick.nn.models.ResNet;

/**
 * Channel dependency analysis over a module tree: which convolutions' output channels can be removed, and what
 * else must change with them. It follows the data flow of modules whose forward pass is known — containers that
 * run their children in order ({@link Sequential}, {@link ResNet}, {@link LeNet5}), {@link BasicBlock} (main
 * branch plus shortcut, added), conv, BatchNorm, channel-wise activations/pooling, flatten and linear — and
 * unions the channel sets that a residual addition ties together. A channel set is <em>pinned</em> (not
 * prunable) when it reaches the network output, feeds a module whose data flow is unknown, is read by a layer
 * that does not index it by channel, or comes from a grouped convolution; its convolutions are then listed in
 * {@link Result#skipped()}.
 *
 * <pre>{@code
 * ChannelGraph.Result r = ChannelGraph.analyze(ResNet.resnet20(1, 10, 16, new Random(0)));
 * r.groups();   // 3 residual groups (stem + layer1 conv2s, ...) and 9 conv1 groups
 * r.skipped();  // empty for ResNet
 * }</pre>
 */
public final class ChannelGraph {
    /** Prunable groups in network order, and the convolutions that were left alone. */
    public record Result(List<ChannelGroup> groups, List<SkippedLayer> skipped) {}

    private static final class Node {
        final int channels;
        final List<ChannelGroup.Member> members = new ArrayList<>();
        final List<ChannelGroup.Consumer> consumers = new ArrayList<>();
        String pinned;

        Node(int channels) {
            this.channels = channels;
        }
    }

    /** Where the data flow stands: the channel set of the current tensor (-1: not prunable), flattened or not, and the conv whose output has not been normalised yet. */
    private record State(int node, boolean flattened, String pendingConv) {
        static final State NONE = new State(-1, false, null);
    }

    private final List<Node> nodes = new ArrayList<>();
    private final List<Integer> parent = new ArrayList<>();
    private final List<SkippedLayer> skippedInside = new ArrayList<>();

    private ChannelGraph() {}

    /** Analyses {@code network} (not modified). */
    public static Result analyze(Module network) {
        ChannelGraph g = new ChannelGraph();
        State out = g.trace(network, "", State.NONE);
        g.pin(out, "feeds the network output");
        return g.result();
    }

    private int find(int i) {
        while (parent.get(i) != i) {
            parent.set(i, parent.get(parent.get(i)));
            i = parent.get(i);
        }
        return i;
    }

    private int newNode(int channels) {
        nodes.add(new Node(channels));
        parent.add(nodes.size() - 1);
        return nodes.size() - 1;
    }

    private void union(int a, int b, String where) {
        a = find(a);
        b = find(b);
        if (a == b) return;
        if (b < a) {  // the earlier node stays the root, so members and groups keep network order
            int t = a;
            a = b;
            b = t;
        }
        Node na = nodes.get(a), nb = nodes.get(b);
        if (na.channels != nb.channels) throw new IllegalStateException("ChannelGraph: addition at " + where + " of " + na.channels + " and " + nb.channels + " channels");
        parent.set(b, a);
        na.members.addAll(nb.members);
        na.consumers.addAll(nb.consumers);
        if (na.pinned == null) na.pinned = nb.pinned;
    }

    private Node node(State s) {
        return s.node < 0 ? null : nodes.get(find(s.node));
    }

    private void pin(State s, String reason) {
        Node n = node(s);
        if (n != null && n.pinned == null) n.pinned = reason;
    }

    private static String join(String prefix, String name) {
        if (name.isEmpty()) return prefix;
        return prefix.isEmpty() ? name : prefix + "." + name;
    }

    private State trace(Module m, String path, State in) {
        return switch (m) {
            case Conv2d c -> conv(c, path, in);
            case BatchNorm2d bn -> {
                Node n = node(in);
                if (n == null) yield State.NONE;
                if (in.pendingConv != null && bn.numFeatures() == n.channels) {
                    for (int i = 0; i < n.members.size(); i++) {
                        ChannelGroup.Member mem = n.members.get(i);
                        if (mem.conv().equals(in.pendingConv) && mem.norm() == null) n.members.set(i, new ChannelGroup.Member(mem.conv(), path));
                    }
                } else {
                    pin(in, "BatchNorm " + path + " is not right after its convolution");
                }
                yield new State(in.node, in.flattened, null);
            }
            case ReLU r -> new State(in.node, in.flattened, null);
            case ReLU6 r -> new State(in.node, in.flattened, null);
            case MaxPool2d p -> new State(in.node, in.flattened, null);
            case AvgPool2d p -> new State(in.node, in.flattened, null);
            case AdaptiveAvgPool2d p -> new State(in.node, in.flattened, null);
            case Dropout d -> new State(in.node, in.flattened, null);
            case Identity i -> in;
            case Flatten f -> new State(in.node, true, null);
            case Linear l -> {
                Node n = node(in);
                if (n != null) {
                    if (!in.flattened) pin(in, "read by Linear " + path + " along a non-channel axis");
                    else if (l.inFeatures() % n.channels != 0) pin(in, "Linear " + path + " in_features " + l.inFeatures() + " is not a multiple of " + n.channels + " channels");
                    else n.consumers.add(new ChannelGroup.Consumer(path, l.inFeatures() / n.channels));
                }
                yield State.NONE;
            }
            case BasicBlock b -> {
                State main = trace(b.children().get("conv1"), join(path, "conv1"), in);
                main = trace(b.children().get("bn1"), join(path, "bn1"), main);
                main = trace(b.children().get("relu"), join(path, "relu"), main);
                main = trace(b.children().get("conv2"), join(path, "conv2"), main);
                main = trace(b.children().get("bn2"), join(path, "bn2"), main);
                State shortcut = trace(b.children().get("shortcut"), join(path, "shortcut"), in);
                if (main.node < 0 || shortcut.node < 0) {
                    pin(main, "added to a non-prunable tensor in " + path);
                    pin(shortcut, "added to a non-prunable tensor in " + path);
                    yield State.NONE;
                }
                union(main.node, shortcut.node, path);
                yield new State(main.node, false, null);
            }
            case Sequential s -> inOrder(m, path, in);
            case ResNet r -> inOrder(m, path, in);
            case LeNet5 l -> inOrder(m, path, in);
            default -> unknown(m, path, in);
        };
    }

    private State inOrder(Module m, String path, State in) {
        State s = in;
        for (Map.Entry<String, Module> e : m.children().entrySet()) s = trace(e.getValue(), join(path, e.getKey()), s);
        return s;
    }

    private State conv(Conv2d c, String path, State in) {
        Node n = node(in);
        if (n != null) {
            if (in.flattened) pin(in, "flattened into Conv2d " + path);
            else if (c.groups() != 1) pin(in, "read by grouped Conv2d " + path);
            else n.consumers.add(new ChannelGroup.Consumer(path, 1));
        }
        int id = newNode(c.outChannels());
        nodes.get(id).members.add(new ChannelGroup.Member(path, null));
        State out = new State(id, false, path);
        if (c.groups() != 1) pin(out, "grouped convolution (groups=" + c.groups() + ")");
        return out;
    }

    private State unknown(Module m, String path, State in) {
        pin(in, "feeds " + m.getClass().getSimpleName() + " " + (path.isEmpty() ? "(root)" : path) + " whose data flow is unknown");
        for (Map.Entry<String, Module> e : m.namedModules().entrySet()) {
            if (e.getValue() instanceof Conv2d) {
                skippedInside.add(new SkippedLayer(join(path, e.getKey()), "inside " + m.getClass().getSimpleName() + " whose data flow is unknown"));
            }
        }
        return State.NONE;
    }

    private Result result() {
        Map<Integer, Node> roots = new LinkedHashMap<>();
        for (int i = 0; i < nodes.size(); i++) roots.putIfAbsent(find(i), nodes.get(find(i)));
        List<ChannelGroup> groups = new ArrayList<>();
        List<SkippedLayer> skipped = new ArrayList<>();
        for (Node n : roots.values()) {
            if (n.pinned != null) {
                for (ChannelGroup.Member mem : n.members) skipped.add(new SkippedLayer(mem.conv(), n.pinned));
            } else {
                groups.add(new ChannelGroup(n.channels, n.members, n.consumers));
            }
        }
        skipped.addAll(skippedInside);
        return new Result(List.copyOf(groups), List.copyOf(skipped));
    }
}
