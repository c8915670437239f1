package org.goldenstick.prune;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.GradMode;
import org.goldenstick.tensor.Tensor;

/**
 * Parameter count and multiply-adds (MACs) of a network for one input sample, per Conv2d/Linear layer and in
 * total. MACs count only convolutions ({@code C_out·H_out·W_out·(C_in/groups)·kH·kW}) and linear layers
 * ({@code in·out} per row); BatchNorm, activations, pooling and additions are not counted (they are a few
 * percent of a ResNet's work). Spatial sizes come from one real forward pass of a zero sample.
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

    /** Measures {@code network} on a single sample of shape {@code sampleShape} (no batch axis). */
    public static ModelStats measure(Module network, int... sampleShape) {
        Map<String, Module> targets = new LinkedHashMap<>();
        network.namedModules().forEach((p, m) -> {
            if (!p.isEmpty() && (m instanceof Conv2d || m instanceof Linear)) targets.put(p, m);
        });
        Map<String, long[]> macs = new LinkedHashMap<>();
        boolean training = network.isTraining();
        targets.forEach((p, m) -> network.replaceChild(p, new Probe(m, p, macs)));
        try (GradMode.Scope g = GradMode.off()) {
            network.eval();
            int[] shape = new int[sampleShape.length + 1];
            shape[0] = 1;
            System.arraycopy(sampleShape, 0, shape, 1, sampleShape.length);
            network.forward(Tensor.zeros(shape));
        } finally {
            targets.forEach(network::replaceChild);
            network.train(training);
        }
        List<Layer> layers = new ArrayList<>();
        long total = 0;
        for (var e : targets.entrySet()) {
            Module m = e.getValue();
            long own = 0;
            for (Tensor t : m.parameters()) own += t.data().length;
            long mac = macs.containsKey(e.getKey()) ? macs.get(e.getKey())[0] : 0;
            total += mac;
            layers.add(new Layer(e.getKey(), m instanceof Conv2d ? "conv" : "linear", own, mac));
        }
        return new ModelStats(network.parameterCount(), total, layers);
    }

    /** Megabytes of float32 parameters. */
    public double megabytes() {
        return params * 4.0 / 1e6;
    }

    private static final class Probe extends Module {
        private final Module inner;
        private final String path;
        private final Map<String, long[]> macs;

        Probe(Module inner, String path, Map<String, long[]> macs) {
            this.inner = inner;
            this.path = path;
            this.macs = macs;
        }

        @Override
        public Tensor forward(Tensor x) {
            Tensor y = inner.forward(x);
            int[] s = y.shape();
            long mac;
            if (inner instanceof Conv2d c) {
                mac = (long) s[1] * s[2] * s[3] * (c.inChannels() / c.groups()) * c.kernelH() * c.kernelW();
            } else {
                Linear l = (Linear) inner;
                long rows = y.data().length / l.outFeatures();
                mac = rows * l.inFeatures() * l.outFeatures();
            }
            macs.computeIfAbsent(path, k -> new long[1])[0] += mac;
            return y;
        }
    }
}
