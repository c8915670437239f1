package org.goldenstick.ptq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.tensor.kernel.PackedIntWeights;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** GPTQ against a float64 reference written here: the original column-by-column OBS update with an explicit inverse. */
class GptqTest {
    @BeforeAll
    static void quiet() {
        System.setProperty("gstick.quiet", "true");
    }

    static final int ROWS = 24, COLS = 64, TOKENS = 300;

    static double[] hessian(float[] x, int n, int cols) {
        double[] h = new double[cols * cols];
        for (int t = 0; t < n; t++) for (int i = 0; i < cols; i++) for (int j = 0; j < cols; j++) h[i * cols + j] += 2.0 * x[t * cols + i] * x[t * cols + j] / n;
        return h;
    }

    /** Correlated inputs with a few large channels, one dead channel, and random weights. */
    static float[][] problem(long seed) {
        Random rng = new Random(seed);
        float[] x = new float[TOKENS * COLS];
        for (int t = 0; t < TOKENS; t++) {
            double common = rng.nextGaussian();
            for (int c = 0; c < COLS; c++) x[t * COLS + c] = (float) ((c % 7 == 0 ? 5 : 1) * (rng.nextGaussian() + 0.6 * common));
            x[t * COLS + 13] = 0; // dead input
        }
        float[] w = new float[ROWS * COLS];
        for (int i = 0; i < w.length; i++) w[i] = (float) (0.1 * rng.nextGaussian());
        return new float[][] {x, w};
    }

    /** The reference: float64, no blocks, no Cholesky; H⁻¹ reduced by one row/column after each quantized column. */
    static double[] reference(float[] w, double[] h0, WeightScheme ws, boolean actOrder, double damp) {
        return reference(w, h0, ws, actOrder, damp, COLS);
    }

