package org.goldenstick.prune;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.goldenstick.nn.BatchNorm2d;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;

/**
 * Soft and hard channel removal for the groups of a {@link ChannelGraph.Result}.
 * <ul>
 *   <li>{@link #mask}: zeroes, in place, every weight that produces a removed channel — the producing layer's filters
 *   (rows) and bias, BatchNorm γ and β, a depthwise convolution's filters and bias — so every removed channel is
 *   exactly 0 after each of these layers and stays 0 through the zero-keeping layers between them. Shapes are
 *   unchanged (upstream's end point).</li>
 *   <li>{@link #remove}: builds smaller Conv2d (ungrouped or depthwise) / BatchNorm2d / Linear modules holding only the
 *   kept channels on both sides and installs them with {@link Module#replaceChild}. On a masked network the output is
 *   unchanged up to float rounding: the removed channels were zero after every producer, so they contributed nothing to
 *   any consumer.</li>
 * </ul>
 *
 * <pre>{@code
 * ChannelGraph.Result r = ChannelGraph.analyze(ModelGraph.trace(net, sampleShape));
 * Map<ChannelGroup, int[]> keep = ...;           // ascending kept channel indices per group
 * ChannelSurgery.mask(net, r, keep);
 * ChannelSurgery.remove(net, r, keep);
 * }</pre>
 */
public final class ChannelSurgery {
    private ChannelSurgery() {}

    /** Zeroes every channel of each group that is not in its {@code keep} list (ascending indices). */
    public static void mask(Module net, ChannelGraph.Result r, Map<ChannelGroup, int[]> keep) {
        check(keep);
        for (var e : r.layers().entrySet()) {
            int[] out = kept(e.getValue().out(), keep);
            if (out == null) continue;
            boolean[] flags = new boolean[total(e.getValue().out())];
            for (int k : out) flags[k] = true;
            for (String name : List.of("weight", "bias")) {
                Tensor t = net.module(e.getKey()).parameter(name);
                if (t != null) zeroRows(t, flags);
            }
        }
    }

    /** Physically removes every channel of each group not in its {@code keep} list; returns the replaced paths. */
    public static List<String> remove(Module net, ChannelGraph.Result r, Map<ChannelGroup, int[]> keep) {
        check(keep);
        List<String> replaced = new ArrayList<>();
        Random rng = new Random(0);  // only initialises weights that are overwritten right away
        for (var e : r.layers().entrySet()) {
            ChannelGraph.LayerChannels lc = e.getValue();
            int[] in = kept(lc.in(), keep), out = kept(lc.out(), keep);
            if (in == null && out == null) continue;
            Module m = net.module(e.getKey());
            if (in == null) in = iota(total(lc.in()));
            if (out == null) out = iota(total(lc.out()));
            Module smaller = switch (m) {
                case Conv2d c when c.groups() == 1 -> sliceConv(c, out, in, rng);
                case Conv2d c -> sliceDepthwise(c, out, rng);
                case BatchNorm2d b -> sliceNorm(b, out);
                case Linear l -> sliceLinear(l, out, in, rng);
                default -> throw new IllegalStateException("ChannelSurgery: cannot slice " + m.getClass().getSimpleName() + " at " + e.getKey());
            };
            net.replaceChild(e.getKey(), smaller);
            replaced.add(e.getKey());
        }
        return replaced;
    }

    /** The kept indices along the segments (channels, or features of {@code unit} per channel), or null when all are kept. */
    static int[] kept(List<ChannelGraph.Segment> segs, Map<ChannelGroup, int[]> keep) {
        boolean all = true;
        for (ChannelGraph.Segment s : segs) all &= s.group() == null || !keep.containsKey(s.group());
        if (all) return null;
        List<Integer> idx = new ArrayList<>();
        int offset = 0;
        for (ChannelGraph.Segment s : segs) {
            int[] k = s.group() == null || !keep.containsKey(s.group()) ? iota(s.channels()) : keep.get(s.group());
            for (int c : k) for (int u = 0; u < s.unit(); u++) idx.add(offset + c * s.unit() + u);
            offset += s.channels() * s.unit();
        }
        return idx.stream().mapToInt(Integer::intValue).toArray();
    }

    private static int total(List<ChannelGraph.Segment> segs) {
        int n = 0;
        for (ChannelGraph.Segment s : segs) n += s.channels() * s.unit();
        return n;
    }

