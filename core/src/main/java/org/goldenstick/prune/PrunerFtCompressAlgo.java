package org.goldenstick.prune;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.goldenstick.nn.BatchNorm2d;
import org.goldenstick.nn.Module;
import org.goldenstick.rewrite.ApplyOptions;
import org.goldenstick.rewrite.CompAlgo;
import org.goldenstick.rewrite.ConfigValidation;
import org.goldenstick.rewrite.LayerFilter;
import org.goldenstick.tensor.Tensor;

/**
 * SCOP phase 2 (upstream {@code PrunerFtCompressAlgo}, spec §7.2): scores channels, removes the lowest
 * {@code int(prune_rate·C)} per channel group and returns a physically smaller network to fine-tune.
 * <ol>
 *   <li>Each {@link KfLayer} is unwrapped (the layer back in place), all parameters trainable again; the network is
 *   traced ({@code example_input} / {@code input_shape} apply option, or {@link Module#exampleInputShape()}) and
 *   analysed by {@link ChannelGraph}.</li>
 *   <li>Score of channel c of a producer: {@code |γ_c|·(2·kfscale_c − 1)} (upstream's
 *   {@code |γ|·(kfscale − (1 − kfscale))}: BN scale times how much the loss preferred real over knockoff
 *   features). A producer without BatchNorm right after it uses its mean absolute filter (row) weight in place of
 *   |γ|; one that was not knockoff-trained uses kfscale = 1. A tied group sums its members' scores per channel.</li>
 *   <li>Ascending argsort; the first {@code int(prune_rate·C)} channels go (at least one channel always stays).</li>
 *   <li>The masked network (every weight producing a removed channel zeroed) is built, then the channels are removed
 *   for real by {@link ChannelSurgery#remove}: filters, BN statistics, depthwise filters, consumer in-channels /
 *   Linear in-features.</li>
 * </ol>
 * Upstream stops at the masked network; ours is genuinely smaller.
 *
 * <pre>{@code
 * Module pruned = new PrunerFtCompressAlgo(0.45).apply(kfNet);   // then fine-tune as usual
 * }</pre>
 */
public class PrunerFtCompressAlgo extends CompAlgo {
    private static final ConfigValidation CHECK = new ConfigValidation("PrunerFtCompressAlgo");
    private double pruneRate;
    private LayerFilter layers = LayerFilter.all();
    private List<LayerPruning> report = List.of();
    private List<SkippedLayer> skipped = List.of();
    private ChannelGraph.Result analysis;

    /** What happened to one channel group: its convs, channels before and kept channel indices. */
    public record LayerPruning(List<String> convs, int channelsBefore, int[] kept) {
        public int channelsAfter() {
            return kept.length;
        }

        @Override
        public String toString() {
            return String.join("+", convs) + ": " + channelsBefore + " -> " + kept.length;
        }
    }

    public PrunerFtCompressAlgo(double pruneRate) {
        this(Map.of("prune_rate", pruneRate));
    }

    /**
     * Config keys: {@code prune_rate} (float in [0, 1), default 0.0); ours: {@code skip_layers} (regexes on dotted layer
     * paths; channel groups with a matching layer keep every channel).
     */
    public PrunerFtCompressAlgo(Map<String, ?> config) {
        Map<String, ?> c = config == null ? Map.of() : config;
        for (String k : c.keySet()) {
            if (!k.equals("prune_rate") && !k.equals("skip_layers")) throw CHECK.valueError(k, c.get(k), "no such option (allowed: prune_rate, skip_layers)");
        }
        layers = PrunerKfCompressAlgo.skipLayers("PrunerFtCompressAlgo", c.get("skip_layers"));
        setPruneRate(c.containsKey("prune_rate") ? c.get("prune_rate") : 0.0);
    }

    /** Upstream {@code set_prune_rate}: a float in [0.0, 1.0); an int such as 1 is a type error. */
    public void setPruneRate(Object pruneRate) {
        this.pruneRate = CHECK.floatInRange("prune_rate", pruneRate == null ? 0.0 : pruneRate, 0.0, 1.0, false);
    }

