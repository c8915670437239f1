package org.goldenstick.tensor;

import static org.goldenstick.GradCheck.check;
import static org.goldenstick.GradCheck.param;
import static org.junit.jupiter.api.Assertions.*;

import org.goldenstick.tensor.kernel.Kernels;
import org.junit.jupiter.api.Test;

class NormalizationTest {
    /** Per-channel mean and biased/unbiased variance in float64 over N and space. */
    static double[][] stats(Tensor x) {
        int n = x.dim(0), c = x.dim(1), sp = x.numel() / (n * c);
        double[][] r = new double[3][c];
        for (int ch = 0; ch < c; ch++) {
            double s = 0;
            for (int i = 0; i < n; i++) for (int j = 0; j < sp; j++) s += x.data()[(i * c + ch) * sp + j];
            double m = s / (n * sp), v = 0;
            for (int i = 0; i < n; i++) for (int j = 0; j < sp; j++) v += Math.pow(x.data()[(i * c + ch) * sp + j] - m, 2);
            r[0][ch] = m;
            r[1][ch] = v / (n * sp);
            r[2][ch] = v / (n * sp - 1);
        }
        return r;
    }

    @Test
    void trainingForwardUsesBatchStatisticsAndUpdatesRunningStats() {
        for (boolean vector : new boolean[] {true, false}) {
            boolean was = Kernels.useVector(vector);
            try {
                trainingForward();
            } finally {
                Kernels.useVector(was);
            }
        }
    }

    private static void trainingForward() {
        for (int[] shape : new int[][] {{4, 3, 2, 3}, {6, 5}, {3, 2, 5, 7}}) {
            int c = shape[1];
            Tensor x = param(1, shape);
            for (int i = 0; i < x.numel(); i++) x.data()[i] = x.data()[i] * 2f + 3f;
            Tensor gamma = param(2, c), beta = param(3, c);
            Tensor rm = param(4, c).detach(), rv = Tensor.full(1.5f, c);
            float[] rm0 = rm.data().clone(), rv0 = rv.data().clone();
            float momentum = 0.1f, eps = 1e-5f;
            Tensor y = Functional.batchNorm(x, gamma, beta, rm, rv, true, momentum, eps);
            double[][] st = stats(x);
            int sp = x.numel() / (shape[0] * c);
            for (int i = 0; i < x.numel(); i++) {
                int ch = (i / sp) % c;
                double ref = (x.data()[i] - st[0][ch]) / Math.sqrt(st[1][ch] + eps) * gamma.data()[ch] + beta.data()[ch];
                assertEquals(ref, y.data()[i], 1e-4, "batchNorm train forward at " + i);
            }
            for (int ch = 0; ch < c; ch++) {
                assertEquals((1 - momentum) * rm0[ch] + momentum * st[0][ch], rm.data()[ch], 1e-5, "running mean");
                assertEquals((1 - momentum) * rv0[ch] + momentum * st[2][ch], rv.data()[ch], 1e-4, "running var (unbiased)");
            }
        }
    }

    @Test
    void evalUsesRunningStatisticsAndLeavesThemAlone() {
        Tensor x = param(1, 2, 3, 2, 2);
        Tensor rm = Tensor.of(new float[] {0.5f, -1f, 2f}, 3), rv = Tensor.of(new float[] {1f, 4f, 0.25f}, 3);
        Tensor y = Functional.batchNorm(x, null, null, rm, rv, false, 0.1f, 1e-5f);
        for (int i = 0; i < x.numel(); i++) {
            int ch = (i / 4) % 3;
            assertEquals((x.data()[i] - rm.data()[ch]) / Math.sqrt(rv.data()[ch] + 1e-5), y.data()[i], 1e-5);
        }
        assertArrayEquals(new float[] {0.5f, -1f, 2f}, rm.data());
        assertArrayEquals(new float[] {1f, 4f, 0.25f}, rv.data());
    }

    @Test
    void gradientsTrainAndEvalOnBothKernelPaths() {
        for (boolean vector : new boolean[] {true, false}) {
            boolean was = Kernels.useVector(vector);
            try {
                gradients();
            } finally {
                Kernels.useVector(was);
            }
        }
    }

    private static void gradients() {
        check("batchNorm train 4d", 1e-2, 3e-2, t -> Functional.batchNorm(t[0], t[1], t[2], null, null, true, 0.1f, 1e-5f),
                param(1, 3, 2, 3, 3), param(2, 2), param(3, 2));
        check("batchNorm train, planes wider than a vector", 1e-2, 3e-2, t -> Functional.batchNorm(t[0], t[1], t[2], null, null, true, 0.1f, 1e-5f),
                param(11, 2, 2, 5, 7), param(12, 2), param(13, 2));
        check("batchNorm train 2d with running stats", 1e-2, 3e-2,
                t -> Functional.batchNorm(t[0], t[1], t[2], Tensor.zeros(4), Tensor.ones(4), true, 0.1f, 1e-5f),
                param(4, 5, 4), param(5, 4), param(6, 4));
        check("batchNorm train no affine", 1e-2, 3e-2, t -> Functional.batchNorm(t[0], null, null, null, null, true, 0.1f, 1e-5f), param(7, 4, 3, 2, 2));
        Tensor rm = Tensor.of(new float[] {0.1f, -0.3f}, 2), rv = Tensor.of(new float[] {0.8f, 1.7f}, 2);
        check("batchNorm eval", t -> Functional.batchNorm(t[0], t[1], t[2], rm, rv, false, 0.1f, 1e-5f), param(8, 3, 2, 2, 2), param(9, 2), param(10, 2));
    }

    @Test
    void errors() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> Functional.batchNorm(Tensor.zeros(2, 3, 4, 4), Tensor.ones(4), null, null, null, true, 0.1f, 1e-5f));
        assertTrue(e.getMessage().contains("batchNorm") && e.getMessage().contains("[4]") && e.getMessage().contains("[2, 3, 4, 4]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Functional.batchNorm(Tensor.zeros(2, 3, 4), null, null, null, null, true, 0.1f, 1e-5f));
        assertThrows(IllegalArgumentException.class, () -> Functional.batchNorm(Tensor.zeros(1, 3), null, null, null, null, true, 0.1f, 1e-5f));
        assertThrows(IllegalArgumentException.class, () -> Functional.batchNorm(Tensor.zeros(2, 3), null, null, null, null, false, 0.1f, 1e-5f));
    }
}
