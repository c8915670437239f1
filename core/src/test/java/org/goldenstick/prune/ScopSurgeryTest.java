package org.goldenstick.prune;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.goldenstick.nn.BatchNorm2d;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.Sequential;
import org.goldenstick.nn.models.LeNet5;
import org.goldenstick.nn.models.ResNet;
import org.goldenstick.graph.ModelGraph;
import org.goldenstick.rewrite.ApplyOptions;
import org.goldenstick.rewrite.ConfigException;
import org.goldenstick.tensor.GradMode;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ScopSurgeryTest {
    /** Random BN statistics and kfscales, so scores differ per channel and BN is not the identity. */
    private static void randomize(Module net, Random rng) {
        for (Module m : net.namedModules().values()) {
            if (m instanceof BatchNorm2d bn) {
                for (Tensor t : List.of(bn.weight(), bn.bias(), bn.runningMean())) {
                    float[] d = t.data();
                    for (int i = 0; i < d.length; i++) d[i] = (float) rng.nextGaussian();
                }
                float[] v = bn.runningVar().data();
                for (int i = 0; i < v.length; i++) v[i] = 0.5f + rng.nextFloat();
            }
            if (m instanceof KfLayer kf) {
                float[] d = kf.kfscale().data();
                for (int i = 0; i < d.length; i++) d[i] = rng.nextFloat();
            }
        }
    }

    private static Tensor run(Module net, Tensor x) {
        net.eval();
        try (GradMode.Scope g = GradMode.off()) {
            return net.forward(x);
        }
    }

    private static void assertClose(Tensor a, Tensor b, double tol) {
        assertArrayEquals(a.shape(), b.shape());
        for (int i = 0; i < a.data().length; i++) {
            assertEquals(a.data()[i], b.data()[i], tol * (1 + Math.abs(a.data()[i])), "element " + i);
        }
    }

    /** Masked (soft) vs removed (hard) outputs must agree; returns the pruned network. */
    static ApplyOptions shapeOf(Tensor x) {
        return ApplyOptions.of(Map.of("input_shape", java.util.Arrays.copyOfRange(x.shape(), 1, x.rank())));
    }

    static Module maskedEqualsRemoved(Module net, double rate, Tensor x) {
        PrunerKfCompressAlgo kf = new PrunerKfCompressAlgo();
        Module kfNet = kf.apply(net, shapeOf(x));
        randomize(kfNet, new Random(3));
        Tensor dense = run(kfNet, x);
        PrunerFtCompressAlgo ft = new PrunerFtCompressAlgo(rate);
        Map<ChannelGroup, int[]> keep = ft.select(kfNet, shapeOf(x));
        // unwrapping alone does not change the function
        assertClose(dense, run(kfNet, x), 1e-6);
        ChannelSurgery.mask(kfNet, ft.analysis(), keep);
        Tensor masked = run(kfNet, x);
        long before = kfNet.parameterCount();
        ChannelSurgery.remove(kfNet, ft.analysis(), keep);
        Tensor removed = run(kfNet, x);
        assertClose(masked, removed, 1e-4);
        assertTrue(kfNet.parameterCount() < before, "parameters must shrink");
        // masking must actually matter, otherwise the comparison proves nothing
        double diff = 0;
        for (int i = 0; i < dense.data().length; i++) diff = Math.max(diff, Math.abs(dense.data()[i] - masked.data()[i]));
        assertTrue(diff > 1e-3, "masking changed nothing");
        return kfNet;
    }

    @Test
    void resnet8RemovalEqualsMaskIncludingResidualGroups() {
        ResNet net = ResNet.resnet8(1, 10, 8, new Random(1));
        ChannelGraph.Result r = ChannelGraph.analyze(ModelGraph.trace(net, new int[] {1, 12, 12}));
        assertEquals(List.of(new SkippedLayer("fc", "feeds the network output")), r.skipped());
        // 3 residual groups + one conv1 group per block
        assertEquals(3 + 3, r.groups().size());
        ChannelGroup stemGroup = r.groups().stream().filter(g -> g.convPaths().contains("conv1")).findFirst().orElseThrow();
        assertEquals(List.of("conv1", "layer1.0.conv2"), stemGroup.convPaths());
        ChannelGroup stage2 = r.groups().stream().filter(g -> g.convPaths().contains("layer2.0.shortcut.0")).findFirst().orElseThrow();
        assertEquals(2, stage2.members().size());
        assertEquals("layer2.0.shortcut.1", stage2.members().get(1).norm());
        Module pruned = maskedEqualsRemoved(net, 0.5, Tensor.randn(new Random(5), 2, 1, 12, 12));
        assertEquals(4, ((Conv2d) pruned.module("conv1")).outChannels());
        assertEquals(4, ((Conv2d) pruned.module("layer1.0.conv1")).inChannels());
        assertEquals(8, ((Conv2d) pruned.module("layer2.0.shortcut.0")).outChannels());
        assertEquals(16, pruned.module("fc").parameter("weight").shape()[1]);
    }

    @Test
    void resnet20RemovalEqualsMask() {
        maskedEqualsRemoved(ResNet.resnet20(1, 10, 8, new Random(2)), 0.45, Tensor.randn(new Random(6), 2, 1, 8, 8));
    }

    @Test
    void lenetRemovalEqualsMaskThroughFlatten() {
        LeNet5 net = new LeNet5(1, 8, 10, new Random(4));
        ChannelGraph.Result r = ChannelGraph.analyze(ModelGraph.trace(net, new int[] {1, 8, 8}));
        // the hidden Linear layers' features are groups too; fc3 feeds the output
        assertEquals(List.of(List.of("conv1"), List.of("conv2"), List.of("fc1"), List.of("fc2")), r.groups().stream().map(ChannelGroup::convPaths).toList());
        assertEquals(4, r.groups().get(1).consumers().get(0).unit());  // fc1 reads 16·2·2
        Module pruned = maskedEqualsRemoved(net, 0.5, Tensor.randn(new Random(7), 3, 1, 8, 8));
        assertEquals(8 * 4, pruned.module("fc1").parameter("weight").shape()[1]);
        assertEquals(60, pruned.module("fc1").parameter("weight").shape()[0]);
        assertEquals(42, pruned.module("fc3").parameter("weight").shape()[1]);
    }

    /** A user network with constructs the analysis does not follow: each is skipped and listed with its reason. */
    static final class Unsupported extends Module {
        final Conv2d gate, grouped, twice, head;
        final org.goldenstick.nn.Sigmoid sigmoid;

        Unsupported() {
            gate = registerChild("gate", new Conv2d(1, 4, 3, 1, 1, new Random(0)));
            sigmoid = registerChild("sigmoid", new org.goldenstick.nn.Sigmoid());
            grouped = registerChild("grouped", new Conv2d(4, 4, 3, 1, 1, 1, 2, true, new Random(0)));
            twice = registerChild("twice", new Conv2d(4, 4, 3, 1, 1, new Random(0)));
            head = registerChild("head", new Conv2d(4, 3, 1, 1, 0, new Random(0)));
        }

        @Override
        public Tensor forward(Tensor x) {
            Tensor y = grouped.forward(sigmoid.forward(gate.forward(x)));
            return head.forward(twice.forward(twice.forward(y)));
        }
    }

    @Test
    void unsupportedConstructsAreSkippedAndListedWithTheirReason() {
        Module net = new Unsupported();
        ChannelGraph.Result r = ChannelGraph.analyze(ModelGraph.trace(net, new int[] {1, 6, 6}));
        assertTrue(r.groups().isEmpty(), r.groups().toString());
        Map<String, String> why = new java.util.LinkedHashMap<>();
        for (SkippedLayer s : r.skipped()) why.put(s.path(), s.reason());
        assertEquals(java.util.Set.of("gate", "grouped", "twice", "head"), why.keySet(), why.toString());
        assertTrue(why.get("gate").contains("Sigmoid sigmoid") && why.get("gate").contains("0.5"), why.get("gate"));
        assertTrue(why.get("grouped").contains("grouped convolution (groups=2)"), why.get("grouped"));
        assertTrue(why.get("twice").contains("called 2 times"), why.get("twice"));
        assertTrue(why.get("head").contains("network output"), why.get("head"));
        PrunerKfCompressAlgo kf = new PrunerKfCompressAlgo();
        kf.apply(net, ApplyOptions.of(Map.of("input_shape", new int[] {1, 6, 6})));
        assertEquals(4, kf.skipped().size());
        assertFalse(net.namedModules().values().stream().anyMatch(m -> m instanceof KfLayer));
    }

    @Test
    void withoutAnInputShapeTheErrorSaysWhatToPass() {
        var e = assertThrows(IllegalArgumentException.class, () -> new PrunerKfCompressAlgo().apply(new Unsupported()));
        assertTrue(e.getMessage().contains("input_shape"), e.getMessage());
    }

    @Test
    void pruneRateValidation() {
        assertEquals(0.0, new PrunerFtCompressAlgo(Map.of()).pruneRate());
        assertEquals(0.0, new PrunerFtCompressAlgo((Map<String, ?>) null).pruneRate());
        assertEquals(0.45, new PrunerFtCompressAlgo(0.45).pruneRate());
        ConfigException tooBig = assertThrows(ConfigException.class, () -> new PrunerFtCompressAlgo(1.1));
        assertTrue(tooBig.getMessage().contains("prune_rate") && tooBig.getMessage().contains("1.1") && tooBig.getMessage().contains("[0.0, 1.0)"), tooBig.getMessage());
        assertThrows(ConfigException.class, () -> new PrunerFtCompressAlgo(1.0));
        assertThrows(ConfigException.class, () -> new PrunerFtCompressAlgo(-0.1));
        ConfigException intRate = assertThrows(ConfigException.class, () -> new PrunerFtCompressAlgo(Map.of("prune_rate", 1)));
        assertEquals(ConfigException.Kind.TYPE, intRate.kind());
        assertThrows(ConfigException.class, () -> new PrunerFtCompressAlgo(Map.of("rate", 0.5)));
        assertThrows(ConfigException.class, () -> new PrunerKfCompressAlgo(Map.of("prune_rate", 0.5)));
    }

    @Test
    void scoreIsGammaTimesTwoKfscaleMinusOneAndLowestGo() {
        Sequential net = new Sequential(new Conv2d(1, 4, 3, 1, 1, new Random(0)), new BatchNorm2d(4),
                new org.goldenstick.nn.Flatten(), new org.goldenstick.nn.Linear(4 * 9, 2, new Random(0)));
        ApplyOptions shape = ApplyOptions.of(Map.of("input_shape", new int[] {1, 3, 3}));
        new PrunerKfCompressAlgo().apply(net, shape);
        KfLayer kf = (KfLayer) net.module("0");
        System.arraycopy(new float[] {-2f, 1f, 0.5f, 3f}, 0, ((BatchNorm2d) net.module("1")).weight().data(), 0, 4);
        System.arraycopy(new float[] {0.9f, 0.2f, 1.0f, 0.5f}, 0, kf.kfscale().data(), 0, 4);
        // scores: 2·0.8 = 1.6, 1·(−0.6) = −0.6, 0.5·1 = 0.5, 3·0 = 0  → prune 2 lowest: channels 1 and 3
        PrunerFtCompressAlgo ft = new PrunerFtCompressAlgo(0.5);
        Map<ChannelGroup, int[]> keep = ft.select(net, shape);
        assertArrayEquals(new int[] {0, 2}, keep.values().iterator().next());
        assertTrue(net.module("0") instanceof Conv2d && net.module("1") instanceof BatchNorm2d);
    }

    @Test
    void knockoffForwardMixesHalvesAndOnlyKfscaleTrains() {
        Conv2d conv = new Conv2d(1, 2, 1, 1, 0, false, new Random(0));
        KfLayer kf = new KfLayer(conv);
        kf.kfscale().data()[0] = 0.25f;
        kf.kfscale().data()[1] = 1f;
        Tensor x = Tensor.randn(new Random(1), 4, 1, 1, 1);
        kf.train();
        Tensor y = kf.forward(x);
        Tensor z = conv.forward(x);
        float[] zd = z.data(), yd = y.data();
        // layout [4,2,1,1]: sample s channel c at s*2+c
        for (int s = 0; s < 2; s++) {
            assertEquals(0.25 * zd[s * 2] + 0.75 * zd[(s + 2) * 2], yd[s * 2], 1e-6);
            assertEquals(zd[s * 2 + 1], yd[s * 2 + 1], 1e-6);
        }
        for (int i = 4; i < 8; i++) assertEquals(zd[i], yd[i], 0);
        kf.eval();
        assertClose(conv.forward(x), kf.forward(x), 0);

        ResNet net = ResNet.resnet8(1, 10, 4, new Random(0));
        new PrunerKfCompressAlgo().apply(net, ApplyOptions.of(Map.of("input_shape", new int[] {1, 8, 8})));
        net.namedParameters().forEach((n, t) -> assertEquals(n.endsWith("kfscale"), t.requiresGrad(), n));
        var doubled = KnockoffCallback.doubled(new org.goldenstick.data.Batch(Tensor.randn(new Random(2), 3, 1, 2, 2), new int[] {0, 1, 2}), new Random(0));
        assertEquals(6, doubled.size());
        int[] l = doubled.labels();
        assertEquals(List.of(0, 1, 2), java.util.stream.IntStream.of(l).skip(3).sorted().boxed().toList());
        for (int i = 3; i < 6; i++) {
            float[] a = doubled.inputs().slice(0, i, i + 1).data(), b = doubled.inputs().slice(0, l[i], l[i] + 1).data();
            assertArrayEquals(b, a, 0f, "knockoff sample must be the real sample of its label");
        }
    }

    @Test
    void savedPrunedNetworkReloadsFromShapesInTheFile(@TempDir Path dir) throws Exception {
        ResNet net = ResNet.resnet8(1, 10, 8, new Random(1));
        Module kfNet = new PrunerKfCompressAlgo().apply(net);
        randomize(kfNet, new Random(9));
        Module pruned = new PrunerFtCompressAlgo(0.4).apply(kfNet);
        Tensor x = Tensor.randn(new Random(8), 2, 1, 8, 8);
        Tensor want = run(pruned, x);
        Path file = dir.resolve("pruned.safetensors");
        PrunedCheckpoints.save(pruned, file, Map.of("prune_rate", "0.4"));
        assertTrue(Files.size(file) > 0);
        Module back = PrunedCheckpoints.load(ResNet.resnet8(1, 10, 8, new Random(77)), file);
        assertEquals(pruned.parameterCount(), back.parameterCount());
        assertClose(want, run(back, x), 0);
    }

    @Test
    void modelStatsCountsParamsAndMacs() {
        LeNet5 net = new LeNet5(1, 8, 10, new Random(0));
        ModelStats s = ModelStats.measure(net, 1, 8, 8);
        assertEquals(net.parameterCount(), s.params());
        // conv1: 6·8·8·1·25 ; conv2 (pad 2 on 4x4): 16·4·4·6·25 ; fc: 64·120 + 120·84 + 84·10 (independent arithmetic)
        long want = 6L * 64 * 25 + 16L * 16 * 6 * 25 + 64L * 120 + 120L * 84 + 84L * 10;
        assertEquals(want, s.macs());
        assertEquals(5, s.layers().size());
    }

    @Test
    void knockoffStepTrainsOnlyKfscale() {
        ResNet net = ResNet.resnet8(1, 10, 4, new Random(0));
        Module kfNet = new PrunerKfCompressAlgo().apply(net);
        Map<String, float[]> before = new java.util.HashMap<>();
        kfNet.namedParameters().forEach((n, t) -> before.put(n, t.data().clone()));
        java.util.List<Tensor> kfs = kfNet.namedParameters().entrySet().stream().filter(e -> e.getKey().endsWith("kfscale")).map(Map.Entry::getValue).toList();
        var opt = new org.goldenstick.train.SGD(kfs, new org.goldenstick.train.SGD.Options(1.0, 0, 0, 0, false));
        var batch = KnockoffCallback.doubled(new org.goldenstick.data.Batch(Tensor.randn(new Random(1), 4, 1, 8, 8), new int[] {0, 1, 2, 3}), new Random(2));
        kfNet.train();
        Tensor loss = org.goldenstick.tensor.Functional.crossEntropy(kfNet.forward(batch.inputs()), batch.labels());
        loss.backward();
        opt.step();
        KnockoffCallback.clamp(kfNet);
        int changed = 0;
        for (var e : kfNet.namedParameters().entrySet()) {
            boolean same = java.util.Arrays.equals(before.get(e.getKey()), e.getValue().data());
            if (e.getKey().endsWith("kfscale")) changed += same ? 0 : 1;
            else assertTrue(same, e.getKey() + " must stay frozen");
        }
        assertTrue(changed > 0, "kfscale must train");
    }
}
