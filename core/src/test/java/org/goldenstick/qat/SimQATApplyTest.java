package org.goldenstick.qat;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Map;
import java.util.Random;
import org.goldenstick.nn.BatchNorm1d;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.ReLU;
import org.goldenstick.nn.Sequential;
import org.goldenstick.nn.models.LeNet5;
import org.goldenstick.nn.models.ResNet;
import org.goldenstick.quant.FakeQuantize;
import org.goldenstick.quant.QConv2d;
import org.goldenstick.quant.QLinear;
import org.goldenstick.rewrite.ApplyOptions;
import org.goldenstick.rewrite.FusedInto;
import org.goldenstick.rewrite.RewriteReport;
import org.goldenstick.tensor.GradMode;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;

class SimQATApplyTest {
    @Test
    void leNetCellsQuantizersAndRedundantInputQuantizers() {
        LeNet5 net = new LeNet5(1, 8, 10, new Random(0));
        SimQAT algo = new SimQAT(Map.of("quant_delay", List.of(900, 900)));
        algo.apply(net);
        Conv2dQuant conv1 = (Conv2dQuant) net.module("conv1");
        assertNotNull(conv1.inputQuantizer(), "the first layer quantizes its input");
        FakeQuantize w = conv1.weightQuantizer();
        assertTrue(w.perChannel() && w.spec().symmetric());
        assertEquals(900, w.quantDelay());
        FakeQuantize out = conv1.outputQuantizer();
        assertFalse(out.perChannel() || out.spec().symmetric());
        assertEquals(900, out.quantDelay());
        assertNull(((ActQuant) net.module("relu1")).inputQuantizer(), "conv1's output quantizer covers relu1's input");
        assertNull(((Conv2dQuant) net.module("conv2")).inputQuantizer(), "relu1 → pool1 → conv2: max-pool keeps the grid");
        assertNull(((LinearQuant) net.module("fc1")).inputQuantizer(), "relu2 → pool2 → flatten → fc1");
        RewriteReport r = algo.report();
        assertEquals(RewriteReport.Action.LEFT, r.row("pool1").action());
        assertEquals(9, r.wrapped().size()); // 2 conv, 3 linear, 4 relu
        assertThrows(IllegalArgumentException.class, () -> algo.apply(net), "applying twice is refused");
    }

    @Test
    void unsupportedLayerIsLeftInFp32ListedAndStillRuns() {
        Random rng = new Random(1);
        Sequential net = new Sequential(new Linear(6, 8, rng), new BatchNorm1d(8), new ReLU(), new Linear(8, 3, rng));
        SimQAT algo = new SimQAT(Map.of("skip_layers", List.of("^3$")));
        algo.apply(net, ApplyOptions.of(Map.of("input_shape", new int[] {6})));
        RewriteReport.Row bn = algo.report().row("1");
        assertEquals(RewriteReport.Action.LEFT, bn.action());
        assertTrue(bn.note().contains("unsupported") && bn.note().contains("BatchNorm1d"), bn.note());
        assertInstanceOf(BatchNorm1d.class, net.module("1"));
        assertEquals(RewriteReport.Action.LEFT, algo.report().row("3").action());
        assertInstanceOf(Linear.class, net.module("3"), "skipped by regex");
        assertTrue(algo.report().table().contains("BatchNorm1d"));
        net.forward(Tensor.randn(rng, 4, 6)); // training step sets ranges
        Module deploy = algo.convert(net);
        assertInstanceOf(QLinear.class, deploy.module("0"));
        assertInstanceOf(BatchNorm1d.class, deploy.module("1"));
        try (var ignored = GradMode.off()) {
            assertArrayEquals(new int[] {4, 3}, deploy.forward(Tensor.randn(rng, 4, 6)).shape());
        }
    }

    @Test
    void resNetFusionFoldsConvBnPairsAndConvertLeavesNoFakeQuant() {
        Random rng = new Random(2);
        ResNet net = ResNet.resnet8(1, 10, 4, rng);
        SimQAT algo = new SimQAT(Map.of("enable_fusion", true, "bn_fold", true));
        algo.apply(net);
        assertInstanceOf(Conv2dBnFoldQuantOneConv.class, net.module("conv1"));
        assertInstanceOf(FusedInto.class, net.module("bn1"));
        assertInstanceOf(Conv2dBnFoldQuantOneConv.class, net.module("layer1.0.conv1"));
        assertInstanceOf(Conv2dBnFoldQuantOneConv.class, net.module("layer1.0.conv2"));
        assertInstanceOf(Conv2dBnFoldQuantOneConv.class, net.module("layer2.0.shortcut.0"), "projection shortcut fused too");
        assertInstanceOf(ReLU.class, net.module("layer1.0.relu"), "shared block ReLU stays float");
        assertTrue(algo.report().row("layer1.0.relu").note().contains("called at 2 points"), algo.report().row("layer1.0.relu").note());
        for (int s = 0; s < 3; s++) net.forward(Tensor.randn(rng, 8, 1, 8, 8));
        net.eval();
        Tensor x = Tensor.randn(rng, 4, 1, 8, 8);
        float[] fake;
        try (var ignored = GradMode.off()) {
            fake = net.forward(x).data();
        }
        Module deploy = algo.convert(net);
        assertInstanceOf(QConv2d.class, deploy.module("layer1.0.conv1"));
        for (Module m : deploy.namedModules().values()) assertFalse(m instanceof FakeQuantize || m instanceof QuantCell, m.describe());
        float[] real;
        try (var ignored = GradMode.off()) {
            real = deploy.forward(x).data();
        }
        double maxDiff = 0, maxAbs = 0;
        for (int i = 0; i < fake.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(fake[i] - real[i]));
            maxAbs = Math.max(maxAbs, Math.abs(fake[i]));
        }
        assertTrue(maxDiff <= 0.05 * maxAbs + 1e-3, "deploy vs fake-quant eval: max diff " + maxDiff + " of " + maxAbs);
    }

    @Test
    void bnFoldVariantsFollowConfig() {
        Random rng = new Random(3);
        ResNet a = ResNet.resnet8(1, 10, 4, rng);
        new SimQAT(Map.of("enable_fusion", true)).apply(a);
        assertInstanceOf(Conv2dBnWithoutFoldQuant.class, a.module("conv1"));
        ResNet b = ResNet.resnet8(1, 10, 4, rng);
        new SimQAT(Map.of("enable_fusion", true, "bn_fold", true, "one_conv_fold", false, "freeze_bn", 5)).apply(b);
        assertInstanceOf(Conv2dBnFoldQuant.class, b.module("conv1"));
        ResNet c = ResNet.resnet8(1, 10, 4, rng);
        new SimQAT(Map.of()).apply(c);
        assertInstanceOf(Conv2dQuant.class, c.module("conv1"), "no fusion by default: conv and BN stay separate");
        assertInstanceOf(org.goldenstick.nn.BatchNorm2d.class, c.module("bn1"));
    }
}
