package org.goldenstick.tensor;

import static org.goldenstick.GradCheck.check;
import static org.goldenstick.GradCheck.param;
import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PoolingTest {
    /** Distinct values 0.1 apart (shuffled), so finite differences never cross a max-pool tie. */
    static Tensor distinct(long seed, int... shape) {
        int n = Shape.numel(shape);
        List<Float> v = new ArrayList<>();
        for (int i = 0; i < n; i++) v.add((i - n / 2) * 0.1f);
        Collections.shuffle(v, new Random(seed));
        float[] d = new float[n];
        for (int i = 0; i < n; i++) d[i] = v.get(i);
        return Tensor.of(d, shape).requiresGrad(true);
    }

    /** Reference pooling in float64: max or mean over the window clipped to the input. */
    static double[] reference(Tensor x, int kH, int kW, int sH, int sW, int pH, int pW, String mode) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        int oh = (h + 2 * pH - kH) / sH + 1, ow = (w + 2 * pW - kW) / sW + 1;
        double[] y = new double[n * c * oh * ow];
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
                for (int a = 0; a < oh; a++)
                    for (int b = 0; b < ow; b++) {
                        double max = Double.NEGATIVE_INFINITY, sum = 0;
                        int count = 0;
                        for (int ky = 0; ky < kH; ky++)
                            for (int kx = 0; kx < kW; kx++) {
                                int iy = a * sH - pH + ky, ix = b * sW - pW + kx;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                double v = x.get(i, ch, iy, ix);
                                max = Math.max(max, v);
                                sum += v;
                                count++;
                            }
                        y[((i * c + ch) * oh + a) * ow + b] = switch (mode) {
                            case "max" -> max;
                            case "avgInclude" -> sum / (kH * kW);
                            default -> sum / count;
                        };
                    }
        return y;
    }

    static void assertClose(double[] ref, Tensor y, String what) {
        assertEquals(ref.length, y.numel(), what + " size");
        for (int i = 0; i < ref.length; i++) assertEquals(ref[i], y.data()[i], 1e-5 * (1 + Math.abs(ref[i])), what + " at " + i);
    }

    @Test
    void maxPoolForwardAndGradient() {
        int[][] geo = {{2, 2, 2, 2, 0, 0}, {3, 3, 2, 2, 1, 1}, {3, 2, 1, 2, 1, 0}};
        for (int[] g : geo) {
            Tensor x = distinct(7, 2, 3, 7, 6);
            String name = "maxPool2d " + java.util.Arrays.toString(g);
            assertClose(reference(x, g[0], g[1], g[2], g[3], g[4], g[5], "max"), Functional.maxPool2d(x, g[0], g[1], g[2], g[3], g[4], g[5]), name);
            check(name, t -> Functional.maxPool2d(t[0], g[0], g[1], g[2], g[3], g[4], g[5]), x);
        }
    }

    @Test
    void maxPoolTiesGoToTheFirstMaximumAndNaNPropagates() {
        Tensor x = Tensor.of(new float[] {1, 3, 3, 0, 2, 3, Float.NaN, 5}, 1, 1, 2, 4).requiresGrad(true);
        Tensor y = Functional.maxPool2d(x, 2, 2, 2, 2, 0, 0);
        assertEquals(3f, y.data()[0]);
        assertTrue(Float.isNaN(y.data()[1]));
        y.backward(new float[] {1f, 1f});
        assertArrayEquals(new float[] {0, 1, 0, 0, 0, 0, 1, 0}, x.grad().data());
    }

    @Test
    void avgPoolForwardAndGradientWithAndWithoutPadCounting() {
        int[][] geo = {{2, 2, 2, 2, 0, 0}, {3, 3, 2, 2, 1, 1}, {3, 2, 1, 2, 1, 1}};
        for (int[] g : geo) {
            for (boolean include : new boolean[] {true, false}) {
                Tensor x = param(11, 2, 3, 7, 6);
                String name = "avgPool2d " + java.util.Arrays.toString(g) + " includePad=" + include;
                assertClose(reference(x, g[0], g[1], g[2], g[3], g[4], g[5], include ? "avgInclude" : "avgExclude"),
                        Functional.avgPool2d(x, g[0], g[1], g[2], g[3], g[4], g[5], include), name);
                check(name, t -> Functional.avgPool2d(t[0], g[0], g[1], g[2], g[3], g[4], g[5], include), x);
            }
        }
    }

    @Test
    void adaptiveAvgPoolMatchesPyTorchBins() {
        Tensor x = param(3, 2, 2, 5, 7);
        Tensor y = Functional.adaptiveAvgPool2d(x, 3, 2);
        assertArrayEquals(new int[] {2, 2, 3, 2}, y.shape());
        // PyTorch bins for 5 -> 3: [0,2) [1,4) [3,5); for 7 -> 2: [0,4) [3,7)
        int[][] hb = {{0, 2}, {1, 4}, {3, 5}}, wb = {{0, 4}, {3, 7}};
        for (int n = 0; n < 2; n++)
            for (int c = 0; c < 2; c++)
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 2; j++) {
                        double s = 0;
                        for (int a = hb[i][0]; a < hb[i][1]; a++) for (int b = wb[j][0]; b < wb[j][1]; b++) s += x.get(n, c, a, b);
                        s /= (hb[i][1] - hb[i][0]) * (wb[j][1] - wb[j][0]);
                        assertEquals(s, y.get(n, c, i, j), 1e-5);
                    }
        check("adaptiveAvgPool2d 5x7->3x2", t -> Functional.adaptiveAvgPool2d(t[0], 3, 2), x);
        Tensor global = Functional.adaptiveAvgPool2d(x, 1, 1);
        assertEquals(x.mean().item() * 1.0, global.mean().item(), 1e-5);
        check("adaptiveAvgPool2d global", t -> Functional.adaptiveAvgPool2d(t[0], 1, 1), x);
    }

    @Test
    void errorsNameOpAndShape() {
        var e = assertThrows(IllegalArgumentException.class, () -> Functional.maxPool2d(Tensor.zeros(2, 3, 4), 2, 2, 2, 2, 0, 0));
        assertTrue(e.getMessage().contains("maxPool2d") && e.getMessage().contains("[2, 3, 4]"), e.getMessage());
        var k = assertThrows(IllegalArgumentException.class, () -> Functional.avgPool2d(Tensor.zeros(1, 1, 2, 2), 3, 3, 1, 1, 0, 0, true));
        assertTrue(k.getMessage().contains("avgPool2d") && k.getMessage().contains("[1, 1, 2, 2]"), k.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Functional.maxPool2d(Tensor.zeros(1, 1, 4, 4), 2, 2, 2, 2, 2, 0));
    }
}
