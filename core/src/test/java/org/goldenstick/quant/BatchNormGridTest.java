package org.goldenstick.quant;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.Kernels;
import org.junit.jupiter.api.Test;

/**
 * Batch norm with its output quantizer fused in ({@link Functional#batchNormGrid} driven by
 * {@link FakeQuantize#trainingGrid}) against batch norm followed by {@link FakeQuantize#forward}: the same bits for
 * outputs, gradients, running statistics, quantizer ranges and quant-delay counters, on both kernel paths.
 */
class BatchNormGridTest {
    /** Two training steps (the range moves); per step: output, dx, dγ, dβ, running mean/var, range, counter. */
    private static float[][] steps(boolean fused, int[] shape, int delay, boolean ema, boolean vector) {
        boolean was = Kernels.useVector(vector);
        try {
            int c = shape[1];
            FakeQuantize fq = new FakeQuantize(QuantSpec.uint8Asymmetric(), -1, 1, delay, ema, 0.3f);
            fq.train();
            Tensor gamma = Tensor.randn(new Random(2), c).requiresGrad(true), beta = Tensor.randn(new Random(3), c).requiresGrad(true);
            gamma.data()[0] = -1.5f; // a negative scale: the output range comes from the input's max
            Tensor rm = Tensor.zeros(c), rv = Tensor.ones(c);
            float[][] out = new float[16][];
            for (int step = 0; step < 2; step++) {
                Tensor x = Tensor.randn(new Random(10 + step), shape);
                for (int i = 0; i < x.numel(); i++) x.data()[i] = x.data()[i] * 2f + 0.5f;
                x.requiresGrad(true);
                gamma.zeroGrad();
                beta.zeroGrad();
                Tensor y;
                if (fused) {
                    Functional.OutputGrid grid = fq.trainingGrid();
                    assertNotNull(grid);
                    y = Functional.batchNormGrid(x, gamma, beta, rm, rv, 0.1f, 1e-5f, grid);
                } else {
                    y = fq.forward(Functional.batchNorm(x, gamma, beta, rm, rv, true, 0.1f, 1e-5f));
                }
                Tensor z = y.add(x.mul(0.25f)); // x used twice: the fused gradient adds to the other use's
                z.backward(Tensor.randn(new Random(20 + step), shape).data());
                int o = step * 8;
                out[o] = y.data().clone();
                out[o + 1] = x.grad().data().clone();
                out[o + 2] = gamma.grad().data().clone();
                out[o + 3] = beta.grad().data().clone();
                out[o + 4] = rm.data().clone();
                out[o + 5] = rv.data().clone();
                out[o + 6] = new float[] {fq.floatMin()[0], fq.floatMax()[0]};
                out[o + 7] = new float[] {fq.step()};
            }
            return out;
        } finally {
            Kernels.useVector(was);
        }
    }

    @Test
    void fusedGridGivesTheBitsOfBatchNormThenFakeQuantize() {
        String[] part = {"output", "dx", "dgamma", "dbeta", "running mean", "running var", "quantizer range", "delay counter"};
        for (boolean vector : new boolean[] {true, false})
            for (int[] shape : new int[][] {{4, 3, 7, 7}, {2, 5, 16, 16}, {3, 2, 5, 3}})
                for (int delay : new int[] {0, 1})
                    for (boolean ema : new boolean[] {false, true}) {
                        float[][] two = steps(false, shape, delay, ema, vector), one = steps(true, shape, delay, ema, vector);
                        for (int i = 0; i < two.length; i++) {
                            String what = java.util.Arrays.toString(shape) + " delay " + delay + (ema ? " ema" : "") + (vector ? " vector" : " scalar")
                                    + " step " + (i / 8) + ": " + part[i % 8];
                            assertArrayEquals(two[i], one[i], what);
                        }
                        if (delay == 0) { // the grid must be exercised: outputs on few levels, some gradients blocked by the clamp
                            long levels = java.util.Arrays.stream(box(one[8])).distinct().count();
                            assertTrue(levels <= 256 && levels > 10, "levels " + levels);
                        }
                    }
    }

    private static Float[] box(float[] a) {
        Float[] b = new Float[a.length];
        for (int i = 0; i < a.length; i++) b[i] = a[i];
        return b;
    }

    @Test
    void quantizersThatCannotFuseSaySo() {
        FakeQuantize fq = FakeQuantize.perTensor(QuantSpec.uint8Asymmetric(), 0);
        fq.eval();
        assertNull(fq.trainingGrid(), "eval mode");
        fq.train();
        assertNotNull(fq.trainingGrid());
        fq.setBypass(true);
        assertNull(fq.trainingGrid(), "bypassed");
        fq.setBypass(false);
        fq.setTap((in, out) -> {});
        assertNull(fq.trainingGrid(), "tapped");
        FakeQuantize pc = FakeQuantize.perChannel(QuantSpec.uint8Asymmetric(), 1, 3, 0);
        pc.train();
        assertNull(pc.trainingGrid(), "per-channel");
        assertThrows(IllegalArgumentException.class, () -> org.goldenstick.tensor.Functional.batchNormGrid(Tensor.zeros(2, 3, 2, 2), null, null, null, null, 0.1f, 1e-5f, null));
    }
}
