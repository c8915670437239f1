package org.goldenstick.tensor.kernel;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import org.junit.jupiter.api.extension.ExtendWith;

/** Sgemm against a float64 reference: odd sizes, transposes, offsets, leading dimensions, both paths. */
@ExtendWith(KernelSettings.class)
class SgemmTest {

    /** Checks one case; C starts random so both overwrite and accumulate are meaningful. */
    static void check(Random rnd, boolean tA, boolean tB, int m, int n, int k, boolean acc) {
        int lda = (tA ? m : k) + rnd.nextInt(3), ldb = (tB ? k : n) + rnd.nextInt(3), ldc = n + rnd.nextInt(3);
        int aOff = rnd.nextInt(5), bOff = rnd.nextInt(5), cOff = rnd.nextInt(5);
        float[] a = fill(rnd, aOff + lda * (tA ? k : m) + 3);
        float[] b = fill(rnd, bOff + ldb * (tB ? n : k) + 3);
        float[] c = fill(rnd, cOff + ldc * m + 3);
        float[] c0 = c.clone();
        Sgemm.gemm(tA, tB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, acc);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0, mag = 0;
                for (int p = 0; p < k; p++) {
                    double x = tA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
                    double y = tB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
                    s += x * y;
                    mag += Math.abs(x * y);
                }
                int ci = cOff + i * ldc + j;
                if (acc) {
                    s += c0[ci];
                    mag += Math.abs(c0[ci]);
                }
                double tol = 2e-6 * Math.sqrt(k + 1.0) * mag + 1e-30;
                if (Math.abs(c[ci] - s) > tol) {
                    fail(String.format("m=%d n=%d k=%d tA=%b tB=%b acc=%b vector=%b: C[%d,%d]=%g, expected %g",
                            m, n, k, tA, tB, acc, Kernels.vector(), i, j, c[ci], s));
                }
            }
        }
        // Everything outside the m×n window of C is untouched.
        for (int idx = 0; idx < c.length; idx++) {
            int rel = idx - cOff;
            boolean inside = rel >= 0 && rel / ldc < m && rel % ldc < n;
            if (!inside) assertEquals(c0[idx], c[idx], "C changed outside its window at " + idx);
        }
    }

    static float[] fill(Random rnd, int len) {
        float[] x = new float[len];
        for (int i = 0; i < len; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }

    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void randomOddSizesAllTransposes(boolean vector) {
        Kernels.useVector(vector);
        Random rnd = new Random(vector ? 11 : 12);
        int[] special = {1, 2, 3, 5, 7, 31, 33, 97, 300};
        for (int t = 0; t < 40; t++) {
            int m = rnd.nextBoolean() ? special[rnd.nextInt(special.length)] : 1 + rnd.nextInt(300);
            int n = rnd.nextBoolean() ? special[rnd.nextInt(special.length)] : 1 + rnd.nextInt(300);
            int k = rnd.nextBoolean() ? special[rnd.nextInt(special.length)] : 1 + rnd.nextInt(300);
            check(rnd, rnd.nextBoolean(), rnd.nextBoolean(), m, n, k, rnd.nextBoolean());
        }
    }

    @Test
    void everyTransposeAndAccumulateOnThePackedPath() {
        Random rnd = new Random(3);
        for (int threads : new int[] {1, 2}) {
            Parallel.setThreads(threads);
            for (boolean tA : new boolean[] {false, true})
                for (boolean tB : new boolean[] {false, true})
                    for (boolean acc : new boolean[] {false, true}) {
                        check(rnd, tA, tB, 197, 141, 261, acc);   // several M blocks, shared B, two K blocks
                        check(rnd, tA, tB, 13, 70, 300, acc);     // one M block: per-task B tiles
                    }
        }
    }

    @Test
    void rowCountsAroundEveryDispatchBoundary() {
        // m crosses the 6-row tile, SMALL_M (16), the dot limit (48) and the row-panel limit (64);
        // n crosses the 32-column panel; k crosses 256 (dot kernels) and the KC block.
        Random rnd = new Random(17);
        for (int m : new int[] {3, 5, 6, 7, 12, 13, 16, 17, 47, 48, 49, 64, 65})
            for (int n : new int[] {31, 33, 70})
                for (int k : new int[] {3, 257}) {
                    check(rnd, rnd.nextBoolean(), false, m, n, k, rnd.nextBoolean());
                    check(rnd, rnd.nextBoolean(), true, m, n, k, rnd.nextBoolean());
                }
    }

    @Test
    void degenerateShapes() {
        Random rnd = new Random(5);
        for (boolean vector : new boolean[] {true, false}) {
            Kernels.useVector(vector);
            for (int[] s : new int[][] {{1, 1, 1}, {1, 300, 1}, {300, 1, 1}, {1, 1, 300}, {1, 257, 300}, {300, 257, 1}, {257, 1, 300}}) {
                for (boolean tA : new boolean[] {false, true})
                    for (boolean tB : new boolean[] {false, true}) check(rnd, tA, tB, s[0], s[1], s[2], rnd.nextBoolean());
            }
        }
    }

    @Test
    void operandsThatDoNotFitAreRejectedWithTheirShape() {
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Sgemm.gemm(false, true, 4, 5, 6, new float[24], 0, 6, new float[29], 0, 6, new float[20], 0, 5, false));
        assertTrue(e.getMessage().contains("B stored as 5x6"), e.getMessage());
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Sgemm.gemm(false, false, 4, 5, 6, new float[24], 0, 5, new float[30], 0, 5, new float[20], 0, 5, false));
    }

    @Test
    void zeroKClearsOrKeepsC() {
        float[] c = {1, 2, 3, 4};
        Sgemm.gemm(false, false, 2, 2, 0, new float[0], 0, 0, new float[0], 0, 2, c, 0, 2, true);
        assertTrue(c[3] == 4f);
        for (boolean vector : new boolean[] {true, false}) {
            Kernels.useVector(vector);
            float[] d = {1, 2, 3, 4};
            Sgemm.gemm(false, false, 2, 2, 0, new float[0], 0, 0, new float[0], 0, 2, d, 0, 2, false);
            for (float v : d) assertEquals(0f, v);
        }
    }
}
