package org.goldenstick.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.goldenstick.GradCheck;
import org.goldenstick.tensor.GradMode;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;

class LayersTest {
    /** Direct float64 convolution, the reference for the layer's geometry handling. */
    static double[] conv2dReference(Tensor x, Tensor w, Tensor b, int stride, int pad, int dil, int groups) {
        int n = x.dim(0), h = x.dim(2), wd = x.dim(3), o = w.dim(0), cg = w.dim(1), kh = w.dim(2), kw = w.dim(3);
        int oh = (h + 2 * pad - dil * (kh - 1) - 1) / stride + 1, ow = (wd + 2 * pad - dil * (kw - 1) - 1) / stride + 1;
        double[] out = new double[n * o * oh * ow];
        int og = o / groups;
        for (int ni = 0; ni < n; ni++) for (int oc = 0; oc < o; oc++) for (int y = 0; y < oh; y++) for (int xx = 0; xx < ow; xx++) {
            double s = b == null ? 0 : b.data()[oc];
            int g = oc / og;
            for (int ci = 0; ci < cg; ci++) for (int ky = 0; ky < kh; ky++) for (int kx = 0; kx < kw; kx++) {
                int iy = y * stride - pad + ky * dil, ix = xx * stride - pad + kx * dil;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                s += (double) x.get(ni, g * cg + ci, iy, ix) * w.get(oc, ci, ky, kx);
            }
            out[((ni * o + oc) * oh + y) * ow + xx] = s;
        }
        return out;
    }

    @Test
    void conv2dGeometryMatchesDirectReference() {
        Random r = new Random(1);
        int[][] cases = {{4, 6, 3, 1, 1, 1, 1}, {4, 6, 3, 2, 1, 1, 2}, {4, 4, 3, 1, 2, 2, 4}, {3, 5, 1, 2, 0, 1, 1}, {2, 4, 5, 1, 2, 1, 1}};
        for (int[] k : cases) {
            Conv2d conv = new Conv2d(k[0], k[1], k[2], k[3], k[4], k[5], k[6], true, r);
            assertArrayEquals(new int[] {k[1], k[0] / k[6], k[2], k[2]}, conv.weight().shape());
            Tensor x = Tensor.randn(r, 2, k[0], 7, 6);
            Tensor y = conv.forward(x);
            int[] hw = conv.outputSize(7, 6);
            assertArrayEquals(new int[] {2, k[1], hw[0], hw[1]}, y.shape(), conv.describe());
            double[] ref = conv2dReference(x, conv.weight(), conv.bias(), k[3], k[4], k[5], k[6]);
            for (int i = 0; i < ref.length; i++) assertEquals(ref[i], y.data()[i], 1e-4, conv.describe() + " element " + i);
        }
    }

    @Test
    void conv2dDefaultInitIsPyTorchKaimingUniform() {
        Conv2d conv = new Conv2d(8, 16, 3, 1, 1, new Random(0));
        double bound = 1 / Math.sqrt(8 * 9);
        double maxAbs = 0;
        for (float v : conv.weight().data()) maxAbs = Math.max(maxAbs, Math.abs(v));
        assertTrue(maxAbs <= bound && maxAbs > 0.9 * bound, "max |w| " + maxAbs + " vs bound " + bound);
        assertEquals("Conv2d(8 -> 16, kernel=3, padding=1)", conv.describe());
        assertThrows(IllegalArgumentException.class, () -> new Conv2d(6, 4, 3, 1, 1, 1, 4, true, new Random(0)));
    }

    @Test
    void conv2dLayerGradient() {
        Conv2d conv = new Conv2d(4, 4, 3, 2, 1, 1, 2, true, new Random(3));
        Tensor x = GradCheck.param(4, 2, 4, 5, 5);
        GradCheck.check("Conv2d layer (stride 2, groups 2)", in -> conv.forward(in[0]), x);
        GradCheck.check("Conv2d layer weight", in -> conv.forward(x), conv.weight(), conv.bias());
    }

    @Test
    void batchNorm2dTrainingUpdatesRunningStatsLikePyTorch() {
        BatchNorm2d bn = new BatchNorm2d(3);
        Random r = new Random(5);
        Tensor x = Tensor.randn(r, 4, 3, 2, 2).mul(2f).add(1f);
        Tensor y = bn.forward(x);
        assertEquals(1, bn.numBatchesTracked());
        for (int c = 0; c < 3; c++) {
            double sum = 0, sq = 0;
            int m = 0;
            for (int n = 0; n < 4; n++) for (int i = 0; i < 2; i++) for (int j = 0; j < 2; j++) {
                double v = x.get(n, c, i, j);
                sum += v;
                sq += v * v;
                m++;
            }
            double mean = sum / m, var = sq / m - mean * mean;
            assertEquals(0.9 * 0 + 0.1 * mean, bn.runningMean().data()[c], 1e-5);
            assertEquals(0.9 * 1 + 0.1 * var * m / (m - 1), bn.runningVar().data()[c], 1e-5);
            double y0 = (x.get(0, c, 0, 0) - mean) / Math.sqrt(var + 1e-5);
            assertEquals(y0, y.get(0, c, 0, 0), 1e-4);
        }
        bn.eval();
        Tensor ye = bn.forward(x);
        assertEquals(1, bn.numBatchesTracked(), "eval does not count batches");
        double expected = (x.get(1, 2, 1, 0) - bn.runningMean().data()[2]) / Math.sqrt(bn.runningVar().data()[2] + 1e-5);
        assertEquals(expected, ye.get(1, 2, 1, 0), 1e-5);
        assertThrows(IllegalArgumentException.class, () -> bn.forward(Tensor.zeros(2, 4, 2, 2)));
    }