    /** The same for {@code n} columns; a last group shorter than the group size is a group of its own. */
    static double[] reference(float[] w, double[] h0, WeightScheme ws, boolean actOrder, double damp, int n) {
        int gs = ws.groupSize() == 0 ? n : ws.groupSize(), groups = (n + gs - 1) / gs;
        double[] H = h0.clone();
        double[] W = new double[ROWS * n];
        for (int i = 0; i < W.length; i++) W[i] = w[i];
        for (int i = 0; i < n; i++) if (H[i * n + i] == 0) {
            H[i * n + i] = 1;
            for (int r = 0; r < ROWS; r++) W[r * n + i] = 0;
        }
        float[][] scale = new float[ROWS][groups];
        int[][] zp = new int[ROWS][groups];
        boolean[] ready = new boolean[groups];
        float[] sz = new float[2];
        Runnable unused = () -> {};
        if (actOrder || gs == n) {
            for (int g = 0; g < groups; g++) {
                for (int r = 0; r < ROWS; r++) {
                    double mn = 1e300, mx = -1e300;
                    for (int c = g * gs; c < Math.min(n, (g + 1) * gs); c++) {
                        mn = Math.min(mn, W[r * n + c]);
                        mx = Math.max(mx, W[r * n + c]);
                    }
                    ws.params((float) mn, (float) mx, DType.F32, sz);
                    scale[r][g] = sz[0];
                    zp[r][g] = (int) sz[1];
                }
                ready[g] = true;
            }
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        final double[] hd = H;
        if (actOrder) java.util.Arrays.sort(order, (a, b) -> Double.compare(hd[b * n + b], hd[a * n + a]));
        double mean = 0;
        for (int i = 0; i < n; i++) mean += H[i * n + i];
        for (int i = 0; i < n; i++) H[i * n + i] += damp * mean / n;
        double[] Hinv = invert(H, n);
        boolean[] done = new boolean[n];
        double[] Q = new double[ROWS * n];
        for (int step = 0; step < n; step++) {
            int i = order[step], g = i / gs;
            if (!ready[g]) {
                for (int r = 0; r < ROWS; r++) {
                    double mn = 1e300, mx = -1e300;
                    for (int c = g * gs; c < Math.min(n, (g + 1) * gs); c++) {
                        mn = Math.min(mn, W[r * n + c]);
                        mx = Math.max(mx, W[r * n + c]);
                    }
                    ws.params((float) mn, (float) mx, DType.F32, sz);
                    scale[r][g] = sz[0];
                    zp[r][g] = (int) sz[1];
                }
                ready[g] = true;
            }
            for (int r = 0; r < ROWS; r++) {
                double wv = W[r * n + i];
                double q = (ws.code((float) wv, scale[r][g], zp[r][g]) - zp[r][g]) * (double) scale[r][g];
                Q[r * n + i] = q;
                double e = (wv - q) / Hinv[i * n + i];
                for (int j = 0; j < n; j++) if (!done[j] && j != i) W[r * n + j] -= e * Hinv[i * n + j];
            }
            // remove i from the inverse: Hinv -= Hinv[:, i] Hinv[i, :] / Hinv[i, i]
            double d = Hinv[i * n + i];
            double[] col = new double[n];
            for (int a = 0; a < n; a++) col[a] = Hinv[a * n + i];
            for (int a = 0; a < n; a++) for (int b = 0; b < n; b++) Hinv[a * n + b] -= col[a] * col[b] / d;
            done[i] = true;
        }
        return Q;
    }

    /** Gauss-Jordan inverse with partial pivoting (float64). */
    static double[] invert(double[] a, int n) {
        double[] m = a.clone(), inv = new double[n * n];
        for (int i = 0; i < n; i++) inv[i * n + i] = 1;
        for (int c = 0; c < n; c++) {
            int p = c;
            for (int r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]) > Math.abs(m[p * n + c])) p = r;
            for (int k = 0; k < n; k++) {
                double t = m[c * n + k]; m[c * n + k] = m[p * n + k]; m[p * n + k] = t;
                t = inv[c * n + k]; inv[c * n + k] = inv[p * n + k]; inv[p * n + k] = t;
            }
            double d = m[c * n + c];
            for (int k = 0; k < n; k++) {
                m[c * n + k] /= d;
                inv[c * n + k] /= d;
            }
            for (int r = 0; r < n; r++) {
                if (r == c) continue;
                double f = m[r * n + c];
                if (f == 0) continue;
                for (int k = 0; k < n; k++) {
                    m[r * n + k] -= f * m[c * n + k];
                    inv[r * n + k] -= f * inv[c * n + k];
                }
            }
        }
        return inv;
    }

    @ParameterizedTest
    @CsvSource({"4, 32, true, false, 128", "4, 32, true, false, 8", "4, 32, false, false, 16", "4, 0, true, false, 128",
            "4, 32, true, true, 128", "4, 32, false, true, 8", "8, 32, true, false, 8", "4, 0, false, true, 16"})
    void equalsTheFloat64Reference(int bits, int group, boolean sym, boolean actOrder, int block) {
        float[][] p = problem(bits * 31 + group + (sym ? 1 : 0) + (actOrder ? 7 : 0));
        double[] h = hessian(p[0], TOKENS, COLS);
        WeightScheme ws = WeightScheme.of(bits, group, sym);
        Gptq.Result r = Gptq.quantize(p[1], ROWS, COLS, h, new Gptq.Settings(ws, 0.01, block, actOrder), DType.F32, "test");
        double[] ref = reference(p[1], h, ws, actOrder, 0.01);
        PackedIntWeights pw = r.weights();
        int mismatches = 0;
        for (int i = 0; i < ref.length; i++) {
            assertEquals(ref[i], r.dequantized()[i], 1e-6, "weight " + i);
            if (Math.abs(ref[i] - (pw.q(i / COLS, i % COLS) - pw.zeroPoint(i / COLS, i % COLS)) * pw.scale(i / COLS, i % COLS)) > 1e-6) mismatches++;
        }
        assertEquals(0, mismatches, "packed codes stand for the reference's values");
        // the dead input's column is zero
        for (int o = 0; o < ROWS; o++) assertEquals(0.0, r.dequantized()[o * COLS + 13], 1e-12);
        // and GPTQ's output error beats RTN's on the calibration inputs
        float[] rtn = WNA16Linear.fromFloat(p[1], ROWS, COLS, null, ws, DType.F32, "rtn").weights().dequantize();
        assertTrue(outputError(p[0], p[1], r.dequantized()) < outputError(p[0], p[1], rtn), "GPTQ error below RTN's");
    }

    @Test
    void paddedWidthEqualsTheReferenceWithAShortLastGroup() {
        int cols = 56;   // groups of 32: one whole, one of 24 columns
        float[][] p = problem(5);
        float[] x = new float[TOKENS * cols], w = new float[ROWS * cols];
        for (int t = 0; t < TOKENS; t++) System.arraycopy(p[0], t * COLS, x, t * cols, cols);
        for (int r = 0; r < ROWS; r++) System.arraycopy(p[1], r * COLS, w, r * cols, cols);
        double[] h = new double[cols * cols];
        for (int t = 0; t < TOKENS; t++) for (int i = 0; i < cols; i++) for (int j = 0; j < cols; j++) h[i * cols + j] += 2.0 * x[t * cols + i] * x[t * cols + j] / TOKENS;
        WeightScheme ws = WeightScheme.of(4, 32, false);
        assertThrows(IllegalArgumentException.class, () -> Gptq.quantize(w, ROWS, cols, h, Gptq.Settings.defaults(ws), DType.F32, "test"));
        Gptq.Result r = Gptq.quantizePadded(w, ROWS, cols, h, new Gptq.Settings(ws, 0.01, 16, false), DType.F32, "test");
        assertEquals(64, r.weights().cols());
        double[] ref = reference(w, h, ws, false, 0.01, cols);
        for (int o = 0; o < ROWS; o++) {
            for (int c = 0; c < 64; c++) {
                double got = r.dequantized()[o * 64 + c];
                if (c < cols) assertEquals(ref[o * cols + c], got, 1e-6, "weight " + o + "," + c);
                else assertEquals(0.0, got, 0.0, "padding column " + c + " stays zero");
            }
        }
        // a width the group divides is plain quantize
        double[] h64 = hessian(p[0], TOKENS, COLS);
        Gptq.Settings s64 = Gptq.Settings.defaults(ws);
        assertEquals(java.util.Arrays.toString(Gptq.quantize(p[1], ROWS, COLS, h64, s64, DType.F32, "t").dequantized()),
                java.util.Arrays.toString(Gptq.quantizePadded(p[1], ROWS, COLS, h64, s64, DType.F32, "t").dequantized()));
    }

    static double outputError(float[] x, float[] w, float[] q) {
        double e = 0;
        for (int t = 0; t < TOKENS; t++)
            for (int o = 0; o < ROWS; o++) {
                double s = 0;
                for (int c = 0; c < COLS; c++) s += x[t * COLS + c] * ((double) w[o * COLS + c] - q[o * COLS + c]);
                e += s * s;
            }
        return e;
    }

    @Test
    void tooFewCalibrationTokensFailsNamingTheLayer() {
        LlamaModel m = LlamaFixtures.randomModel(LlamaFixtures.tinyConfig(), 3);
        var plan = WeightOnlyQuantizer.uniform(PtqAlgorithm.targets(m, PTQConfig.rtn()), WeightScheme.of(4, 32, true));
        var e = assertThrows(IllegalArgumentException.class, () -> WeightOnlyQuantizer.gptq(m, List.of(new int[] {1, 2, 3}), plan, Gptq.Settings.defaults(WeightScheme.of(4, 32, true)), DType.F32));
        assertTrue(e.getMessage().contains("rank-deficient") && e.getMessage().contains("down_proj"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Gptq.Settings(WeightScheme.of(4, 32, true), 0, 128, false));
    }
}
