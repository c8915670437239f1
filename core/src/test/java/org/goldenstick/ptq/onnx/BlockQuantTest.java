package org.goldenstick.ptq.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The weight-quantization core against float64 references. */
class BlockQuantTest {
    static float[] gauss(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }

    @Test
    void rtnErrorIsWithinHalfAStepAndLevelsInRange() {
        Random r = new Random(1);
        int rows = 7, cols = 80, block = 32;   // 80 = two whole blocks and a partial one
        float[] w = gauss(r, rows * cols);
        for (int bits : new int[] {4, 8}) {
            BlockQuant.Blocks q = BlockQuant.rtn(w, rows, cols, block, bits);
            assertEquals(3, q.blocksPerRow());
            float[] back = q.dequantize();
            for (int i = 0; i < w.length; i++) {
                int lv = q.levels()[i] & 0xFF;
                assertTrue(lv < (1 << bits));
                float step = q.scales()[(i / cols) * 3 + (i % cols) / block];
                assertTrue(Math.abs(back[i] - w[i]) <= step / 2 + 1e-6f, bits + "-bit element " + i + ": " + w[i] + " -> " + back[i] + " step " + step);
            }
        }
    }

    @Test
    void int8PerRowScalesByRowMaximum() {
        float[] w = {0.5f, -1f, 0.25f, 2f, 0f, -0.5f};
        BlockQuant.Int8 q = BlockQuant.int8PerRow(w, 2, 3);
        assertEquals(-127, q.values()[1]);   // Int8 clamps symmetric: [-127, 127]
        assertEquals(127, q.values()[3]);
        assertEquals(1f / 127.5f, q.scales()[0], 1e-9);
        float[] back = q.dequantize();
        for (int i = 0; i < w.length; i++) assertEquals(w[i], back[i], q.scales()[i / 3] / 2 + 1e-7);
    }

    @Test
    void upperCholeskyOfInverseGivesTheInverse() {
        Random r = new Random(2);
        int n = 12;
        double[] a = new double[n * n];
        float[] x = gauss(r, 40 * n);
        for (int t = 0; t < 40; t++) for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) a[i * n + j] += x[t * n + i] * x[t * n + j];
        for (int i = 0; i < n; i++) a[i * n + i] += 0.1;
        double[] u = org.goldenstick.ptq.Gptq.upperCholeskyOfInverse(a, n, "test");
        // (UᵀU) A = I
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int k = 0; k < n; k++) {
                    double inv = 0;
                    for (int m = 0; m < n; m++) inv += u[m * n + i] * u[m * n + k];
                    s += inv * a[k * n + j];
                }
                assertEquals(i == j ? 1 : 0, s, 1e-8, "(" + i + "," + j + ")");
                if (j < i) assertEquals(0, u[i * n + j], 0, "U is upper triangular");
            }
        }
    }

    @Test
    void gptqHasLowerOutputErrorThanRtnOnCorrelatedInputs() {
        for (int cols : new int[] {96, 100}) gptqBeatsRtn(cols);   // 100: a partial last block
    }

    private static void gptqBeatsRtn(int cols) {
        Random r = new Random(3);
        int rows = 24, tokens = 400;
        float[] w = gauss(r, rows * cols);
        // correlated activations with a few large channels, as in transformer hidden states
        float[] base = gauss(r, tokens * 8), mix = gauss(r, 8 * cols);
        float[] x = new float[tokens * cols];
        for (int t = 0; t < tokens; t++) {
            for (int c = 0; c < cols; c++) {
                double v = 0.3 * r.nextGaussian();
                for (int k = 0; k < 8; k++) v += base[t * 8 + k] * mix[k * cols + c];
                x[t * cols + c] = (float) (v * (c % 17 == 0 ? 6 : 1));
            }
        }
        double[] h = new double[cols * cols];
        for (int t = 0; t < tokens; t++) for (int i = 0; i < cols; i++) for (int j = 0; j < cols; j++) h[i * cols + j] += (double) x[t * cols + i] * x[t * cols + j];
        double eRtn = outputError(x, w, BlockQuant.rtn(w, rows, cols, 32, 4).dequantize(), tokens, rows, cols);
        double eGptq = outputError(x, w, BlockQuant.gptq(w, rows, cols, 32, 4, h, 0.01).dequantize(), tokens, rows, cols);
        BlockQuant.Blocks g = BlockQuant.gptq(w, rows, cols, 32, 4, h, 0.01);
        assertEquals((cols + 31) / 32, g.blocksPerRow());
        for (byte lv : g.levels()) assertTrue((lv & 0xFF) < 16);
        assertTrue(eGptq < 0.8 * eRtn, cols + " columns: GPTQ output error " + eGptq + " vs RTN " + eRtn);
    }

    /** Σ over tokens and outputs of (x·(w - q)ᵀ)², in float64. */
    static double outputError(float[] x, float[] w, float[] q, int tokens, int rows, int cols) {
        double e = 0;
        for (int t = 0; t < tokens; t++) {
            for (int o = 0; o < rows; o++) {
                double d = 0;
                for (int c = 0; c < cols; c++) d += (double) x[t * cols + c] * (w[o * cols + c] - q[o * cols + c]);
                e += d * d;
            }
        }
        return e;
    }
}
