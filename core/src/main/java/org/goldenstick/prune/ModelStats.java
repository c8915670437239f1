package org.goldenstick.prune;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.goldenstick.graph.ModelGraph;
import org.goldenstick.graph.Node;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;

/**
 * Parameter count and multiply-adds (MACs) of a network for one input sample, per Conv2d/Linear layer and in
 * total. MACs count only convolutions ({@code C_out·H_out·W_out·(C_in/groups)·kH·kW}) and linear layers
 * ({@code in·out} per row); BatchNorm, activations, pooling and additions are not counted (they are a few
 * percent of a ResNet's work). Spatial sizes come from the network's graph traced on one sample; a layer called twice
 * counts twice.
 *
 * <pre>{@code
 * ModelStats s = ModelStats.measure(net, 1, 28, 28);
 * System.out.println(s.params() + " params, " + s.macs() + " MACs");
 * }</pre>
 */
public record ModelStats(long params, long macs, List<Layer> layers) {
    public ModelStats {
        layers = List.copyOf(layers);
    }

    /** One Conv2d/Linear layer: its path, own parameters and MACs. */
    public record Layer(String path, String kind, long params, long macs) {}

    /** Measures {@code network} on a single sample of shape {@code sampleShape} (no batch axis), from its traced graph. */
    public static ModelStats measure(Module network, int... sampleShape) {
        Map<String, Long> macs = new LinkedHashMap<>();
        for (Node n : ModelGraph.trace(network, sampleShape).nodes()) {
            if (!n.isLayer()) continue;
            int[] s = n.shape();
            long mac = switch (n.layer()) {
                case Conv2d c -> (long) s[1] * s[2] * s[3] * (c.inChannels() / c.groups()) * c.kernelH() * c.kernelW();
                case Linear l -> numel(s) / l.outFeatures() * l.inFeatures() * l.outFeatures();
                default -> -1;
            };
            if (mac >= 0) macs.merge(n.path(), mac, Long::sum);
        }
        List<Layer> layers = new ArrayList<>();
        long total = 0;
        for (var e : network.namedModules().entrySet()) {
            Module m = e.getValue();
            if (e.getKey().isEmpty() || !(m instanceof Conv2d || m instanceof Linear)) continue;
            long own = 0;
            for (Tensor t : m.parameters()) own += t.data().length;
            long mac = macs.getOrDefault(e.getKey(), 0L);
            total += mac;
            layers.add(new Layer(e.getKey(), m instanceof Conv2d ? "conv" : "linear", own, mac));
        }
        return new ModelStats(network.parameterCount(), total, layers);
    }

    private static long numel(int[] s) {
        long n = 1;
        for (int d : s) n *= d;
        return n;
    }

    /** Megabytes of float32 parameters. */
    public double megabytes() {
        return params * 4.0 / 1e6;
    }
}
