package org.goldenstick.tensor.kernel;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Matrix products with an implicit operand B whose row {@code p} is the window {@code b[bOff + rowOff[p] + j]},
 * {@code j < n}, of one buffer: the rows of a stride-1 convolution's im2col matrix are such windows of the
 * zero-padded image (row (c, i, j) starts at {@code c·plane + i·dH·wp + j·dW}), so a convolution multiplies its
 * weights by them without ever writing the column matrix (implicit GEMM). Both ops are serial; convolutions
 * parallelise over images around them.
 *
 * <p>Two paths, selected by {@link Kernels#vector()}: the Vector API micro-kernels and the scalar reference loops.
 * {@link #multiplyPacked}'s vector path reads whole panels of {@link #panelWidth()} columns, so each window must stay
 * readable up to {@code n} rounded up to a panel ({@link #readWidth}); the values read past {@code n} only reach
 * discarded columns.
 *
 * <pre>{@code
 * // y[o, j] = Σ_p w[o, p] · xp[taps[p] + j]   (a 3×3 convolution on the padded image xp)
 * float[] packed = new float[ShiftedGemm.packedSize(o, taps.length)];
 * ShiftedGemm.pack(o, taps.length, w, 0, taps.length, packed, 0);
 * ShiftedGemm.multiplyPacked(o, n, taps.length, packed, 0, xp, 0, taps, y, 0, n, false);
 * }</pre>
 */
public final class ShiftedGemm {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** Eight rows: convolution channel counts are mostly multiples of 8 (16 accumulators, 2 B loads, 8 broadcasts per step). */
    private static final int L = S.length(), MR = 8, NR = PackedGemm.NR;
    /** Rows of the narrow kernel: 16 accumulators, one B load and 16 broadcasts per step. */
    private static final int NARROW_MR = 16;
    /** Groups of three windows per block: {@link #tripleKernel} (panels wider than a vector) and {@link #narrowTripleKernel}. */
    private static final int TRIPLES = 3, NARROW_TRIPLES = 5;
    private static final ThreadLocal<float[]> TILE = ThreadLocal.withInitial(() -> new float[Math.max(3 * TRIPLES * NR, Math.max(MR * NR, NARROW_MR * L))]);
    private static final ThreadLocal<int[]> NARROW_ROWS = ThreadLocal.withInitial(() -> new int[NARROW_MR]);

    private ShiftedGemm() {}

    /** Columns the vector path computes at once; windows are read in whole panels of this width. */
    public static int panelWidth() {
        return NR;
    }

    /**
     * Columns of one vector: a product with at most this many columns (or a panel tail that narrow) runs a taller
     * kernel with one vector of columns, as efficient per multiply-add as a full panel.
     */
    public static int narrowPanelWidth() {
        return L;
    }

    /** How many values of each window {@link #multiplyPacked} may read for {@code n} output columns. */
    public static int readWidth(int n) {
        return (n + NR - 1) / NR * NR;
    }

    /** Length of {@link #pack}'s output for an m×k matrix: row blocks of 8, rows past m repeated. */
    public static int packedSize(int m, int k) {
        return (m + MR - 1) / MR * MR * k;
    }

    /**
     * Packs A[m, k] (row-major, leading dimension lda) for {@link #multiplyPacked}: for each block of 8 rows, the 8
     * values of step p side by side ({@code dst[dOff + (blk·k + p)·8 + r]}), rows past m repeating the last row. A
     * convolution packs its weights once per call and multiplies every image by them.
     */
    public static void pack(int m, int k, float[] a, int aOff, int lda, float[] dst, int dOff) {
        for (int blk = 0; blk * MR < m; blk++)
            for (int r = 0; r < MR; r++) {
                int src = aOff + Math.min(blk * MR + r, m - 1) * lda, d = dOff + blk * k * MR + r;
                for (int p = 0; p < k; p++, d += MR) dst[d] = a[src + p];
            }
    }

    /**
     * {@code C[m, n] (+)= A[m, k] · B} with A given {@link #pack packed} at {@code apOff} and B's row p the window at
     * {@code bOff + rowOff[p]}, each readable for {@link #readWidth}{@code (n)} values. The kernel reads all eight rows'
     * values of a step from one place and takes two steps per iteration: 65 -> 76 G multiply-adds per CPU-second on
     * ResNet-20's 3×3 shapes against the unpacked 8-row kernel of {@link #multiplyWindowsByRows} (unrolling that one,
     * with its eight row pointers, made C2's code slower instead).
     */
    public static void multiplyPacked(int m, int n, int k, float[] ap, int apOff, float[] b, int bOff, int[] rowOff,
                                      float[] c, int cOff, int ldc, boolean accumulate) {
        if (m <= 0 || n <= 0) return;
        if (apOff < 0 || (long) apOff + packedSize(m, k) > ap.length) {
            throw new IllegalArgumentException("shifted gemm: packed A of " + m + "x" + k + " at offset " + apOff + " does not fit an array of length " + ap.length);
        }
        checkWindows(b, bOff, rowOff, k, readWidth(n));
        if (!Kernels.vector()) {
            for (int i = 0; i < m; i++) {
                int ci = cOff + i * ldc, ai = apOff + (i / MR) * k * MR + i % MR;
                if (!accumulate) Arrays.fill(c, ci, ci + n, 0f);
                for (int p = 0; p < k; p++) {
                    float av = ap[ai + p * MR];
                    int bp = bOff + rowOff[p];
                    for (int j = 0; j < n; j++) c[ci + j] += av * b[bp + j];
                }
            }
            return;
        }
        float[] tile = TILE.get();
        for (int j = 0; j < n; j += NR) {
            int w = Math.min(NR, n - j);
            for (int i = 0; i < m; i += MR) {
                int h = Math.min(MR, m - i), a0 = apOff + i * k;
                if (h == MR && w == NR) {
                    packedKernel(k, ap, a0, b, bOff + j, rowOff, c, cOff + i * ldc + j, ldc, accumulate);
                } else {
                    packedKernel(k, ap, a0, b, bOff + j, rowOff, tile, 0, NR, false);
                    for (int r = 0; r < h; r++) {
                        int co = cOff + (i + r) * ldc + j;
                        if (accumulate) for (int q = 0; q < w; q++) c[co + q] += tile[r * NR + q];
                        else System.arraycopy(tile, r * NR, c, co, w);
                    }
                }
            }
        }
    }

    /** Eight packed A rows (step p's values at {@code a0 + p·8}) times one panel of windows, two steps per iteration. */
    private static void packedKernel(int k, float[] a, int a0, float[] b, int b0, int[] rowOff, float[] c, int co, int ldc, boolean add) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71;
        if (add) {
            c00 = FloatVector.fromArray(S, c, co);
            c01 = FloatVector.fromArray(S, c, co + L);
            c10 = FloatVector.fromArray(S, c, co + ldc);
            c11 = FloatVector.fromArray(S, c, co + ldc + L);
            c20 = FloatVector.fromArray(S, c, co + 2 * ldc);
            c21 = FloatVector.fromArray(S, c, co + 2 * ldc + L);
            c30 = FloatVector.fromArray(S, c, co + 3 * ldc);
            c31 = FloatVector.fromArray(S, c, co + 3 * ldc + L);
            c40 = FloatVector.fromArray(S, c, co + 4 * ldc);
            c41 = FloatVector.fromArray(S, c, co + 4 * ldc + L);
            c50 = FloatVector.fromArray(S, c, co + 5 * ldc);
            c51 = FloatVector.fromArray(S, c, co + 5 * ldc + L);
            c60 = FloatVector.fromArray(S, c, co + 6 * ldc);
            c61 = FloatVector.fromArray(S, c, co + 6 * ldc + L);
            c70 = FloatVector.fromArray(S, c, co + 7 * ldc);
            c71 = FloatVector.fromArray(S, c, co + 7 * ldc + L);
        } else {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = c60 = c61 = c70 = c71 = FloatVector.zero(S);
        }
        int p = 0, ao = a0;
        for (; p + 1 < k; p += 2, ao += 2 * MR) {
            int bo = b0 + rowOff[p];
            FloatVector x0 = FloatVector.fromArray(S, b, bo), x1 = FloatVector.fromArray(S, b, bo + L);
            FloatVector av = FloatVector.broadcast(S, a[ao]);
            c00 = av.fma(x0, c00);
            c01 = av.fma(x1, c01);
            av = FloatVector.broadcast(S, a[ao + 1]);
            c10 = av.fma(x0, c10);
            c11 = av.fma(x1, c11);
            av = FloatVector.broadcast(S, a[ao + 2]);
            c20 = av.fma(x0, c20);
            c21 = av.fma(x1, c21);
            av = FloatVector.broadcast(S, a[ao + 3]);
            c30 = av.fma(x0, c30);
            c31 = av.fma(x1, c31);
            av = FloatVector.broadcast(S, a[ao + 4]);
            c40 = av.fma(x0, c40);
            c41 = av.fma(x1, c41);
            av = FloatVector.broadcast(S, a[ao + 5]);
            c50 = av.fma(x0, c50);
            c51 = av.fma(x1, c51);
            av = FloatVector.broadcast(S, a[ao + 6]);
            c60 = av.fma(x0, c60);
            c61 = av.fma(x1, c61);
            av = FloatVector.broadcast(S, a[ao + 7]);
            c70 = av.fma(x0, c70);
            c71 = av.fma(x1, c71);
            bo = b0 + rowOff[p + 1];
            x0 = FloatVector.fromArray(S, b, bo);
            x1 = FloatVector.fromArray(S, b, bo + L);
            av = FloatVector.broadcast(S, a[ao + 8]);
            c00 = av.fma(x0, c00);
            c01 = av.fma(x1, c01);
            av = FloatVector.broadcast(S, a[ao + 9]);
            c10 = av.fma(x0, c10);
            c11 = av.fma(x1, c11);
            av = FloatVector.broadcast(S, a[ao + 10]);
            c20 = av.fma(x0, c20);
            c21 = av.fma(x1, c21);
            av = FloatVector.broadcast(S, a[ao + 11]);
            c30 = av.fma(x0, c30);
            c31 = av.fma(x1, c31);
            av = FloatVector.broadcast(S, a[ao + 12]);
            c40 = av.fma(x0, c40);
            c41 = av.fma(x1, c41);
            av = FloatVector.broadcast(S, a[ao + 13]);
            c50 = av.fma(x0, c50);
            c51 = av.fma(x1, c51);
            av = FloatVector.broadcast(S, a[ao + 14]);
            c60 = av.fma(x0, c60);
            c61 = av.fma(x1, c61);
            av = FloatVector.broadcast(S, a[ao + 15]);
            c70 = av.fma(x0, c70);
            c71 = av.fma(x1, c71);
        }
        if (p < k) { // odd k: the last step
            int bo = b0 + rowOff[p];
            FloatVector x0 = FloatVector.fromArray(S, b, bo), x1 = FloatVector.fromArray(S, b, bo + L);
            FloatVector av = FloatVector.broadcast(S, a[ao]);
            c00 = av.fma(x0, c00);
            c01 = av.fma(x1, c01);
            av = FloatVector.broadcast(S, a[ao + 1]);
            c10 = av.fma(x0, c10);
            c11 = av.fma(x1, c11);
            av = FloatVector.broadcast(S, a[ao + 2]);
            c20 = av.fma(x0, c20);
            c21 = av.fma(x1, c21);
            av = FloatVector.broadcast(S, a[ao + 3]);
            c30 = av.fma(x0, c30);
            c31 = av.fma(x1, c31);
            av = FloatVector.broadcast(S, a[ao + 4]);
            c40 = av.fma(x0, c40);
            c41 = av.fma(x1, c41);
            av = FloatVector.broadcast(S, a[ao + 5]);
            c50 = av.fma(x0, c50);
            c51 = av.fma(x1, c51);
            av = FloatVector.broadcast(S, a[ao + 6]);
            c60 = av.fma(x0, c60);
            c61 = av.fma(x1, c61);
            av = FloatVector.broadcast(S, a[ao + 7]);
            c70 = av.fma(x0, c70);
            c71 = av.fma(x1, c71);
        }
        c00.intoArray(c, co);
        c01.intoArray(c, co + L);
        c10.intoArray(c, co + ldc);
        c11.intoArray(c, co + ldc + L);
        c20.intoArray(c, co + 2 * ldc);
        c21.intoArray(c, co + 2 * ldc + L);
        c30.intoArray(c, co + 3 * ldc);
        c31.intoArray(c, co + 3 * ldc + L);
        c40.intoArray(c, co + 4 * ldc);
        c41.intoArray(c, co + 4 * ldc + L);
        c50.intoArray(c, co + 5 * ldc);
        c51.intoArray(c, co + 5 * ldc + L);
        c60.intoArray(c, co + 6 * ldc);
        c61.intoArray(c, co + 6 * ldc + L);
        c70.intoArray(c, co + 7 * ldc);
        c71.intoArray(c, co + 7 * ldc + L);
    }

    /**
     * {@code C[m, n] (+)= A · B[k, n]} where A's row i is the window at {@code aOff + rowOff[i]} (read for k values)
     * and B is row-major with leading dimension ldb: the transposed weight gradient of a convolution,
     * {@code dWᵀ[p, o] += Σ_j xp[taps[p] + j] · dYᵀ[j, o]}, without a reduction across vector lanes. B's rows are
     * read in whole panels, so each must be readable for {@link #readWidth}{@code (n)} values.
     */
    public static void multiplyWindowsByRows(int m, int n, int k, float[] a, int aOff, int[] rowOff, float[] b, int bOff, int ldb,
                                             float[] c, int cOff, int ldc, boolean accumulate) {
        if (m <= 0 || n <= 0) return;
        checkWindows(a, aOff, rowOff, m, k);
        if (k > 0 && (bOff < 0 || (long) bOff + (long) (k - 1) * ldb + readWidth(n) > b.length)) {
            throw new IllegalArgumentException("shifted gemm: B of " + k + " rows with leading dimension " + ldb + " read " + readWidth(n)
                    + " wide at offset " + bOff + " does not fit an array of length " + b.length);
        }
        if (Kernels.vector() && tripled(m, rowOff)) tripleProduct(m, n, k, a, aOff, rowOff, b, bOff, ldb, c, cOff, ldc, accumulate);
        else product(m, n, k, a, aOff, 0, rowOff, b, bOff, ldb, null, c, cOff, ldc, accumulate);
    }

    /**
     * Whether the windows come in runs of three adjacent ones (row 3g + j at {@code rowOff[3g] + j}): the taps of a 3-wide,
     * undilated, stride-1 kernel row. The triple kernels then read three rows through one pointer (constant
     * displacements), so a block of rows needs a third of the pointers that C2 must keep in registers.
     */
    private static boolean tripled(int m, int[] rowOff) {
        if (m % 3 != 0) return false;
        for (int g = 0; g < m; g += 3) if (rowOff[g + 1] != rowOff[g] + 1 || rowOff[g + 2] != rowOff[g] + 2) return false;
        return true;
    }

    /** {@link #multiplyWindowsByRows} on tripled windows (vector path): the same sums in the same order. */
    private static void tripleProduct(int m, int n, int k, float[] a, int aOff, int[] rowOff, float[] b, int bOff, int ldb,
                                      float[] c, int cOff, int ldc, boolean accumulate) {
        float[] tile = TILE.get();
        int groups = m / 3;
        for (int j = 0; j < n; j += NR) {
            int w = Math.min(NR, n - j);
            boolean narrow = w <= L;
            int per = narrow ? NARROW_TRIPLES : TRIPLES, width = narrow ? L : NR;
            for (int g = 0; g < groups; g += per) {
                int h = Math.min(per, groups - g), last = g + h - 1;
                // Groups past the last repeat it; their results are dropped.
                int g0 = aOff + rowOff[3 * g], g1 = aOff + rowOff[3 * Math.min(g + 1, last)], g2 = aOff + rowOff[3 * Math.min(g + 2, last)];
                boolean direct = h == per && w == width;
                float[] dst = direct ? c : tile;
                int co = direct ? cOff + 3 * g * ldc + j : 0, ld = direct ? ldc : width;
                if (narrow) {
                    int g3 = aOff + rowOff[3 * Math.min(g + 3, last)], g4 = aOff + rowOff[3 * Math.min(g + 4, last)];
                    narrowTripleKernel(k, a, g0, g1, g2, g3, g4, b, bOff + j, ldb, dst, co, ld, direct && accumulate);
                } else {
                    tripleKernel(k, a, g0, g1, g2, b, bOff + j, ldb, dst, co, ld, direct && accumulate);
                }
                if (direct) continue;
                for (int r = 0; r < 3 * h; r++) {
                    int at = cOff + (3 * g + r) * ldc + j;
                    if (accumulate) for (int q = 0; q < w; q++) c[at + q] += tile[r * width + q];
                    else System.arraycopy(tile, r * width, c, at, w);
                }
            }
        }
    }

    /** Three triples of windows (nine rows, row 3t + j at {@code g_t + j + p}) times two vectors of B per step. */
    private static void tripleKernel(int k, float[] a, int g0, int g1, int g2, float[] b, int b0, int ldb, float[] c, int co, int ldc, boolean add) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71, c80, c81;
        if (add) {
            c00 = FloatVector.fromArray(S, c, co);
            c01 = FloatVector.fromArray(S, c, co + L);
            c10 = FloatVector.fromArray(S, c, co + ldc);
            c11 = FloatVector.fromArray(S, c, co + ldc + L);
            c20 = FloatVector.fromArray(S, c, co + 2 * ldc);
            c21 = FloatVector.fromArray(S, c, co + 2 * ldc + L);
            c30 = FloatVector.fromArray(S, c, co + 3 * ldc);
            c31 = FloatVector.fromArray(S, c, co + 3 * ldc + L);
            c40 = FloatVector.fromArray(S, c, co + 4 * ldc);
            c41 = FloatVector.fromArray(S, c, co + 4 * ldc + L);
            c50 = FloatVector.fromArray(S, c, co + 5 * ldc);
            c51 = FloatVector.fromArray(S, c, co + 5 * ldc + L);
            c60 = FloatVector.fromArray(S, c, co + 6 * ldc);
            c61 = FloatVector.fromArray(S, c, co + 6 * ldc + L);
            c70 = FloatVector.fromArray(S, c, co + 7 * ldc);
            c71 = FloatVector.fromArray(S, c, co + 7 * ldc + L);
            c80 = FloatVector.fromArray(S, c, co + 8 * ldc);
            c81 = FloatVector.fromArray(S, c, co + 8 * ldc + L);
        } else {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = c60 = c61 = c70 = c71 = c80 = c81 = FloatVector.zero(S);
        }
        for (int p = 0; p < k; p++) {
            int bo = b0 + p * ldb;
            FloatVector x0 = FloatVector.fromArray(S, b, bo), x1 = FloatVector.fromArray(S, b, bo + L);
            FloatVector av = FloatVector.broadcast(S, a[g0 + p]);
            c00 = av.fma(x0, c00);
            c01 = av.fma(x1, c01);
            av = FloatVector.broadcast(S, a[g0 + p + 1]);
            c10 = av.fma(x0, c10);
            c11 = av.fma(x1, c11);
            av = FloatVector.broadcast(S, a[g0 + p + 2]);
            c20 = av.fma(x0, c20);
            c21 = av.fma(x1, c21);
            av = FloatVector.broadcast(S, a[g1 + p]);
            c30 = av.fma(x0, c30);
            c31 = av.fma(x1, c31);
            av = FloatVector.broadcast(S, a[g1 + p + 1]);
            c40 = av.fma(x0, c40);
            c41 = av.fma(x1, c41);
            av = FloatVector.broadcast(S, a[g1 + p + 2]);
            c50 = av.fma(x0, c50);
            c51 = av.fma(x1, c51);
            av = FloatVector.broadcast(S, a[g2 + p]);
            c60 = av.fma(x0, c60);
            c61 = av.fma(x1, c61);
            av = FloatVector.broadcast(S, a[g2 + p + 1]);
            c70 = av.fma(x0, c70);
            c71 = av.fma(x1, c71);
            av = FloatVector.broadcast(S, a[g2 + p + 2]);
            c80 = av.fma(x0, c80);
            c81 = av.fma(x1, c81);
        }
        c00.intoArray(c, co);
        c01.intoArray(c, co + L);
        c10.intoArray(c, co + ldc);
        c11.intoArray(c, co + ldc + L);
        c20.intoArray(c, co + 2 * ldc);
        c21.intoArray(c, co + 2 * ldc + L);
        c30.intoArray(c, co + 3 * ldc);
        c31.intoArray(c, co + 3 * ldc + L);
        c40.intoArray(c, co + 4 * ldc);
        c41.intoArray(c, co + 4 * ldc + L);
        c50.intoArray(c, co + 5 * ldc);
        c51.intoArray(c, co + 5 * ldc + L);
        c60.intoArray(c, co + 6 * ldc);
        c61.intoArray(c, co + 6 * ldc + L);
        c70.intoArray(c, co + 7 * ldc);
        c71.intoArray(c, co + 7 * ldc + L);
        c80.intoArray(c, co + 8 * ldc);
        c81.intoArray(c, co + 8 * ldc + L);
    }

    /** Five triples of windows (fifteen rows) times one vector of B per step: the 16-channel weight gradient. */
    private static void narrowTripleKernel(int k, float[] a, int g0, int g1, int g2, int g3, int g4, float[] b, int b0, int ldb,
                                           float[] c, int co, int ldc, boolean add) {
        FloatVector c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14;
        if (add) {
            c0 = FloatVector.fromArray(S, c, co);
            c1 = FloatVector.fromArray(S, c, co + ldc);
            c2 = FloatVector.fromArray(S, c, co + 2 * ldc);
            c3 = FloatVector.fromArray(S, c, co + 3 * ldc);
            c4 = FloatVector.fromArray(S, c, co + 4 * ldc);
            c5 = FloatVector.fromArray(S, c, co + 5 * ldc);
            c6 = FloatVector.fromArray(S, c, co + 6 * ldc);
            c7 = FloatVector.fromArray(S, c, co + 7 * ldc);
            c8 = FloatVector.fromArray(S, c, co + 8 * ldc);
            c9 = FloatVector.fromArray(S, c, co + 9 * ldc);
            c10 = FloatVector.fromArray(S, c, co + 10 * ldc);
            c11 = FloatVector.fromArray(S, c, co + 11 * ldc);
            c12 = FloatVector.fromArray(S, c, co + 12 * ldc);
            c13 = FloatVector.fromArray(S, c, co + 13 * ldc);
            c14 = FloatVector.fromArray(S, c, co + 14 * ldc);
        } else {
            c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = c8 = c9 = c10 = c11 = c12 = c13 = c14 = FloatVector.zero(S);
        }
        for (int p = 0; p < k; p++) {
            FloatVector bv = FloatVector.fromArray(S, b, b0 + p * ldb);
            c0 = FloatVector.broadcast(S, a[g0 + p]).fma(bv, c0);
            c1 = FloatVector.broadcast(S, a[g0 + p + 1]).fma(bv, c1);
            c2 = FloatVector.broadcast(S, a[g0 + p + 2]).fma(bv, c2);
            c3 = FloatVector.broadcast(S, a[g1 + p]).fma(bv, c3);
            c4 = FloatVector.broadcast(S, a[g1 + p + 1]).fma(bv, c4);
            c5 = FloatVector.broadcast(S, a[g1 + p + 2]).fma(bv, c5);
            c6 = FloatVector.broadcast(S, a[g2 + p]).fma(bv, c6);
            c7 = FloatVector.broadcast(S, a[g2 + p + 1]).fma(bv, c7);
            c8 = FloatVector.broadcast(S, a[g2 + p + 2]).fma(bv, c8);
            c9 = FloatVector.broadcast(S, a[g3 + p]).fma(bv, c9);
            c10 = FloatVector.broadcast(S, a[g3 + p + 1]).fma(bv, c10);
            c11 = FloatVector.broadcast(S, a[g3 + p + 2]).fma(bv, c11);
            c12 = FloatVector.broadcast(S, a[g4 + p]).fma(bv, c12);
            c13 = FloatVector.broadcast(S, a[g4 + p + 1]).fma(bv, c13);
            c14 = FloatVector.broadcast(S, a[g4 + p + 2]).fma(bv, c14);
        }
        c0.intoArray(c, co);
        c1.intoArray(c, co + ldc);
        c2.intoArray(c, co + 2 * ldc);
        c3.intoArray(c, co + 3 * ldc);
        c4.intoArray(c, co + 4 * ldc);
        c5.intoArray(c, co + 5 * ldc);
        c6.intoArray(c, co + 6 * ldc);
        c7.intoArray(c, co + 7 * ldc);
        c8.intoArray(c, co + 8 * ldc);
        c9.intoArray(c, co + 9 * ldc);
        c10.intoArray(c, co + 10 * ldc);
        c11.intoArray(c, co + 11 * ldc);
        c12.intoArray(c, co + 12 * ldc);
        c13.intoArray(c, co + 13 * ldc);
        c14.intoArray(c, co + 14 * ldc);
    }

    /**
     * C (+)= A·B where A's row i starts at {@code aOff + aRows[i]} (or {@code aOff + i·lda} when aRows is null) and
     * B's row p at {@code bOff + bRows[p]} (or {@code bOff + p·ldb}); both paths.
     */
    private static void product(int m, int n, int k, float[] a, int aOff, int lda, int[] aRows, float[] b, int bOff, int ldb, int[] bRows,
                                float[] c, int cOff, int ldc, boolean accumulate) {
        if (!Kernels.vector()) {
            for (int i = 0; i < m; i++) {
                int ci = cOff + i * ldc, ai = aOff + (aRows == null ? i * lda : aRows[i]);
                if (!accumulate) Arrays.fill(c, ci, ci + n, 0f);
                for (int p = 0; p < k; p++) {
                    float av = a[ai + p];
                    int bp = bOff + (bRows == null ? p * ldb : bRows[p]);
                    for (int j = 0; j < n; j++) c[ci + j] += av * b[bp + j];
                }
            }
            return;
        }
        float[] tile = TILE.get();
        for (int j = 0; j < n; j += NR) {
            int w = Math.min(NR, n - j);
            if (w <= L) {
                narrowPanel(m, w, k, a, aOff, lda, aRows, b, bOff + j, ldb, bRows, c, cOff + j, ldc, accumulate, tile);
                continue;
            }
            for (int i = 0; i < m; i += MR) {
                int h = Math.min(MR, m - i);
                // Rows past m repeat the last real row; their results are dropped.
                int e = i + h - 1;
                int r0 = row(aOff, lda, aRows, i), r1 = row(aOff, lda, aRows, Math.min(i + 1, e)), r2 = row(aOff, lda, aRows, Math.min(i + 2, e));
                int r3 = row(aOff, lda, aRows, Math.min(i + 3, e)), r4 = row(aOff, lda, aRows, Math.min(i + 4, e));
                int r5 = row(aOff, lda, aRows, Math.min(i + 5, e)), r6 = row(aOff, lda, aRows, Math.min(i + 6, e));
                int r7 = row(aOff, lda, aRows, Math.min(i + 7, e));
                if (h == MR && w == NR) {
                    kernel(k, a, r0, r1, r2, r3, r4, r5, r6, r7, b, bOff + j, bRows, ldb, c, cOff + i * ldc + j, ldc, accumulate);
                } else {
                    kernel(k, a, r0, r1, r2, r3, r4, r5, r6, r7, b, bOff + j, bRows, ldb, tile, 0, NR, false);
                    for (int r = 0; r < h; r++) {
                        int co = cOff + (i + r) * ldc + j;
                        if (accumulate) for (int q = 0; q < w; q++) c[co + q] += tile[r * NR + q];
                        else System.arraycopy(tile, r * NR, c, co, w);
                    }
                }
            }
        }
    }

    /**
     * A panel of at most one vector of columns (a 16-channel weight gradient, a row tail): {@link #NARROW_MR} rows at
     * a time against one B vector per step, so the accumulators fill the registers that the second B vector of
     * {@link #kernel} would have left idle. Same sums in the same order as {@link #kernel}.
     */
    private static void narrowPanel(int m, int w, int k, float[] a, int aOff, int lda, int[] aRows, float[] b, int b0, int ldb, int[] bRows,
                                    float[] c, int c0, int ldc, boolean accumulate, float[] tile) {
        int[] rows = NARROW_ROWS.get();
        for (int i = 0; i < m; i += NARROW_MR) {
            int h = Math.min(NARROW_MR, m - i);
            // Rows past m repeat the last real row; their results are dropped.
            for (int r = 0; r < NARROW_MR; r++) rows[r] = row(aOff, lda, aRows, i + Math.min(r, h - 1));
            if (h == NARROW_MR && w == L) {
                narrowKernel(k, a, rows, b, b0, bRows, ldb, c, c0 + i * ldc, ldc, accumulate);
            } else {
                narrowKernel(k, a, rows, b, b0, bRows, ldb, tile, 0, L, false);
                for (int r = 0; r < h; r++) {
                    int co = c0 + (i + r) * ldc;
                    if (accumulate) for (int q = 0; q < w; q++) c[co + q] += tile[r * L + q];
                    else System.arraycopy(tile, r * L, c, co, w);
                }
            }
        }
    }

    /** {@link #NARROW_MR} A rows (row r's element p at {@code rows[r] + p}) times one vector of B columns. */
    private static void narrowKernel(int k, float[] a, int[] rows, float[] b, int b0, int[] rowOff, int ldb, float[] c, int co, int ldc, boolean add) {
        int a0 = rows[0], a1 = rows[1], a2 = rows[2], a3 = rows[3], a4 = rows[4], a5 = rows[5], a6 = rows[6], a7 = rows[7];
        int a8 = rows[8], a9 = rows[9], a10 = rows[10], a11 = rows[11], a12 = rows[12], a13 = rows[13], a14 = rows[14], a15 = rows[15];
        FloatVector c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15;
        if (add) {
            c0 = FloatVector.fromArray(S, c, co);
            c1 = FloatVector.fromArray(S, c, co + ldc);
            c2 = FloatVector.fromArray(S, c, co + 2 * ldc);
            c3 = FloatVector.fromArray(S, c, co + 3 * ldc);
            c4 = FloatVector.fromArray(S, c, co + 4 * ldc);
            c5 = FloatVector.fromArray(S, c, co + 5 * ldc);
            c6 = FloatVector.fromArray(S, c, co + 6 * ldc);
            c7 = FloatVector.fromArray(S, c, co + 7 * ldc);
            c8 = FloatVector.fromArray(S, c, co + 8 * ldc);
            c9 = FloatVector.fromArray(S, c, co + 9 * ldc);
            c10 = FloatVector.fromArray(S, c, co + 10 * ldc);
            c11 = FloatVector.fromArray(S, c, co + 11 * ldc);
            c12 = FloatVector.fromArray(S, c, co + 12 * ldc);
            c13 = FloatVector.fromArray(S, c, co + 13 * ldc);
            c14 = FloatVector.fromArray(S, c, co + 14 * ldc);
            c15 = FloatVector.fromArray(S, c, co + 15 * ldc);
        } else {
            c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = c8 = c9 = c10 = c11 = c12 = c13 = c14 = c15 = FloatVector.zero(S);
        }
        for (int p = 0; p < k; p++) {
            FloatVector bv = FloatVector.fromArray(S, b, rowOff != null ? b0 + rowOff[p] : b0 + p * ldb);
            c0 = FloatVector.broadcast(S, a[a0 + p]).fma(bv, c0);
            c1 = FloatVector.broadcast(S, a[a1 + p]).fma(bv, c1);
            c2 = FloatVector.broadcast(S, a[a2 + p]).fma(bv, c2);
            c3 = FloatVector.broadcast(S, a[a3 + p]).fma(bv, c3);
            c4 = FloatVector.broadcast(S, a[a4 + p]).fma(bv, c4);
            c5 = FloatVector.broadcast(S, a[a5 + p]).fma(bv, c5);
            c6 = FloatVector.broadcast(S, a[a6 + p]).fma(bv, c6);
            c7 = FloatVector.broadcast(S, a[a7 + p]).fma(bv, c7);
            c8 = FloatVector.broadcast(S, a[a8 + p]).fma(bv, c8);
            c9 = FloatVector.broadcast(S, a[a9 + p]).fma(bv, c9);
            c10 = FloatVector.broadcast(S, a[a10 + p]).fma(bv, c10);
            c11 = FloatVector.broadcast(S, a[a11 + p]).fma(bv, c11);
            c12 = FloatVector.broadcast(S, a[a12 + p]).fma(bv, c12);
            c13 = FloatVector.broadcast(S, a[a13 + p]).fma(bv, c13);
            c14 = FloatVector.broadcast(S, a[a14 + p]).fma(bv, c14);
            c15 = FloatVector.broadcast(S, a[a15 + p]).fma(bv, c15);
        }
        c0.intoArray(c, co);
        c1.intoArray(c, co + ldc);
        c2.intoArray(c, co + 2 * ldc);
        c3.intoArray(c, co + 3 * ldc);
        c4.intoArray(c, co + 4 * ldc);
        c5.intoArray(c, co + 5 * ldc);
        c6.intoArray(c, co + 6 * ldc);
        c7.intoArray(c, co + 7 * ldc);
        c8.intoArray(c, co + 8 * ldc);
        c9.intoArray(c, co + 9 * ldc);
        c10.intoArray(c, co + 10 * ldc);
        c11.intoArray(c, co + 11 * ldc);
        c12.intoArray(c, co + 12 * ldc);
        c13.intoArray(c, co + 13 * ldc);
        c14.intoArray(c, co + 14 * ldc);
        c15.intoArray(c, co + 15 * ldc);
    }

    /** Start of A's row {@code i}. */
    private static int row(int aOff, int lda, int[] aRows, int i) {
        return aOff + (aRows == null ? i * lda : aRows[i]);
    }

    /**
     * {@code C[m, k] (+)= A[m, n] · Bᵀ} with B's row p the window at {@code bOff + rowOff[p]}, read for exactly n
     * values: the weight gradient of a convolution, {@code dW[o, p] += Σ_j dY[o, j] · xp[taps[p] + j]}.
     */
    public static void multiplyTransposed(int m, int k, int n, float[] a, int aOff, int lda, float[] b, int bOff, int[] rowOff,
                                          float[] c, int cOff, int ldc, boolean accumulate) {
        if (m <= 0 || k <= 0) return;
        checkWindows(b, bOff, rowOff, k, n);
        if (!Kernels.vector()) {
            for (int i = 0; i < m; i++)
                for (int p = 0; p < k; p++) {
                    float s = 0f;
                    int ai = aOff + i * lda, bp = bOff + rowOff[p];
                    for (int j = 0; j < n; j++) s += a[ai + j] * b[bp + j];
                    int at = cOff + i * ldc + p;
                    c[at] = accumulate ? c[at] + s : s;
                }
            return;
        }
        int i = 0;
        for (; i + 4 <= m; i += 4) {
            int p = 0;
            for (; p + 3 <= k; p += 3) dots4x3(n, a, aOff + i * lda, lda, b, bOff + rowOff[p], bOff + rowOff[p + 1], bOff + rowOff[p + 2], c, cOff + i * ldc + p, ldc, accumulate);
            for (; p < k; p++) for (int r = 0; r < 4; r++) put(c, cOff + (i + r) * ldc + p, Sgemm.dot(a, aOff + (i + r) * lda, b, bOff + rowOff[p], n), accumulate);
        }
        for (; i < m; i++)
            for (int p = 0; p < k; p++) put(c, cOff + i * ldc + p, Sgemm.dot(a, aOff + i * lda, b, bOff + rowOff[p], n), accumulate);
    }

    private static void put(float[] c, int at, float v, boolean accumulate) {
        c[at] = accumulate ? c[at] + v : v;
    }

    private static void checkWindows(float[] b, int bOff, int[] rowOff, int k, int width) {
        if (k > rowOff.length) throw new IllegalArgumentException("shifted gemm: " + k + " rows but " + rowOff.length + " window offsets");
        int lo = Integer.MAX_VALUE, hi = Integer.MIN_VALUE;
        for (int p = 0; p < k; p++) {
            lo = Math.min(lo, rowOff[p]);
            hi = Math.max(hi, rowOff[p]);
        }
        if (k > 0 && (bOff + lo < 0 || (long) bOff + hi + width > b.length)) {
            throw new IllegalArgumentException("shifted gemm: windows at offsets " + (bOff + lo) + ".." + (bOff + hi) + " of width " + width
                    + " do not fit a buffer of length " + b.length);
        }
    }

    /**
     * Eight A rows starting at the given offsets (row r's element p at {@code a_r + p}) times one panel of 2·lanes
     * columns of B, whose row p starts at {@code b0 + rowOff[p]} (windows) or {@code b0 + p·ldb} (rowOff null).
     */
    private static void kernel(int k, float[] a, int a0, int a1, int a2, int a3, int a4, int a5, int a6, int a7, float[] b, int b0, int[] rowOff, int ldb,
                               float[] c, int co, int ldc, boolean add) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71;
        if (add) {
            c00 = FloatVector.fromArray(S, c, co);
            c01 = FloatVector.fromArray(S, c, co + L);
            c10 = FloatVector.fromArray(S, c, co + ldc);
            c11 = FloatVector.fromArray(S, c, co + ldc + L);
            c20 = FloatVector.fromArray(S, c, co + 2 * ldc);
            c21 = FloatVector.fromArray(S, c, co + 2 * ldc + L);
            c30 = FloatVector.fromArray(S, c, co + 3 * ldc);
            c31 = FloatVector.fromArray(S, c, co + 3 * ldc + L);
            c40 = FloatVector.fromArray(S, c, co + 4 * ldc);
            c41 = FloatVector.fromArray(S, c, co + 4 * ldc + L);
            c50 = FloatVector.fromArray(S, c, co + 5 * ldc);
            c51 = FloatVector.fromArray(S, c, co + 5 * ldc + L);
            c60 = FloatVector.fromArray(S, c, co + 6 * ldc);
            c61 = FloatVector.fromArray(S, c, co + 6 * ldc + L);
            c70 = FloatVector.fromArray(S, c, co + 7 * ldc);
            c71 = FloatVector.fromArray(S, c, co + 7 * ldc + L);
        } else {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = c60 = c61 = c70 = c71 = FloatVector.zero(S);
        }
        for (int p = 0; p < k; p++) {
            int bo = rowOff != null ? b0 + rowOff[p] : b0 + p * ldb;
            FloatVector b0v = FloatVector.fromArray(S, b, bo);
            FloatVector b1v = FloatVector.fromArray(S, b, bo + L);
            FloatVector av = FloatVector.broadcast(S, a[a0 + p]);
            c00 = av.fma(b0v, c00);
            c01 = av.fma(b1v, c01);
            av = FloatVector.broadcast(S, a[a1 + p]);
            c10 = av.fma(b0v, c10);
            c11 = av.fma(b1v, c11);
            av = FloatVector.broadcast(S, a[a2 + p]);
            c20 = av.fma(b0v, c20);
            c21 = av.fma(b1v, c21);
            av = FloatVector.broadcast(S, a[a3 + p]);
            c30 = av.fma(b0v, c30);
            c31 = av.fma(b1v, c31);
            av = FloatVector.broadcast(S, a[a4 + p]);
            c40 = av.fma(b0v, c40);
            c41 = av.fma(b1v, c41);
            av = FloatVector.broadcast(S, a[a5 + p]);
            c50 = av.fma(b0v, c50);
            c51 = av.fma(b1v, c51);
            av = FloatVector.broadcast(S, a[a6 + p]);
            c60 = av.fma(b0v, c60);
            c61 = av.fma(b1v, c61);
            av = FloatVector.broadcast(S, a[a7 + p]);
            c70 = av.fma(b0v, c70);
            c71 = av.fma(b1v, c71);
        }
        c00.intoArray(c, co);
        c01.intoArray(c, co + L);
        c10.intoArray(c, co + ldc);
        c11.intoArray(c, co + ldc + L);
        c20.intoArray(c, co + 2 * ldc);
        c21.intoArray(c, co + 2 * ldc + L);
        c30.intoArray(c, co + 3 * ldc);
        c31.intoArray(c, co + 3 * ldc + L);
        c40.intoArray(c, co + 4 * ldc);
        c41.intoArray(c, co + 4 * ldc + L);
        c50.intoArray(c, co + 5 * ldc);
        c51.intoArray(c, co + 5 * ldc + L);
        c60.intoArray(c, co + 6 * ldc);
        c61.intoArray(c, co + 6 * ldc + L);
        c70.intoArray(c, co + 7 * ldc);
        c71.intoArray(c, co + 7 * ldc + L);
    }

    /** C[0..4, 0..3) (+)= four A rows (a0 + r·lda) · three windows, over n; 12 accumulators share 7 loads per step. */
    private static void dots4x3(int n, float[] a, int a0, int lda, float[] b, int w0, int w1, int w2, float[] c, int c0, int ldc, boolean accumulate) {
        int a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
        FloatVector s00 = FloatVector.zero(S), s01 = s00, s02 = s00, s10 = s00, s11 = s00, s12 = s00;
        FloatVector s20 = s00, s21 = s00, s22 = s00, s30 = s00, s31 = s00, s32 = s00;
        int j = 0;
        for (; j + L <= n; j += L) {
            FloatVector y0 = FloatVector.fromArray(S, b, w0 + j), y1 = FloatVector.fromArray(S, b, w1 + j), y2 = FloatVector.fromArray(S, b, w2 + j);
            FloatVector x = FloatVector.fromArray(S, a, a0 + j);
            s00 = x.fma(y0, s00);
            s01 = x.fma(y1, s01);
            s02 = x.fma(y2, s02);
            x = FloatVector.fromArray(S, a, a1 + j);
            s10 = x.fma(y0, s10);
            s11 = x.fma(y1, s11);
            s12 = x.fma(y2, s12);
            x = FloatVector.fromArray(S, a, a2 + j);
            s20 = x.fma(y0, s20);
            s21 = x.fma(y1, s21);
            s22 = x.fma(y2, s22);
            x = FloatVector.fromArray(S, a, a3 + j);
            s30 = x.fma(y0, s30);
            s31 = x.fma(y1, s31);
            s32 = x.fma(y2, s32);
        }
        float r00 = Lanes.sum(s00), r01 = Lanes.sum(s01), r02 = Lanes.sum(s02), r10 = Lanes.sum(s10), r11 = Lanes.sum(s11), r12 = Lanes.sum(s12);
        float r20 = Lanes.sum(s20), r21 = Lanes.sum(s21), r22 = Lanes.sum(s22), r30 = Lanes.sum(s30), r31 = Lanes.sum(s31), r32 = Lanes.sum(s32);
        for (; j < n; j++) {
            float y0 = b[w0 + j], y1 = b[w1 + j], y2 = b[w2 + j];
            float x0 = a[a0 + j], x1 = a[a1 + j], x2 = a[a2 + j], x3 = a[a3 + j];
            r00 += x0 * y0;
            r01 += x0 * y1;
            r02 += x0 * y2;
            r10 += x1 * y0;
            r11 += x1 * y1;
            r12 += x1 * y2;
            r20 += x2 * y0;
            r21 += x2 * y1;
            r22 += x2 * y2;
            r30 += x3 * y0;
            r31 += x3 * y1;
            r32 += x3 * y2;
        }
        put(c, c0, r00, accumulate);
        put(c, c0 + 1, r01, accumulate);
        put(c, c0 + 2, r02, accumulate);
        put(c, c0 + ldc, r10, accumulate);
        put(c, c0 + ldc + 1, r11, accumulate);
        put(c, c0 + ldc + 2, r12, accumulate);
        put(c, c0 + 2 * ldc, r20, accumulate);
        put(c, c0 + 2 * ldc + 1, r21, accumulate);
        put(c, c0 + 2 * ldc + 2, r22, accumulate);
        put(c, c0 + 3 * ldc, r30, accumulate);
        put(c, c0 + 3 * ldc + 1, r31, accumulate);
        put(c, c0 + 3 * ldc + 2, r32, accumulate);
    }
}
