package org.goldenstick.tensor.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Exact 8-bit integer matrix multiply with zero points and an int32 result:
 * {@code C[i,j] (+)= Σ_p (A[i,p] − za(i)) · (B[p,j] − zb(j))}, the semantics of ONNX
 * MatMulInteger / ConvInteger (and the integer core of QLinearMatMul; see {@link Requantize}).
 *
 * <p>The Vector API has no int8 dot product (VNNI), and int32 multiplies are slow in Java, so the vector
 * path widens the zero-point-corrected values to float while packing and runs the SGEMM micro-kernel:
 * with |a−za|, |b−zb| ≤ 255 and K blocks of 256, every partial sum is an integer below 2^24 and therefore
 * exact in float; each block's sum is converted and added into the int32 C. The scalar path
 * ({@link #scalar}) is the plain integer reference.
 *
 * <pre>{@code
 * // C[m,n] = (Xq[m,k] − 128) · Wq[n,k]ᵀ   (uint8 activations, int8 weights stored [out, in])
 * int[] c = new int[m * n];
 * Int8Gemm.gemm(m, n, k, QMatrix.uint8(xq, 0, k, 128), QMatrix.int8(wq, 0, k, 0).transpose(), c, 0, n, false);
 * }</pre>
 */
public final class Int8Gemm {
    private Int8Gemm() {}

    /** C (+)= (op(A) − za)·(op(B) − zb) with op(A) m×k and op(B) k×n; dispatches on {@link Kernels#vector()}. */
    public static void gemm(int m, int n, int k, QMatrix a, QMatrix b, int[] c, int cOff, int ldc, boolean accumulate) {
        check(m, n, k, a, b, c, cOff, ldc);
        if (m == 0 || n == 0) return;
        if (Kernels.vector()) new Packed(m, n, k, a, b, c, cOff, ldc, accumulate).run();
        else scalar(m, n, k, a, b, c, cOff, ldc, accumulate);
    }

    /** Integer reference: plain loops with int32 accumulation. */
    public static void scalar(int m, int n, int k, QMatrix a, QMatrix b, int[] c, int cOff, int ldc, boolean accumulate) {
        check(m, n, k, a, b, c, cOff, ldc);
        for (int i = 0; i < m; i++) {
            int za = a.zeroPoint(i);
            for (int j = 0; j < n; j++) {
                int zb = b.zeroPoint(j), s = 0;
                for (int p = 0; p < k; p++) s += (a.raw(i, p) - za) * (b.raw(p, j) - zb);
                int ci = cOff + i * ldc + j;
                c[ci] = accumulate ? c[ci] + s : s;
            }
        }
    }

    private static void check(int m, int n, int k, QMatrix a, QMatrix b, int[] c, int cOff, int ldc) {
        if (m < 0 || n < 0 || k < 0) throw new IllegalArgumentException("Int8Gemm: negative size m=" + m + " n=" + n + " k=" + k);
        a.checkShape("A", m, k, m);
        b.checkShape("B", k, n, n);
        if (m > 0 && n > 0 && (ldc < n || cOff < 0 || cOff + (long) (m - 1) * ldc + n > c.length)) {
            throw new IllegalArgumentException("Int8Gemm: C of length " + c.length + " cannot hold " + m + "x" + n + " at offset " + cOff + " with ldc " + ldc);
        }
    }

    private static final class Packed extends PackedGemm {
        final QMatrix a, b;
        final int[] c;
        final int cOff, ldc;
        final boolean accumulate;

        Packed(int m, int n, int k, QMatrix a, QMatrix b, int[] c, int cOff, int ldc, boolean accumulate) {
            super(m, n, k);
            this.a = a;
            this.b = b;
            this.c = c;
            this.cOff = cOff;
            this.ldc = ldc;
            this.accumulate = accumulate;
        }

        @Override
        void packA(float[] dst, int i0, int mc, int p0, int kc) {
            MemorySegment seg = a.data();
            int mask = a.unsigned() ? 0xFF : -1;
            float[] row = Widen.scratch();
            for (int ir = 0; ir < mc; ir += MR) {
                int mr = Math.min(MR, mc - ir), base = ir * kc;
                if (mr < MR) Arrays.fill(dst, base, base + kc * MR, 0f);
                for (int r = 0; r < mr; r++) {
                    int i = i0 + ir + r, za = a.zeroPoint(i), d = base + r;
                    if (!a.transposed()) {
                        Widen.row(seg, a.offset() + (long) i * a.ld() + p0, kc, a.unsigned(), za, 1f, row, 0);
                        Widen.scatter(row, kc, dst, d, MR);
                    } else {
                        long src = a.offset() + (long) p0 * a.ld() + i;
                        for (int p = 0; p < kc; p++, d += MR) dst[d] = (seg.get(ValueLayout.JAVA_BYTE, src + (long) p * a.ld()) & mask) - za;
                    }
                }
            }
        }

        @Override
        void packB(float[] dst, int off, int j0, int nc, int p0, int kc) {
            MemorySegment seg = b.data();
            float[] row = Widen.scratch();
            boolean perTensor = b.zeroPoints().length == 1;
            for (int jr = 0; jr < nc; jr += NR) {
                int nr = Math.min(NR, nc - jr), base = off + jr * kc;
                if (nr < NR) Arrays.fill(dst, base, base + kc * NR, 0f);
                if (b.transposed()) {
                    for (int q = 0; q < nr; q++) {
                        int j = j0 + jr + q;
                        Widen.row(seg, b.offset() + (long) j * b.ld() + p0, kc, b.unsigned(), b.zeroPoint(j), 1f, row, 0);
                        Widen.scatter(row, kc, dst, base + q, NR);
                    }
                } else if (perTensor && nr == NR) {
                    // Rows of B are contiguous along the panel: widen straight into place.
                    for (int p = 0; p < kc; p++) {
                        Widen.row(seg, b.offset() + (long) (p0 + p) * b.ld() + j0 + jr, NR, b.unsigned(), b.zeroPoint(0), 1f, dst, base + p * NR);
                    }
                } else {
                    int mask = b.unsigned() ? 0xFF : -1;
                    for (int p = 0; p < kc; p++) {
                        long src = b.offset() + (long) (p0 + p) * b.ld() + j0 + jr;
                        int d = base + p * NR;
                        for (int q = 0; q < nr; q++) dst[d + q] = (seg.get(ValueLayout.JAVA_BYTE, src + q) & mask) - b.zeroPoint(j0 + jr + q);
                    }
                }
            }
        }

        @Override
        void storeTile(float[] tile, int i, int j, int mr, int nr, boolean overwrite) {
            for (int r = 0; r < mr; r++) {
                int co = cOff + (i + r) * ldc + j, t = r * NR;
                if (overwrite) for (int q = 0; q < nr; q++) c[co + q] = (int) tile[t + q];
                else for (int q = 0; q < nr; q++) c[co + q] += (int) tile[t + q];
            }
        }

        @Override
        boolean overwriteFirst() {
            return !accumulate;
        }
    }
}