    public double pruneRate() {
        return pruneRate;
    }

    /** Per channel group, channels before and kept, from the last {@link #apply}. */
    public List<LayerPruning> report() {
        return report;
    }

    /** Convolutions the last {@link #apply} could not prune, with reasons. */
    public List<SkippedLayer> skipped() {
        return skipped;
    }

    @Override
    public Module apply(Module network, ApplyOptions options) {
        Map<ChannelGroup, int[]> keep = select(network, options);
        ChannelSurgery.mask(network, analysis, keep);
        ChannelSurgery.remove(network, analysis, keep);
        return network;
    }

    /** The channel analysis of the last {@link #select} (what {@link ChannelSurgery} needs to mask or remove). */
    public ChannelGraph.Result analysis() {
        return analysis;
    }

    /**
     * Steps 1–3 only: unwraps knockoff layers, makes parameters trainable and returns the kept channels (ascending)
     * per group, without changing any weight. {@link #apply} then masks and removes.
     */
    public Map<ChannelGroup, int[]> select(Module network, ApplyOptions options) {
        if (network == null) throw new IllegalArgumentException("PrunerFtCompressAlgo: network must be a Module, got null");
        Map<String, float[]> kfscales = unwrap(network);
        for (Tensor p : network.parameters()) p.requiresGrad(true);
        ChannelGraph.Result r = ChannelGraph.analyze(trace(network, options), layers);
        analysis = r;
        skipped = r.skipped();
        Map<ChannelGroup, int[]> keep = new LinkedHashMap<>();
        List<LayerPruning> rep = new ArrayList<>();
        for (ChannelGroup g : r.groups()) {
            double[] score = scores(network, g, kfscales);
            int pruned = Math.min((int) (pruneRate * g.channels()), g.channels() - 1);
            Integer[] order = new Integer[g.channels()];
            for (int i = 0; i < order.length; i++) order[i] = i;
            Arrays.sort(order, (a, b) -> Double.compare(score[a], score[b]));  // stable: ties keep channel order
            int[] kept = new int[g.channels() - pruned];
            for (int i = pruned; i < order.length; i++) kept[i - pruned] = order[i];
            Arrays.sort(kept);
            keep.put(g, kept);
            rep.add(new LayerPruning(g.convPaths(), g.channels(), kept));
        }
        report = List.copyOf(rep);
        return keep;
    }

    /** Channel scores of a group: the sum over its members of importance × (2·kfscale − 1). */
    static double[] scores(Module net, ChannelGroup g, Map<String, float[]> kfscales) {
        double[] s = new double[g.channels()];
        for (ChannelGroup.Member m : g.members()) {
            float[] k = kfscales.get(m.conv());
            double[] importance = new double[g.channels()];
            if (m.norm() != null) {
                float[] gamma = ((BatchNorm2d) net.module(m.norm())).weight().data();
                for (int c = 0; c < importance.length; c++) importance[c] = Math.abs(gamma[c]);
            } else {
                float[] w = net.module(m.conv()).parameter("weight").data();
                int per = w.length / importance.length;
                for (int c = 0; c < importance.length; c++) {
                    double a = 0;
                    for (int i = 0; i < per; i++) a += Math.abs(w[c * per + i]);
                    importance[c] = a / per;
                }
            }
            for (int c = 0; c < s.length; c++) s[c] += importance[c] * (k == null ? 1.0 : 2.0 * k[c] - 1.0);
        }
        return s;
    }

    /** Replaces every KfLayer by the layer it wraps; returns kfscale per layer path. */
    static Map<String, float[]> unwrap(Module network) {
        Map<String, float[]> out = new HashMap<>();
        for (Map.Entry<String, Module> e : network.namedModules().entrySet()) {
            if (!(e.getValue() instanceof KfLayer kf)) continue;
            out.put(e.getKey(), kf.kfscale().data().clone());
            network.replaceChild(e.getKey(), kf.layer());
        }
        return out;
    }
}
