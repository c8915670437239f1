package org.goldenstick.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.UnaryOperator;
import org.goldenstick.tensor.kernel.KernelSettings;
import org.goldenstick.tensor.kernel.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Backward functions that write a fresh input gradient ({@link Tensor#claimFreshGrad()}) instead of adding into zeros:
 * inside a {@link StepBuffers} step whose pool holds NaN-filled arrays, every element must still be written, and a
 * second contribution to the same gradient must add to the first. Checked on the vector and the scalar kernels.
 */
@ExtendWith(KernelSettings.class)
class FreshGradientTest {
    private static final int[] SHAPE = {4, 3, 24, 24}; // 6,912 floats: above StepBuffers.MIN_FLOATS

    private static final List<UnaryOperator<Tensor>> OPS = List.of(
            Tensor::relu,
            Functional::relu6,
            t -> Functional.batchNorm(t, null, null, null, null, true, 0.1f, 1e-5f),
            t -> t.add(t.mul(0.5f)),
            t -> t.mul(0.5f).sub(t));

    /** dL/dx for L = Σ op(x)·r, in an open step whose pool was filled with NaN arrays when {@code poisoned}. */
    private static float[] grad(UnaryOperator<Tensor> op, Tensor x, Tensor r, boolean twice, boolean poisoned) {
        StepBuffers buffers = new StepBuffers();
        if (poisoned) {
            try (StepBuffers.Step ignored = buffers.open()) {
                for (int i = 0; i < 8; i++) Arrays.fill(StepBuffers.uninitialized(x.numel()), Float.NaN);
            }
        }
        Tensor leaf = x.copy().requiresGrad(true);
        try (StepBuffers.Step ignored = buffers.open()) {
            Tensor mid = leaf.mul(1f); // a non-leaf input, so its gradient comes from the pool
            Tensor y = op.apply(mid).mul(r);
            if (twice) y = y.add(op.apply(mid).mul(r)); // the second contribution must add to the first
            y.sum().backward();
        }
        return leaf.grad().data().clone();
    }

    @Test
    void freshGradientsAreWrittenEverywhereAndSecondContributionsAdd() {
        Random rng = new Random(5);
        Tensor x = Tensor.randn(rng, SHAPE), r = Tensor.randn(rng, SHAPE);
        for (boolean vector : new boolean[] {true, false}) {
            Kernels.useVector(vector);
            for (int k = 0; k < OPS.size(); k++) {
                var op = OPS.get(k);
                float[] clean = grad(op, x, r, false, false), dirty = grad(op, x, r, false, true);
                assertArrayEquals(clean, dirty, "op " + k + " vector=" + vector + ": an element of a fresh gradient was left unwritten");
                float[] twice = grad(op, x, r, true, true);
                for (int i = 0; i < clean.length; i++) {
                    assertEquals(2 * clean[i], twice[i], 1e-5f * (1 + Math.abs(clean[i])), "op " + k + " vector=" + vector + " element " + i);
                }
                assertTrue(Arrays.stream(box(clean)).anyMatch(v -> v != 0f), "op " + k + ": gradient all zero, the check would not see anything");
            }
        }
    }

    @Test
    void freshAndAccumulatedGradientsAgreeWithFiniteDifferences() {
        Random rng = new Random(9);
        Tensor x = Tensor.randn(rng, SHAPE), r = Tensor.randn(rng, SHAPE);
        for (boolean vector : new boolean[] {true, false}) {
            Kernels.useVector(vector);
            for (int k = 0; k < OPS.size(); k++) {
                var op = OPS.get(k);
                float[] g = grad(op, x, r, true, true);
                for (int probe = 0; probe < 6; probe++) {
                    int i = rng.nextInt(x.numel());
                    float xi = x.data()[i];
                    if (Math.abs(xi) < 0.05f || Math.abs(xi - 6f) < 0.05f) continue; // a ReLU kink inside the step
                    double h = 1e-2, up = loss(op, x, r, i, h), down = loss(op, x, r, i, -h);
                    double fd = 2 * (up - down) / (2 * h); // the op is applied twice in grad(..., twice = true)
                    assertEquals(fd, g[i], 2e-2 * (1 + Math.abs(fd)), "op " + k + " vector=" + vector + " element " + i);
                }
            }
        }
    }

    /** Σ op(x + h·e_i)·r in float64 accumulation over the op's float output. */
    private static double loss(UnaryOperator<Tensor> op, Tensor x, Tensor r, int i, double h) {
        Tensor xi = x.copy();
        xi.data()[i] += (float) h;
        float[] y = op.apply(xi).data(), rd = r.data();
        double s = 0;
        for (int j = 0; j < y.length; j++) s += (double) y[j] * rd[j];
        return s;
    }

    private static Float[] box(float[] a) {
        Float[] b = new Float[a.length];
        for (int i = 0; i < a.length; i++) b[i] = a[i];
        return b;
    }
}
