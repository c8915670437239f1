package org.goldenstick.tensor.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The three window products against float64 loops written from their definitions, on both kernel paths. */
@ExtendWith(KernelSettings.class)
class ShiftedGemmTest {

    private static float[] fill(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = r.nextFloat() * 2 - 1;
        return a;
    }

    private static int[] offsets(Random r, int count, int max) {
        int[] o = new int[count];
        for (int i = 0; i < count; i++) o[i] = r.nextInt(max);
        return o;
    }

    private static void near(double expected, float actual, double mag, String what) {
        assertEquals(expected, actual, 1e-5 * (1 + mag), what);
    }

    /**
     * Sizes around the 8-row tile, the register panel and the one-vector panel with its 16-row tile (tails on every
     * side), overwrite and accumulate.
     */
    private static final int[][] SIZES = {{1, 1, 1}, {3, 5, 7}, {8, 32, 9}, {9, 33, 17}, {16, 80, 27}, {17, 70, 64}, {40, 100, 5},
            {32, 16, 11}, {19, 48, 13}, {33, 8, 6}, {16, 12, 20}};

    @Test
    void packedMultiplyMatchesReferenceOnBothPaths() {
        for (boolean vector : new boolean[] {true, false}) {
            Kernels.useVector(vector);
            Random r = new Random(1);
            for (int[] s : SIZES)
                for (boolean acc : new boolean[] {false, true}) {
                    int m = s[0], n = s[1], k = s[2], lda = k + 2, ldc = n + 1, bOff = 3;
                    float[] a = fill(r, m * lda);
                    int[] off = offsets(r, k, 50);
                    float[] b = fill(r, bOff + 50 + ShiftedGemm.readWidth(n));
                    float[] c = fill(r, m * ldc), c0 = c.clone();
                    int apOff = 5;
                    float[] packed = fill(r, apOff + ShiftedGemm.packedSize(m, k) + 3);
                    ShiftedGemm.pack(m, k, a, 0, lda, packed, apOff);
                    ShiftedGemm.multiplyPacked(m, n, k, packed, apOff, b, bOff, off, c, 0, ldc, acc);
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < n; j++) {
                            double sum = acc ? c0[i * ldc + j] : 0, mag = 0;
                            for (int p = 0; p < k; p++) {
                                double t = (double) a[i * lda + p] * b[bOff + off[p] + j];
                                sum += t;
                                mag += Math.abs(t);
                            }
                            near(sum, c[i * ldc + j], mag, "packed multiply vector=" + vector + " " + m + "x" + n + "x" + k + " at " + i + "," + j);
                        }
                    for (int i = 0; i < m; i++) assertEquals(c0[i * ldc + n], c[i * ldc + n], "column past n untouched");
                }
        }
    }

    @Test
    void multiplyWindowsByRowsMatchesReferenceOnBothPaths() {
        for (boolean vector : new boolean[] {true, false}) {
            Kernels.useVector(vector);
            Random r = new Random(2);
            for (int[] s : SIZES)
                for (boolean acc : new boolean[] {false, true}) {
                    int m = s[0], n = s[1], k = s[2], ldb = n + 3, ldc = n + 1, aOff = 2;
                    int[] off = offsets(r, m, 40);
                    float[] a = fill(r, aOff + 40 + k);
                    float[] b = fill(r, (k - 1) * ldb + ShiftedGemm.readWidth(n));
                    float[] c = fill(r, m * ldc), c0 = c.clone();
                    ShiftedGemm.multiplyWindowsByRows(m, n, k, a, aOff, off, b, 0, ldb, c, 0, ldc, acc);
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < n; j++) {
                            double sum = acc ? c0[i * ldc + j] : 0, mag = 0;
                            for (int p = 0; p < k; p++) {
                                double t = (double) a[aOff + off[i] + p] * b[p * ldb + j];
                                sum += t;
                                mag += Math.abs(t);
                            }
                            near(sum, c[i * ldc + j], mag, "windowsByRows vector=" + vector + " " + m + "x" + n + "x" + k + " at " + i + "," + j);
                        }
                }
        }
    }

    /** Windows in runs of three adjacent ones (a 3-wide kernel row's taps) take the triple kernels: every block and tail. */
    @Test
    void multiplyTripledWindowsByRowsMatchesReferenceOnBothPaths() {
        for (boolean vector : new boolean[] {true, false}) {
            Kernels.useVector(vector);
            Random r = new Random(4);
            for (int m : new int[] {3, 9, 12, 15, 27, 33, 48})
                for (int n : new int[] {5, 16, 20, 32, 45, 64})
                    for (boolean acc : new boolean[] {false, true}) {
                        int k = 1 + r.nextInt(30), ldb = n + 2, ldc = n + 1, aOff = 1;
                        int[] off = new int[m];
                        for (int g = 0; g < m; g += 3) {
                            off[g] = r.nextInt(40);
                            off[g + 1] = off[g] + 1;
                            off[g + 2] = off[g] + 2;
                        }
                        float[] a = fill(r, aOff + 42 + k);
                        float[] b = fill(r, (k - 1) * ldb + ShiftedGemm.readWidth(n));
                        float[] c = fill(r, m * ldc), c0 = c.clone();
                        ShiftedGemm.multiplyWindowsByRows(m, n, k, a, aOff, off, b, 0, ldb, c, 0, ldc, acc);
                        for (int i = 0; i < m; i++) {
                            for (int j = 0; j < n; j++) {
                                double sum = acc ? c0[i * ldc + j] : 0, mag = 0;
                                for (int p = 0; p < k; p++) {
                                    double t = (double) a[aOff + off[i] + p] * b[p * ldb + j];
                                    sum += t;
                                    mag += Math.abs(t);
                                }
                                near(sum, c[i * ldc + j], mag, "tripled windowsByRows vector=" + vector + " " + m + "x" + n + "x" + k + " at " + i + "," + j);
                            }
                            assertEquals(c0[i * ldc + n], c[i * ldc + n], "column past n untouched");
                        }
                    }
        }
    }

    @Test
    void multiplyTransposedMatchesReferenceOnBothPaths() {
        for (boolean vector : new boolean[] {true, false}) {
            Kernels.useVector(vector);
            Random r = new Random(3);
            for (int[] s : SIZES)
                for (boolean acc : new boolean[] {false, true}) {
                    int m = s[0], k = s[1], n = s[2], lda = n + 1, ldc = k + 2;
                    float[] a = fill(r, m * lda);
                    int[] off = offsets(r, k, 30);
                    float[] b = fill(r, 30 + n); // windows read exactly n values
                    float[] c = fill(r, m * ldc), c0 = c.clone();
                    ShiftedGemm.multiplyTransposed(m, k, n, a, 0, lda, b, 0, off, c, 0, ldc, acc);
                    for (int i = 0; i < m; i++)
                        for (int p = 0; p < k; p++) {
                            double sum = acc ? c0[i * ldc + p] : 0, mag = 0;
                            for (int j = 0; j < n; j++) {
                                double t = (double) a[i * lda + j] * b[off[p] + j];
                                sum += t;
                                mag += Math.abs(t);
                            }
                            near(sum, c[i * ldc + p], mag, "transposed vector=" + vector + " at " + i + "," + p);
                        }
                }
        }
    }

    @Test
    void windowsPastTheBufferAreRejectedWithTheirRange() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> ShiftedGemm.multiplyPacked(2, 5, 2, new float[ShiftedGemm.packedSize(2, 2)], 0, new float[10], 0, new int[] {0, 8}, new float[10], 0, 5, false));
        assertTrue(e.getMessage().contains("0..8") && e.getMessage().contains("length 10"), e.getMessage());
    }
}
