package org.goldenstick.qat;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Arrays;
import java.util.Random;
import org.goldenstick.nn.BatchNorm2d;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.quant.QuantMath;
import org.goldenstick.quant.QuantParams;
import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;

class QuantCellsTest {
    static final Tensor X = Tensor.of(new float[] {1, 0, 3, 1, 4, 7, 2, 5, 2}, 1, 1, 3, 3);
    /** Upstream's published outputs (tests/st/ops/nn): computed in float16 on device. */
    static final float[] CONV_EXPECTED = {5.9296875f, 13.8359375f, 11.859375f, 17.78125f};

    static Conv2d onesConv() {
        Conv2d conv = new Conv2d(1, 1, 2, 1, 0, false, new Random(0));
        Arrays.fill(conv.weight().data(), 1f);
        return conv;
    }

    static void assertMatchesPublished(float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            // the published values are float16-rounded; ours are float32: rounding ours to float16 must give them exactly
            assertEquals(expected[i], Float.float16ToFloat(Float.floatToFloat16(actual[i])), 0f, "element " + i + " (ours " + actual[i] + ")");
            assertEquals(expected[i], actual[i], Math.abs(expected[i]) / 1024, "element " + i);
        }
    }

    @Test
    void conv2dQuantWorkedExample() {
        Conv2dQuant q = new Conv2dQuant(onesConv(), SimQATConfig.defaults(), true);
        q.eval();
        assertMatchesPublished(CONV_EXPECTED, q.core(X).data());
    }

    @Test
    void bnFoldCellsWorkedExampleWithFreshStatistics() {
        SimQATConfig cfg = SimQATConfig.defaults().withEnableFusion(true).withBnFold(true);
        for (QuantCell cell : new QuantCell[] {new Conv2dBnFoldQuantOneConv(new Conv2dBn(onesConv(), new BatchNorm2d(1)), cfg, true),
                new Conv2dBnFoldQuant(new Conv2dBn(onesConv(), new BatchNorm2d(1)), cfg.withOneConvFold(false), true)}) {
            cell.eval();
            assertMatchesPublished(CONV_EXPECTED, cell.core(X).data());
        }
    }

    @Test
    void linearQuantWorkedExample() {
        Linear lin = new Linear(2, 1, new Random(0));
        Arrays.fill(lin.weight().data(), 1f);
        Arrays.fill(lin.bias().data(), 1f);
        LinearQuant q = new LinearQuant(lin, SimQATConfig.defaults(), true);
        q.eval();
        float[] y = q.core(Tensor.of(new float[] {1, 5, 3, 4}, 2, 2)).data();
        assertArrayEquals(new float[] {6.929412f, 7.9176474f}, y, 1e-5f);
    }

    @Test
    void foldCellsInEvalEqualTheirDeployedIntegerConv() {
        Random rng = new Random(4);
        SimQATConfig cfg = SimQATConfig.defaults().withEnableFusion(true).withBnFold(true);
        for (int variant = 0; variant < 3; variant++) {
            Conv2d conv = new Conv2d(3, 5, 3, 1, 1, variant == 2, rng);
            BatchNorm2d bn = new BatchNorm2d(5);
            Conv2dBn fused = new Conv2dBn(conv, bn);
            QuantCell cell = switch (variant) {
                case 0 -> new Conv2dBnFoldQuantOneConv(fused, cfg, true);
                case 1 -> new Conv2dBnFoldQuant(fused, cfg.withOneConvFold(false), true);
                default -> new Conv2dBnWithoutFoldQuant(fused, cfg.withBnFold(false), true);
            };
            // a few training steps move BN statistics and quantizer ranges away from their initial values
            for (int s = 0; s < 3; s++) cell.forward(Tensor.randn(rng, 4, 3, 6, 6));
            bn.weight().data()[1] = -0.7f; // a negative gamma exercises sign handling in the integer fold
            cell.eval();
            Tensor x = Tensor.randn(rng, 2, 3, 6, 6);
            QuantParams in = cell.inputQuantizer().quantParams();
            float[] fake = cell.forward(x).data();
            Module deploy = cell.toDeploy(in);
            float[] real = deploy.forward(x).data();
            QuantParams out = cell.outputQuantizer().quantParams();
            int off = 0;
            for (int i = 0; i < fake.length; i++) if (Math.abs(fake[i] - real[i]) > 1e-4) off++;
            // both sit on the output grid; float association may move a handful of values by one step
            assertTrue(off <= fake.length / 50, "variant " + variant + ": " + off + " of " + fake.length + " differ");
            for (int i = 0; i < fake.length; i++) assertEquals(fake[i], real[i], out.scale()[0] * 1.01, "variant " + variant + " element " + i);
        }
    }

    @Test
    void steGradientReachesWeightsThroughFoldedCell() {
        Random rng = new Random(5);
        SimQATConfig cfg = SimQATConfig.defaults().withEnableFusion(true).withBnFold(true);
        Conv2d conv = new Conv2d(2, 3, 3, 1, 1, false, rng);
        var cell = new Conv2dBnFoldQuantOneConv(new Conv2dBn(conv, new BatchNorm2d(3)), cfg, true);
        Tensor y = cell.forward(Tensor.randn(rng, 2, 2, 5, 5));
        y.square().sum().backward();
        assertNotNull(conv.weight().grad());
        assertTrue(Arrays.stream(toDouble(conv.weight().grad().data())).anyMatch(v -> v != 0));
        assertNotNull(cell.bn().weight().grad());
    }

    static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    @Test
    void conv2dQuantDeployMatchesFakeQuantEval() {
        Random rng = new Random(6);
        Conv2d conv = new Conv2d(2, 4, 3, 2, 1, rng);
        Conv2dQuant cell = new Conv2dQuant(conv, SimQATConfig.defaults(), true);
        cell.forward(Tensor.randn(rng, 3, 2, 7, 7));
        cell.eval();
        Tensor x = Tensor.randn(rng, 2, 2, 7, 7);
        float[] fake = cell.forward(x).data();
        float[] real = cell.toDeploy(cell.inputQuantizer().quantParams()).forward(x).data();
        float step = cell.outputQuantizer().quantParams().scale()[0];
        int off = 0;
        for (int i = 0; i < fake.length; i++) {
            assertEquals(fake[i], real[i], step * 1.01);
            if (Math.abs(fake[i] - real[i]) > 1e-4) off++;
        }
        assertTrue(off <= fake.length / 100, off + " differ");
        // sanity: the FQ eval output is close to the float conv
        float[] ref = Functional.conv2d(x, conv.weight(), conv.bias(), conv.spec()).data();
        double err = 0;
        for (int i = 0; i < ref.length; i++) err = Math.max(err, Math.abs(ref[i] - fake[i]));
        assertTrue(err < 0.2, "fake-quant conv far from float conv: " + err);
        assertNotNull(QuantMath.class);
    }
}
