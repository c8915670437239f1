package org.goldenstick.tensor.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Single-precision matrix multiply: {@code C = op(A)·op(B)} or {@code C += op(A)·op(B)}, row-major with
 * leading dimensions. Two paths: a Vector API kernel and a scalar reference; {@code -Dgstick.kernels=scalar}
 * selects the scalar one everywhere (tests run both).
 */
public final class Sgemm {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private Sgemm() {}

    /** True when the Vector API path is in use (the default). */
    public static boolean vectorEnabled() {
        return Kernels.vector();
    }

    public static void gemm(boolean transA, boolean transB, int m, int n, int k,
                            float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                            float[] c, int cOff, int ldc, boolean accumulate) {
        if (Kernels.vector()) vector(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, accumulate);
        else scalar(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, accumulate);
    }

    /** Reference implementation: plain loops, float accumulation in k order. */
    public static void scalar(boolean transA, boolean transB, int m, int n, int k,
                              float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                              float[] c, int cOff, int ldc, boolean accumulate) {
        for (int i = 0; i < m; i++) {
            int ci = cOff + i * ldc;
            if (!accumulate) java.util.Arrays.fill(c, ci, ci + n, 0f);
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
        // Normalise to A[m,k] row-major and B[k,n] row-major (copies are O(mk + kn), small next to O(mnk)).
        if (transA) {
            a = transpose(a, aOff, lda, k, m);
            aOff = 0;
            lda = k;
        }
        if (transB) {
            b = transpose(b, bOff, ldb, n, k);
            bOff = 0;
            ldb = n;
        }
        final float[] fa = a, fb = b;
        final int fao = aOff, flda = lda, fbo = bOff, fldb = ldb;
        int rowsPerTask = (int) Math.max(1, Math.min(64, (1L << 20) / Math.max(1L, (long) n * k / 64 + 1)));
        int tasks = (m + rowsPerTask - 1) / rowsPerTask;
        Parallel.forEach(tasks, t -> {
            int i0 = t * rowsPerTask, i1 = Math.min(m, i0 + rowsPerTask);
            rows(i0, i1, n, k, fa, fao, flda, fb, fbo, fldb, c, cOff, ldc, accumulate);
        });
    }

    private static void rows(int i0, int i1, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                             float[] c, int cOff, int ldc, boolean accumulate) {
        int lanes = S.length();
        int nv = n - n % lanes;
        for (int i = i0; i < i1; i++) {
            int ci = cOff + i * ldc;
            if (!accumulate) java.util.Arrays.fill(c, ci, ci + n, 0f);
            for (int p = 0; p < k; p++) {
                float av = a[aOff + i * lda + p];
                if (av == 0f) continue;
                FloatVector va = FloatVector.broadcast(S, av);
                int bp = bOff + p * ldb;
                int j = 0;
                for (; j < nv; j += lanes) {
                    FloatVector vc = FloatVector.fromArray(S, c, ci + j);
                    va.fma(FloatVector.fromArray(S, b, bp + j), vc).intoArray(c, ci + j);
                }
                for (; j < n; j++) c[ci + j] += av * b[bp + j];
            }
        }
    }

    /** Copies the [rows, cols] matrix at (src, off, ld) into a fresh [cols, rows] row-major array. */
    static float[] transpose(float[] src, int off, int ld, int rows, int cols) {
        float[] t = new float[rows * cols];
        for (int r = 0; r < rows; r++)
            for (int q = 0; q < cols; q++) t[q * rows + r] = src[off + r * ld + q];
        return t;
    }

    static float dot(float[] x, int xo, float[] y, int yo, int n) {
        int lanes = S.length();
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (; i + lanes <= n; i += lanes) acc = FloatVector.fromArray(S, x, xo + i).fma(FloatVector.fromArray(S, y, yo + i), acc);
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) s += x[xo + i] * y[yo + i];
        return s;
    }
}
