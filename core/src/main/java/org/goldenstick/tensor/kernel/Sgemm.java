package org.goldenstick.tensor.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * Single-precision matrix multiply: {@code C = op(A)·op(B)} or {@code C += op(A)·op(B)}, row-major with
 * leading dimensions, where {@code op(X)} is X or Xᵀ. op(A) is m×k, op(B) is k×n, C is m×n.
 *
 * <p>Two paths, selected by {@link Kernels#vector()}: a Vector API path and the scalar reference
 * {@link #scalar}. The vector path is GotoBLAS-style (see {@link PackedGemm}): KC=256/NC=512/MC=96
 * blocking, B packed into 32-column panels and A into 6-row panels (transposes are absorbed by the
 * packing, never by a transposed copy), a 6×32 micro-kernel on 512-bit vectors, and M×N tiles
 * scheduled dynamically over {@link Parallel}. Small products (a row or two, or a few thousand
 * multiply-adds, as in per-sample conv/linear backward) skip packing and use direct dot/axpy loops.
 *
 * <pre>{@code
 * // y[rows, out] = x[rows, in] · W[out, in]ᵀ
 * Sgemm.gemm(false, true, rows, out, in, x, 0, in, w, 0, in, y, 0, out, false);
 * // dW[out, in] += dy[rows, out]ᵀ · x[rows, in]
 * Sgemm.gemm(true, false, out, in, rows, dy, 0, out, x, 0, in, dW, 0, in, true);
 * }</pre>
 */
public final class Sgemm {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** Below this many multiply-adds the packed path costs more than it saves. */
    static final long DIRECT_MACS = 1L << 15;
    /** Up to this many rows of C, packing B costs more than the unpacked kernels (B is used only m times). */
    static final int SMALL_M = 16;

    private Sgemm() {}

    /** True when the Vector API path is in use (the default). */
    public static boolean vectorEnabled() {
        return Kernels.vector();
    }

    /** {@code C = op(A)·op(B)} (or {@code C +=} when {@code accumulate}); dispatches to the selected path. */
    public static void gemm(boolean transA, boolean transB, int m, int n, int k,
                            float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                            float[] c, int cOff, int ldc, boolean accumulate) {
        if (m <= 0 || n <= 0) return;
        check("A", transA ? k : m, transA ? m : k, a, aOff, lda);
        check("B", transB ? n : k, transB ? k : n, b, bOff, ldb);
        check("C", m, n, c, cOff, ldc);
        if (Kernels.vector()) vector(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, accumulate);
        else scalar(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, accumulate);
    }

    /** A stored rows×cols operand must fit its array: a clear message instead of an index error deep in a kernel. */
    private static void check(String name, int rows, int cols, float[] x, int off, int ld) {
        if (rows <= 0 || cols <= 0) return;
        if (off < 0 || (rows > 1 && ld < cols) || off + (long) (rows - 1) * ld + cols > x.length) {
            throw new IllegalArgumentException("gemm: " + name + " stored as " + rows + "x" + cols + " at offset " + off
                    + " with leading dimension " + ld + " does not fit an array of length " + x.length);
        }
    }

    /** Reference implementation: plain loops, float accumulation in k order. */
    public static void scalar(boolean transA, boolean transB, int m, int n, int k,
                              float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                              float[] c, int cOff, int ldc, boolean accumulate) {
        for (int i = 0; i < m; i++) {
            int ci = cOff + i * ldc;
            if (!accumulate) Arrays.fill(c, ci, ci + n, 0f);
            for (int p = 0; p < k; p++) {
                float av = transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
                if (av == 0f) continue;
                if (!transB) {
                    int bp = bOff + p * ldb;
                    for (int j = 0; j < n; j++) c[ci + j] += av * b[bp + j];
                } else {
                    for (int j = 0; j < n; j++) c[ci + j] += av * b[bOff + j * ldb + p];
                }
            }
        }
    }

    static void vector(boolean transA, boolean transB, int m, int n, int k,
                       float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                       float[] c, int cOff, int ldc, boolean accumulate) {
        if (useDirect(transB, m, n, k)) {
            direct(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, accumulate);
        } else {
            new Packed(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, accumulate).run();
        }
    }

    /**
     * Where the unpacked kernels win (measured on conv/linear shapes, CPU time, 1 thread): always up to
     * {@link #SMALL_M} rows; A·Bᵀ dots up to 48 rows when k is long enough to amortise the reductions;
     * A·B row panels up to 64 rows while B is small enough that its strided rows stay cheap to stream.
     */
    static boolean useDirect(boolean transB, int m, int n, int k) {
        if (m <= SMALL_M || n <= 2 || (long) m * n * k <= DIRECT_MACS) return true;
        return transB ? m <= 48 && k >= 256 : m <= 64 && (long) n * k <= (1L << 22);
    }

    /** The packed path for float operands. */
    private static final class Packed extends PackedGemm {
        final boolean transA, transB, accumulate;
        final float[] a, b, c;
        final int aOff, lda, bOff, ldb, cOff, ldc;

        Packed(boolean transA, boolean transB, int m, int n, int k, float[] a, int aOff, int lda,
               float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, boolean accumulate) {
            super(m, n, k);
            this.transA = transA;
            this.transB = transB;
            this.accumulate = accumulate;
            this.a = a;
            this.b = b;
            this.c = c;
            this.aOff = aOff;
            this.lda = lda;
            this.bOff = bOff;
            this.ldb = ldb;
            this.cOff = cOff;
            this.ldc = ldc;
        }

        @Override
        void packA(float[] dst, int i0, int mc, int p0, int kc) {
            for (int ir = 0; ir < mc; ir += MR) {
                int mr = Math.min(MR, mc - ir), base = ir * kc;
                if (mr < MR) Arrays.fill(dst, base, base + kc * MR, 0f);
                if (!transA) {
                    for (int r = 0; r < mr; r++) {
                        int src = aOff + (i0 + ir + r) * lda + p0, d = base + r;
                        for (int p = 0; p < kc; p++, d += MR) dst[d] = a[src + p];
                    }
                } else {
                    for (int p = 0; p < kc; p++) {
                        int src = aOff + (p0 + p) * lda + i0 + ir, d = base + p * MR;
                        for (int r = 0; r < mr; r++) dst[d + r] = a[src + r];
                    }
                }
            }
        }

        @Override
        void packB(float[] dst, int off, int j0, int nc, int p0, int kc) {
            for (int jr = 0; jr < nc; jr += NR) {
                int nr = Math.min(NR, nc - jr), base = off + jr * kc;
                if (nr < NR) Arrays.fill(dst, base, base + kc * NR, 0f);
                if (!transB) {
                    for (int p = 0; p < kc; p++) System.arraycopy(b, bOff + (p0 + p) * ldb + j0 + jr, dst, base + p * NR, nr);
                } else {
                    for (int q = 0; q < nr; q++) {
                        int src = bOff + (j0 + jr + q) * ldb + p0, d = base + q;
                        for (int p = 0; p < kc; p++, d += NR) dst[d] = b[src + p];
                    }
                }
            }
        }

        @Override
        void storeTile(float[] tile, int i, int j, int mr, int nr, boolean overwrite) {
            for (int r = 0; r < mr; r++) {
                int co = cOff + (i + r) * ldc + j, t = r * NR;
                if (overwrite) System.arraycopy(tile, t, c, co, nr);
                else for (int q = 0; q < nr; q++) c[co + q] += tile[t + q];
            }
        }

        @Override
        float[] directC() {
            return c;
        }

        @Override
        int directOffset(int i, int j) {
            return cOff + i * ldc + j;
        }

        @Override
        int directLd() {
            return ldc;
        }

        @Override
        boolean overwriteFirst() {
            return !accumulate;
        }
    }

    /**
     * Unpacked path for small or skinny products. op(A) is made row-contiguous (gathered once if
     * transposed). With B rows contiguous (transB) or very few columns, C is formed by dot products:
     * a 2×4 kernel takes two rows of A against four rows of B, eight accumulators sharing every load,
     * and tasks are column blocks so a block of B rows stays in cache while all rows of A pass.
     * Otherwise (B rows contiguous) three or more rows use {@link #rowPanels}; one or two rows use axpys.
     */
    static void direct(boolean transA, boolean transB, int m, int n, int k,
                       float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                       float[] c, int cOff, int ldc, boolean accumulate) {
        int lanes = S.length();
        final float[] ar;
        final int arOff, arLd;
        if (transA) {
            ar = new float[m * k];
            for (int p = 0; p < k; p++) for (int i = 0; i < m; i++) ar[i * k + p] = a[aOff + p * lda + i];
            arOff = 0;
            arLd = k;
        } else {
            ar = a;
            arOff = aOff;
            arLd = lda;
        }
        long macs = (long) m * n * k;
        int threads = macs < (1L << 20) ? 1 : Parallel.threads();
        if (transB || n < lanes) {
            final float[] bt;
            final int btOff, btLd;
            if (!transB) {
                bt = new float[n * k];
                for (int p = 0; p < k; p++) for (int j = 0; j < n; j++) bt[j * k + p] = b[bOff + p * ldb + j];
                btOff = 0;
                btLd = k;
            } else {
                bt = b;
                btOff = bOff;
                btLd = ldb;
            }
            int colBlock = macs < (1L << 20) ? roundUp4(n) : 32;
            int colBlocks = (n + colBlock - 1) / colBlock;
            Parallel.forEach(threads, colBlocks, t -> {
                int j0 = t * colBlock, j1 = Math.min(n, j0 + colBlock);
                int j = j0;
                for (; j + 4 <= j1; j += 4) {
                    int i = 0;
                    for (; i + 2 <= m; i += 2) dots2x4(ar, arOff + i * arLd, arLd, bt, btOff + j * btLd, btLd, k, c, cOff + i * ldc + j, ldc, accumulate);
                    if (i < m) dots1x1(ar, arOff + i * arLd, bt, btOff + j * btLd, btLd, 4, k, c, cOff + i * ldc + j, accumulate);
                }
                if (j < j1) {
                    for (int i = 0; i < m; i++) dots1x1(ar, arOff + i * arLd, bt, btOff + j * btLd, btLd, j1 - j, k, c, cOff + i * ldc + j, accumulate);
                }
            });
        } else if (m > 2) {
            rowPanels(m, n, k, ar, arOff, arLd, b, bOff, ldb, c, cOff, ldc, accumulate, threads);
        } else {
            // Column blocks; each B row segment is read once and applied to every row of C in the block.
            int colBlock = macs < (1L << 20) ? n : 256;
            int colBlocks = (n + colBlock - 1) / colBlock;
            Parallel.forEach(threads, colBlocks, t -> {
                int j0 = t * colBlock, len = Math.min(n, j0 + colBlock) - j0;
                if (!accumulate) for (int i = 0; i < m; i++) Arrays.fill(c, cOff + i * ldc + j0, cOff + i * ldc + j0 + len, 0f);
                for (int p = 0; p < k; p++) {
                    int bp = bOff + p * ldb + j0;
                    for (int i = 0; i < m; i++) axpy(ar[arOff + i * arLd + p], b, bp, c, cOff + i * ldc + j0, len);
                }
            });
        }
    }

    /**
     * C (+)= A·B with A rows and B rows contiguous and nothing packed: the 6×(2·lanes) register tile of
     * {@link PackedGemm#kernel} reads six A rows and two B vectors per k step straight from the operands.
     * Rows past a multiple of 6 come from a zero-padded copy of A, and a last partial column panel from a
     * zero-padded copy of B's columns; those tiles go through a small buffer.
     */
    private static void rowPanels(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                  float[] c, int cOff, int ldc, boolean accumulate, int threads) {
        final int mr = PackedGemm.MR, nr = PackedGemm.NR;
        final int mFull = m - m % mr;
        final float[] aTail;
        if (mFull < m) {
            aTail = new float[mr * k];
            for (int i = mFull; i < m; i++) System.arraycopy(a, aOff + i * lda, aTail, (i - mFull) * k, k);
        } else {
            aTail = null;
        }
        int panels = (n + nr - 1) / nr;
        int perTask = Math.max(1, Math.min(4, panels / (4 * Math.max(1, threads))));
        int tasks = (panels + perTask - 1) / perTask;
        Parallel.forEach(threads, tasks, t -> {
            float[] tile = null, bPad = null;
            for (int jp = t * perTask; jp < Math.min(panels, (t + 1) * perTask); jp++) {
                int j = jp * nr, w = Math.min(nr, n - j);
                float[] bb = b;
                int bo = bOff + j, bld = ldb;
                if (w < nr) {
                    bPad = new float[k * nr];
                    for (int p = 0; p < k; p++) System.arraycopy(b, bOff + p * ldb + j, bPad, p * nr, w);
                    bb = bPad;
                    bo = 0;
                    bld = nr;
                }
                for (int i = 0; i < m; i += mr) {
                    int h = Math.min(mr, m - i);
                    float[] aa = h == mr ? a : aTail;
                    int ao = h == mr ? aOff + i * lda : 0, ald = h == mr ? lda : k;
                    if (h == mr && w == nr) {
                        rowKernel(k, aa, ao, ald, bb, bo, bld, c, cOff + i * ldc + j, ldc, accumulate);
                    } else {
                        if (tile == null) tile = new float[mr * nr];
                        rowKernel(k, aa, ao, ald, bb, bo, bld, tile, 0, nr, false);
                        for (int r = 0; r < h; r++) {
                            int co = cOff + (i + r) * ldc + j;
                            if (accumulate) for (int q = 0; q < w; q++) c[co + q] += tile[r * nr + q];
                            else System.arraycopy(tile, r * nr, c, co, w);
                        }
                    }
                }
            }
        });
    }

    /** {@link PackedGemm#kernel} on unpacked operands: A rows at a0 + r·lda, B row p at b0 + p·ldb. */
    static void rowKernel(int k, float[] a, int a0, int lda, float[] b, int b0, int ldb, float[] c, int co, int ldc, boolean add) {
        final int L = PackedGemm.L;
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
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
        } else {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = FloatVector.zero(S);
        }
        int a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda;
        for (int p = 0, bo = b0; p < k; p++, bo += ldb) {
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
    }

    private static int roundUp4(int n) {
        return (n + 3) & ~3;
    }

    /** C[0..2, 0..4) (+)= A rows (a0, a0+lda) · B rows (b0 + q·ldb)ᵀ over k. */
    private static void dots2x4(float[] a, int a0, int lda, float[] b, int b0, int ldb, int k,
                                float[] c, int c0, int ldc, boolean accumulate) {
        int lanes = S.length(), p = 0;
        int a1 = a0 + lda, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
        FloatVector s00 = FloatVector.zero(S), s01 = s00, s02 = s00, s03 = s00, s10 = s00, s11 = s00, s12 = s00, s13 = s00;
        for (; p + lanes <= k; p += lanes) {
            FloatVector x0 = FloatVector.fromArray(S, a, a0 + p), x1 = FloatVector.fromArray(S, a, a1 + p);
            FloatVector w = FloatVector.fromArray(S, b, b0 + p);
            s00 = x0.fma(w, s00);
            s10 = x1.fma(w, s10);
            w = FloatVector.fromArray(S, b, b1 + p);
            s01 = x0.fma(w, s01);
            s11 = x1.fma(w, s11);
            w = FloatVector.fromArray(S, b, b2 + p);
            s02 = x0.fma(w, s02);
            s12 = x1.fma(w, s12);
            w = FloatVector.fromArray(S, b, b3 + p);
            s03 = x0.fma(w, s03);
            s13 = x1.fma(w, s13);
        }
        float r00 = Lanes.sum(s00), r01 = Lanes.sum(s01);
        float r02 = Lanes.sum(s02), r03 = Lanes.sum(s03);
        float r10 = Lanes.sum(s10), r11 = Lanes.sum(s11);
        float r12 = Lanes.sum(s12), r13 = Lanes.sum(s13);
        for (; p < k; p++) {
            float x0 = a[a0 + p], x1 = a[a1 + p];
            r00 += x0 * b[b0 + p];
            r01 += x0 * b[b1 + p];
            r02 += x0 * b[b2 + p];
            r03 += x0 * b[b3 + p];
            r10 += x1 * b[b0 + p];
            r11 += x1 * b[b1 + p];
            r12 += x1 * b[b2 + p];
            r13 += x1 * b[b3 + p];
        }
        put(c, c0, r00, accumulate);
        put(c, c0 + 1, r01, accumulate);
        put(c, c0 + 2, r02, accumulate);
        put(c, c0 + 3, r03, accumulate);
        put(c, c0 + ldc, r10, accumulate);
        put(c, c0 + ldc + 1, r11, accumulate);
        put(c, c0 + ldc + 2, r12, accumulate);
        put(c, c0 + ldc + 3, r13, accumulate);
    }

    /** C[0, 0..cnt) (+)= one A row · cnt consecutive B rows. */
    private static void dots1x1(float[] a, int a0, float[] b, int b0, int ldb, int cnt, int k, float[] c, int c0, boolean accumulate) {
        for (int q = 0; q < cnt; q++) put(c, c0 + q, dot(a, a0, b, b0 + q * ldb, k), accumulate);
    }

    private static void put(float[] c, int at, float v, boolean accumulate) {
        c[at] = accumulate ? c[at] + v : v;
    }

    /** y[0, n) += alpha · x[0, n). */
    static void axpy(float alpha, float[] x, int xo, float[] y, int yo, int n) {
        if (alpha == 0f) return;
        int lanes = S.length();
        FloatVector va = FloatVector.broadcast(S, alpha);
        int j = 0;
        for (; j + lanes <= n; j += lanes) {
            va.fma(FloatVector.fromArray(S, x, xo + j), FloatVector.fromArray(S, y, yo + j)).intoArray(y, yo + j);
        }
        for (; j < n; j++) y[yo + j] += alpha * x[xo + j];
    }

    static float dot(float[] x, int xo, float[] y, int yo, int n) {
        int lanes = S.length();
        int i = 0;
        float s = 0f;
        if (n >= 2 * lanes) {
            FloatVector acc0 = FloatVector.zero(S), acc1 = FloatVector.zero(S);
            for (; i + 2 * lanes <= n; i += 2 * lanes) {
                acc0 = FloatVector.fromArray(S, x, xo + i).fma(FloatVector.fromArray(S, y, yo + i), acc0);
                acc1 = FloatVector.fromArray(S, x, xo + i + lanes).fma(FloatVector.fromArray(S, y, yo + i + lanes), acc1);
            }
            s = Lanes.sum(acc0.add(acc1));
        }
        for (; i < n; i++) s += x[xo + i] * y[yo + i];
        return s;
    }
}