    @Test
    void batchNorm1dNormalisesFeaturesAndHasGradient() {
        BatchNorm1d bn = new BatchNorm1d(3);
        Tensor x = Tensor.randn(new Random(2), 5, 3);
        Tensor y = bn.forward(x);
        for (int c = 0; c < 3; c++) {
            double s = 0, sq = 0;
            for (int n = 0; n < 5; n++) {
                s += y.get(n, c);
                sq += y.get(n, c) * y.get(n, c);
            }
            assertEquals(0, s / 5, 1e-5);
            assertEquals(1, sq / 5, 1e-3);
        }
        assertArrayEquals(new int[] {5, 3, 4}, bn.forward(Tensor.randn(new Random(3), 5, 3, 4)).shape());
        Tensor xp = GradCheck.param(7, 4, 3);
        GradCheck.check("BatchNorm1d", in -> bn.forward(in[0]), xp, bn.weight(), bn.bias());
    }

    @Test
    void dropoutIsIdentityInEvalAndScalesInTraining() {
        Dropout d = new Dropout(0.25, new Random(0));
        Tensor x = Tensor.ones(100, 100);
        Tensor y = d.forward(x);
        int zeros = 0;
        for (float v : y.data()) {
            if (v == 0) zeros++;
            else assertEquals(1 / 0.75, v, 1e-6);
        }
        assertEquals(2500, zeros, 200);
        d.eval();
        assertTrue(d.forward(x) == x);
    }

    @Test
    void poolingLayersAndShapes() {
        Tensor x = Tensor.randn(new Random(0), 2, 3, 8, 8);
        assertArrayEquals(new int[] {2, 3, 4, 4}, new MaxPool2d(2).forward(x).shape());
        assertArrayEquals(new int[] {2, 3, 4, 4}, new MaxPool2d(3, 2, 1).forward(x).shape());
        assertArrayEquals(new int[] {2, 3, 4, 4}, new AvgPool2d(2).forward(x).shape());
        Tensor g = new AdaptiveAvgPool2d(1).forward(x);
        assertArrayEquals(new int[] {2, 3, 1, 1}, g.shape());
        double mean = 0;
        for (int i = 0; i < 8; i++) for (int j = 0; j < 8; j++) mean += x.get(1, 2, i, j) / 64;
        assertEquals(mean, g.get(1, 2, 0, 0), 1e-5);
        assertEquals(x.get(0, 0, 0, 0), new Identity().forward(x).get(0, 0, 0, 0));
        assertArrayEquals(new int[] {2, 192}, new Flatten().forward(x).shape());
        Tensor r6 = new ReLU6().forward(Tensor.of(new float[] {-1, 3, 7}, 3));
        assertArrayEquals(new float[] {0, 3, 6}, r6.data());
        assertEquals("MaxPool2d(kernel=3, stride=2, padding=1)", new MaxPool2d(3, 2, 1).describe());
    }

    @Test
    void initialisersHaveTheDocumentedSpread() {
        Random r = new Random(0);
        Tensor w = Tensor.zeros(64, 32, 3, 3);
        Init.kaimingNormal(w, Init.Fan.OUT, r);
        assertEquals(Math.sqrt(2.0 / (64 * 9)), std(w), 0.02 * Math.sqrt(2.0 / (64 * 9)));
        Init.kaimingNormal(w, Init.Fan.IN, r);
        assertEquals(Math.sqrt(2.0 / (32 * 9)), std(w), 0.02 * Math.sqrt(2.0 / (32 * 9)));
        Tensor l = Tensor.zeros(200, 300);
        Init.xavierUniform(l, 1.0, r);
        double bound = Math.sqrt(6.0 / 500);
        assertEquals(bound / Math.sqrt(3), std(l), 0.02 * bound);
        Init.xavierNormal(l, 1.0, r);
        assertEquals(Math.sqrt(2.0 / 500), std(l), 0.02 * Math.sqrt(2.0 / 500));
        // Same seed, same values.
        assertArrayEquals(Init.kaimingUniform(Tensor.zeros(4, 4), 0, Init.Fan.IN, new Random(9)).data(),
                Init.kaimingUniform(Tensor.zeros(4, 4), 0, Init.Fan.IN, new Random(9)).data());
    }

    static double std(Tensor t) {
        double s = 0, sq = 0;
        for (float v : t.data()) {
            s += v;
            sq += (double) v * v;
        }
        double m = s / t.numel();
        return Math.sqrt(sq / t.numel() - m * m);
    }

    @Test
    void gradModeOffLayersRecordNothing() {
        Conv2d conv = new Conv2d(2, 2, 3, 1, 1, new Random(0));
        try (var ignored = GradMode.off()) {
            assertFalse(conv.forward(Tensor.randn(new Random(1), 1, 2, 4, 4)).requiresGrad());
        }
        assertNotEquals(null, conv.forward(Tensor.randn(new Random(1), 1, 2, 4, 4)).opName());
    }
}
