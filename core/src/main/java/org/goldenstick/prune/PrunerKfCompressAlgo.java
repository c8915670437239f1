package org.goldenstick.prune;

import java.util.List;
import java.util.Map;
import org.goldenstick.nn.BatchNorm2d;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Identity;
import org.goldenstick.nn.Module;
import org.goldenstick.rewrite.ApplyOptions;
import org.goldenstick.rewrite.CompAlgo;
import org.goldenstick.rewrite.ConfigException;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.train.TrainCallback;

/**
 * SCOP phase 1 (upstream {@code PrunerKfCompressAlgo}, spec §7.1): wraps every prunable conv (with its BatchNorm)
 * in a {@link KfConv2d} and freezes every parameter except the kfscales. Unlike upstream, which picked convs by
 * ResNet names, the prunable convs come from {@link ChannelGraph}'s dependency analysis, so the stem and
 * projection shortcuts are included when their residual group can be pruned consistently; convs that cannot be
 * pruned are listed in {@link #skipped()}. Train the result with {@link #callbacks()} (batch doubling).
 *
 * <pre>{@code
 * var kf = new PrunerKfCompressAlgo();
 * Module kfNet = kf.apply(net);
 * // train kfNet with kf.callbacks() and an optimizer over the parameters that require grad
 * Module pruned = new PrunerFtCompressAlgo(0.45).apply(kfNet);
 * }</pre>
 */
public class PrunerKfCompressAlgo extends CompAlgo {
    private final long seed;
    private List<SkippedLayer> skipped = List.of();

    public PrunerKfCompressAlgo() {
        this(Map.of());
    }

    /** Upstream has no options; an unknown key is an error. {@code seed} (ours) seeds the knockoff shuffles. */
    public PrunerKfCompressAlgo(Map<String, ?> config) {
        Map<String, ?> c = config == null ? Map.of() : config;
        for (String k : c.keySet()) {
            if (!k.equals("seed")) throw new ConfigException("PrunerKfCompressAlgo", k, c.get(k), "no such option (allowed: seed)", ConfigException.Kind.VALUE);
        }
        Object s = c.get("seed");
        if (s != null && !(s instanceof Integer || s instanceof Long)) throw new ConfigException("PrunerKfCompressAlgo", "seed", s, "an int", ConfigException.Kind.TYPE);
        this.seed = s == null ? 0L : ((Number) s).longValue();
    }

    @Override
    public Module apply(Module network, ApplyOptions options) {
        if (network == null) throw new IllegalArgumentException("PrunerKfCompressAlgo: network must be a Module, got null");
        ChannelGraph.Result r = ChannelGraph.analyze(network);
        skipped = r.skipped();
        for (ChannelGroup g : r.groups()) {
            for (ChannelGroup.Member m : g.members()) {
                Conv2d conv = (Conv2d) network.module(m.conv());
                BatchNorm2d bn = m.norm() == null ? null : (BatchNorm2d) network.module(m.norm());
                network.replaceChild(m.conv(), new KfConv2d(conv, bn, m.norm()));
                if (m.norm() != null) network.replaceChild(m.norm(), new Identity());
            }
        }
        for (Map.Entry<String, Tensor> e : network.namedParameters().entrySet()) e.getValue().requiresGrad(e.getKey().endsWith("kfscale"));
        return network;
    }

    /** The convolutions left unwrapped by the last {@link #apply}, with reasons. */
    public List<SkippedLayer> skipped() {
        return skipped;
    }

    @Override
    public List<TrainCallback> callbacks() {
        List<TrainCallback> out = new java.util.ArrayList<>();
        out.add(new KnockoffCallback(seed));
        out.addAll(super.callbacks());
        return out;
    }
}
