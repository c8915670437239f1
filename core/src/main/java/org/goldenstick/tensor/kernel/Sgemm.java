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
        if (Kernels.vector()) vector(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, accumulate);
        else scalar(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, accumulate);
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
        if (m <= 2 || n <= 2 || (long) m * n * k <= DIRECT_MACS) {
            direct(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, accumulate);
        } else {
            new Packed(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, accumulate).run();
        }
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
     * Unpacked path for small or skinny products: each row of op(A) is made contiguous (gathered if
     * transposed), then C's row is formed by dots against contiguous B rows (transB) or by axpys of
     * B rows. Rows × column blocks run in parallel when the product is large enough.
     */
    static void direct(boolean transA, boolean transB, int m, int n, int k,
                       float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                       float[] c, int cOff, int ldc, boolean accumulate) {
        int lanes = S.length();
        // With few columns and B not transposed, dots against gathered columns beat short axpys.
        final boolean useDots = transB || n < lanes;
        final float[] bt;
        final int btOff, btLd;
        if (!transB && useDots) {
            bt = new float[n * k];
            for (int p = 0; p < k; p++) for (int j = 0; j < n; j++) bt[j * k + p] = b[bOff + p * ldb + j];
            btOff = 0;
            btLd = k;
        } else {
            bt = b;
            btOff = bOff;
            btLd = ldb;
        }
        long macs = (long) m * n * k;
        int colBlock = macs < (1L << 20) ? n : Math.max(lanes, useDots ? 64 : 512);
        int colBlocks = (n + colBlock - 1) / colBlock;
        int tasks = m * colBlocks;
        int threads = macs < (1L << 20) ? 1 : Parallel.threads();
        Parallel.forEach(threads, tasks, t -> {
            int i = t / colBlocks, j0 = (t % colBlocks) * colBlock, j1 = Math.min(n, j0 + colBlock);
            float[] arow;
            int ao;
            if (!transA) {
                arow = a;
                ao = aOff + i * lda;
            } else {
                arow = new float[k];
                ao = 0;
                for (int p = 0; p < k; p++) arow[p] = a[aOff + p * lda + i];
            }
            int ci = cOff + i * ldc;
            if (useDots) {
                for (int j = j0; j < j1; j++) {
                    float s = dot(arow, ao, bt, btOff + j * btLd, k);
                    c[ci + j] = accumulate ? c[ci + j] + s : s;
                }
            } else {
                if (!accumulate) Arrays.fill(c, ci + j0, ci + j1, 0f);
                for (int p = 0; p < k; p++) axpy(arow[ao + p], b, bOff + p * ldb + j0, c, ci + j0, j1 - j0);
            }
        });
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
            s = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) s += x[xo + i] * y[yo + i];
        return s;
    }
}
