package org.goldenstick.prune;

import java.util.List;
import java.util.Map;
import org.goldenstick.nn.Layer;
import org.goldenstick.nn.Module;
import org.goldenstick.rewrite.ApplyOptions;
import org.goldenstick.rewrite.CompAlgo;
import org.goldenstick.rewrite.ConfigException;
import org.goldenstick.rewrite.LayerFilter;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.train.TrainCallback;

/**
 * SCOP phase 1 (upstream {@code PrunerKfCompressAlgo}, spec §7.1): wraps every producing layer of a prunable channel
 * group in a {@link KfLayer} and freezes every parameter except the kfscales. Unlike upstream, which picked convs by
 * ResNet names, the prunable layers come from {@link ChannelGraph}'s analysis of the traced network, so any network of
 * supported layers works (residual additions, concatenations, depthwise convolutions, Linear layers), and layers that
 * cannot be pruned are listed in {@link #skipped()}. The network is traced on the {@code example_input} /
 * {@code input_shape} apply option, or its {@link Module#exampleInputShape()}. Train the result with
 * {@link #callbacks()} (batch doubling).
 *
 * <pre>{@code
 * var kf = new PrunerKfCompressAlgo();
 * Module kfNet = kf.apply(net, ApplyOptions.of(Map.of("input_shape", new int[] {1, 28, 28})));
 * // train kfNet with kf.callbacks() and an optimizer over the parameters that require grad
 * Module pruned = new PrunerFtCompressAlgo(0.45).apply(kfNet);
 * }</pre>
 */
public class PrunerKfCompressAlgo extends CompAlgo {
    private final long seed;
    private final LayerFilter layers;
    private List<SkippedLayer> skipped = List.of();

    public PrunerKfCompressAlgo() {
        this(Map.of());
    }

    /**
     * Upstream has no options; an unknown key is an error. Ours: {@code seed} seeds the knockoff shuffles;
     * {@code skip_layers} (a list of regexes on dotted layer paths) leaves whole every channel group with a matching layer.
     */
    public PrunerKfCompressAlgo(Map<String, ?> config) {
        Map<String, ?> c = config == null ? Map.of() : config;
        for (String k : c.keySet()) {
            if (!k.equals("seed") && !k.equals("skip_layers")) throw new ConfigException("PrunerKfCompressAlgo", k, c.get(k), "no such option (allowed: seed, skip_layers)", ConfigException.Kind.VALUE);
        }
        this.layers = skipLayers("PrunerKfCompressAlgo", c.get("skip_layers"));
        Object s = c.get("seed");
        if (s != null && !(s instanceof Integer || s instanceof Long)) throw new ConfigException("PrunerKfCompressAlgo", "seed", s, "an int", ConfigException.Kind.TYPE);
        this.seed = s == null ? 0L : ((Number) s).longValue();
    }

    @Override
    public Module apply(Module network, ApplyOptions options) {
        if (network == null) throw new IllegalArgumentException("PrunerKfCompressAlgo: network must be a Module, got null");
        ChannelGraph.Result r = ChannelGraph.analyze(trace(network, options), layers);
        skipped = r.skipped();
        for (ChannelGroup g : r.groups()) {
            for (ChannelGroup.Member m : g.members()) network.replaceChild(m.conv(), new KfLayer((Layer) network.module(m.conv())));
        }
        for (Map.Entry<String, Tensor> e : network.namedParameters().entrySet()) e.getValue().requiresGrad(e.getKey().endsWith("kfscale"));
        return network;
    }

    /** The {@code skip_layers} option as a filter; anything but a list of strings is a type error naming {@code owner}. */
    static LayerFilter skipLayers(String owner, Object value) {
        if (value == null) return LayerFilter.all();
        if (!(value instanceof List<?> l) || !l.stream().allMatch(x -> x instanceof String)) {
            throw new ConfigException(owner, "skip_layers", value, "a list of regular expressions", ConfigException.Kind.TYPE);
        }
        return LayerFilter.ignoring(owner, "skip_layers", l.stream().map(String.class::cast).toList());
    }

    /** The producing layers left unwrapped by the last {@link #apply}, with reasons. */
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