    static Conv2d sliceConv(Conv2d c, int[] out, int[] in, Random rng) {
        Conv2d n = new Conv2d(in.length, out.length, c.kernelH(), c.kernelW(), c.strideH(), c.strideW(), c.paddingH(), c.paddingW(),
                c.dilationH(), c.dilationW(), 1, c.hasBias(), rng);
        int kk = c.kernelH() * c.kernelW(), cin = c.inChannels();
        float[] src = c.weight().data(), dst = n.weight().data();
        for (int o = 0; o < out.length; o++) {
            for (int i = 0; i < in.length; i++) System.arraycopy(src, (out[o] * cin + in[i]) * kk, dst, (o * in.length + i) * kk, kk);
        }
        if (c.hasBias()) gather(c.bias().data(), out, 1, n.bias().data());
        n.train(c.isTraining());
        return n;
    }

    /** A depthwise convolution keeps channel {@code c} ⇔ its filter {@code c}; groups follow the channel count. */
    static Conv2d sliceDepthwise(Conv2d c, int[] keep, Random rng) {
        if (c.groups() != c.inChannels() || c.outChannels() != c.inChannels()) {
            throw new IllegalArgumentException("ChannelSurgery: cannot slice grouped conv (groups=" + c.groups() + ", in=" + c.inChannels() + ", out=" + c.outChannels() + ")");
        }
        Conv2d n = new Conv2d(keep.length, keep.length, c.kernelH(), c.kernelW(), c.strideH(), c.strideW(), c.paddingH(), c.paddingW(),
                c.dilationH(), c.dilationW(), keep.length, c.hasBias(), rng);
        gather(c.weight().data(), keep, c.kernelH() * c.kernelW(), n.weight().data());
        if (c.hasBias()) gather(c.bias().data(), keep, 1, n.bias().data());
        n.train(c.isTraining());
        return n;
    }

    static BatchNorm2d sliceNorm(BatchNorm2d b, int[] keep) {
        BatchNorm2d n = new BatchNorm2d(keep.length, b.momentum(), b.eps());
        gather(b.weight().data(), keep, 1, n.weight().data());
        gather(b.bias().data(), keep, 1, n.bias().data());
        gather(b.runningMean().data(), keep, 1, n.runningMean().data());
        gather(b.runningVar().data(), keep, 1, n.runningVar().data());
        n.train(b.isTraining());
        return n;
    }

    static Linear sliceLinear(Linear l, int[] outFeatures, int[] inFeatures, Random rng) {
        boolean bias = l.bias() != null;
        Linear n = new Linear(inFeatures.length, outFeatures.length, bias, rng);
        float[] src = l.weight().data(), dst = n.weight().data();
        int in = l.inFeatures();
        for (int o = 0; o < outFeatures.length; o++) {
            for (int i = 0; i < inFeatures.length; i++) dst[o * inFeatures.length + i] = src[outFeatures[o] * in + inFeatures[i]];
        }
        if (bias) gather(l.bias().data(), outFeatures, 1, n.bias().data());
        n.train(l.isTraining());
        return n;
    }

    private static void gather(float[] src, int[] rows, int rowLen, float[] dst) {
        for (int i = 0; i < rows.length; i++) System.arraycopy(src, rows[i] * rowLen, dst, i * rowLen, rowLen);
    }

    private static int[] iota(int n) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) a[i] = i;
        return a;
    }

    private static void zeroRows(Tensor t, boolean[] kept) {
        float[] d = t.data();
        int row = d.length / kept.length;
        for (int c = 0; c < kept.length; c++) if (!kept[c]) Arrays.fill(d, c * row, (c + 1) * row, 0f);
    }

    private static void check(Map<ChannelGroup, int[]> keep) {
        for (var e : keep.entrySet()) {
            ChannelGroup g = e.getKey();
            int[] k = e.getValue();
            if (k.length == 0) throw new IllegalArgumentException("ChannelSurgery: group " + g.convPaths() + " would lose all " + g.channels() + " channels");
            int prev = -1;
            for (int c : k) {
                if (c <= prev || c >= g.channels()) {
                    throw new IllegalArgumentException("ChannelSurgery: kept channels of " + g.convPaths() + " must be ascending in [0, " + g.channels() + "), got " + Arrays.toString(k));
                }
                prev = c;
            }
        }
    }
}
