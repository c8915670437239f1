package org.goldenstick.prune;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.goldenstick.nn.BatchNorm2d;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;

/**
 * Soft and hard channel removal for {@link ChannelGroup}s.
 * <ul>
 *   <li>{@link #mask}: zeroes the removed channels in place — BatchNorm γ and β (so the BN output is exactly 0
 *   there), or the conv's filters and bias when there is no BN. Shapes are unchanged.</li>
 *   <li>{@link #remove}: builds smaller Conv2d/BatchNorm2d/Linear modules holding only the kept channels (producer
 *   out-channels, BN statistics, consumer in-channels or in-features) and installs them with
 *   {@link Module#replaceChild}. On a masked network the output is unchanged up to float rounding, because the
 *   removed channels were exactly zero after every producer and so contributed nothing to any consumer.</li>
 * </ul>
 *
 * <pre>{@code
 * var groups = ChannelGraph.analyze(net).groups();
 * Map<ChannelGroup, int[]> keep = ...;           // ascending kept channel indices per group
 * ChannelSurgery.mask(net, keep);
 * ChannelSurgery.remove(net, keep);
 * }</pre>
 */
public final class ChannelSurgery {
    private ChannelSurgery() {}

    /** Zeroes every channel of each group that is not in its {@code keep} list (ascending indices). */
    public static void mask(Module net, Map<ChannelGroup, int[]> keep) {
        for (var e : keep.entrySet()) {
            boolean[] kept = keptFlags(e.getKey(), e.getValue());
            for (ChannelGroup.Member m : e.getKey().members()) {
                if (m.norm() != null) {
                    BatchNorm2d bn = (BatchNorm2d) net.module(m.norm());
                    zeroRows(bn.weight(), kept);
                    zeroRows(bn.bias(), kept);
                } else {
                    Conv2d c = (Conv2d) net.module(m.conv());
                    zeroRows(c.weight(), kept);
                    if (c.hasBias()) zeroRows(c.bias(), kept);
                }
            }
        }
    }

    /** Physically removes every channel of each group not in its {@code keep} list; returns the replaced paths. */
    public static List<String> remove(Module net, Map<ChannelGroup, int[]> keep) {
        Map<String, int[]> convOut = new LinkedHashMap<>(), convIn = new LinkedHashMap<>(), norms = new LinkedHashMap<>(), linearIn = new LinkedHashMap<>();
        for (var e : keep.entrySet()) {
            ChannelGroup g = e.getKey();
            int[] k = e.getValue();
            keptFlags(g, k);
            for (ChannelGroup.Member m : g.members()) {
                convOut.put(m.conv(), k);
                if (m.norm() != null) norms.put(m.norm(), k);
            }
            for (ChannelGroup.Consumer c : g.consumers()) {
                if (net.module(c.path()) instanceof Linear) linearIn.put(c.path(), expand(k, c.unit()));
                else convIn.put(c.path(), k);
            }
        }
        List<String> replaced = new ArrayList<>();
        Random rng = new Random(0);  // only initialises weights that are overwritten right away
        List<String> convs = new ArrayList<>(convOut.keySet());
        for (String p : convIn.keySet()) if (!convOut.containsKey(p)) convs.add(p);
        for (String p : convs) {
            Conv2d c = (Conv2d) net.module(p);
            int[] out = convOut.getOrDefault(p, iota(c.outChannels())), in = convIn.getOrDefault(p, iota(c.inChannels()));
            net.replaceChild(p, sliceConv(c, out, in, rng));
            replaced.add(p);
        }
        for (var e : norms.entrySet()) {
            net.replaceChild(e.getKey(), sliceNorm((BatchNorm2d) net.module(e.getKey()), e.getValue()));
            replaced.add(e.getKey());
        }
        for (var e : linearIn.entrySet()) {
            net.replaceChild(e.getKey(), sliceLinear((Linear) net.module(e.getKey()), e.getValue(), rng));
            replaced.add(e.getKey());
        }
        return replaced;
    }

    static Conv2d sliceConv(Conv2d c, int[] out, int[] in, Random rng) {
        if (c.groups() != 1) throw new IllegalArgumentException("ChannelSurgery: cannot slice grouped conv (groups=" + c.groups() + ")");
        Conv2d n = new Conv2d(in.length, out.length, c.kernelH(), c.kernelW(), c.strideH(), c.strideW(), c.paddingH(), c.paddingW(),
                c.dilationH(), c.dilationW(), 1, c.hasBias(), rng);
        int kk = c.kernelH() * c.kernelW(), cin = c.inChannels();
        float[] src = c.weight().data(), dst = n.weight().data();
        for (int o = 0; o < out.length; o++) {
            for (int i = 0; i < in.length; i++) {
                System.arraycopy(src, (out[o] * cin + in[i]) * kk, dst, (o * in.length + i) * kk, kk);
            }
        }
        if (c.hasBias()) gather(c.bias().data(), out, 1, n.bias().data());
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

    static Linear sliceLinear(Linear l, int[] inFeatures, Random rng) {
        boolean bias = l.bias() != null;
        Linear n = new Linear(inFeatures.length, l.outFeatures(), bias, rng);
        float[] src = l.weight().data(), dst = n.weight().data();
        int in = l.inFeatures();
        for (int o = 0; o < l.outFeatures(); o++) {
            for (int i = 0; i < inFeatures.length; i++) dst[o * inFeatures.length + i] = src[o * in + inFeatures[i]];
        }
        if (bias) System.arraycopy(l.bias().data(), 0, n.bias().data(), 0, l.outFeatures());
        n.train(l.isTraining());
        return n;
    }

    /** Channel indices → feature indices when each channel spans {@code unit} consecutive features (after flatten). */
    static int[] expand(int[] channels, int unit) {
        int[] out = new int[channels.length * unit];
        for (int i = 0; i < channels.length; i++) for (int u = 0; u < unit; u++) out[i * unit + u] = channels[i] * unit + u;
        return out;
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

    private static boolean[] keptFlags(ChannelGroup g, int[] keep) {
        if (keep.length == 0) throw new IllegalArgumentException("ChannelSurgery: group " + g.convPaths() + " would lose all " + g.channels() + " channels");
        boolean[] kept = new boolean[g.channels()];
        int prev = -1;
        for (int k : keep) {
            if (k <= prev || k >= g.channels()) throw new IllegalArgumentException("ChannelSurgery: kept channels of " + g.convPaths() + " must be ascending in [0, " + g.channels() + "), got " + Arrays.toString(keep));
            kept[k] = true;
            prev = k;
        }
        return kept;
    }
}
