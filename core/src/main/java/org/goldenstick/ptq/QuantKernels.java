package org.goldenstick.ptq;

import org.goldenstick.tensor.kernel.Int8Gemm;
import org.goldenstick.tensor.kernel.Parallel;
import org.goldenstick.tensor.kernel.QMatrix;
import org.goldenstick.tensor.kernel.Sgemm;

/**
 * The int8 matmuls behind the deploy layers, over row-major int8 weights {@code [out, in]} with one float scale
 * per output channel.
 *
 * <ul>
 *   <li>W8A16: {@code y[m,o] = scale[o] · Σ_k x[m,k]·q[o,k]}. Decode (few rows) streams the int8 weights once
 *       (a GEMV per row block); prefill dequantizes a block of weight rows to float and reuses SGEMM.
 *   <li>W8A8: {@code y[m,o] = a[m]·scale[o] · Σ_k qx[m,k]·q[o,k]}, the sum exact in int32.
 * </ul>
 */
final class QuantKernels {
    /** Rows of x up to which W8A16 uses the streaming GEMV rather than dequantize + SGEMM. */
    private static final int GEMV_MAX_ROWS = 4;
    /** Output channels per parallel task. */
    private static final int BLOCK = 64;

    private QuantKernels() {}

    static void w8a16(float[] x, int m, int in, byte[] w, float[] scale, int out, float[] bias, float[] y) {
        if (m <= GEMV_MAX_ROWS) {
            int tasks = (out + BLOCK - 1) / BLOCK;
            Parallel.forEach(tasks, t -> {
                int o0 = t * BLOCK, o1 = Math.min(out, o0 + BLOCK);
                for (int r = 0; r < m; r++) {
                    int xo = r * in;
                    for (int o = o0; o < o1; o++) {
                        int wo = o * in;
                        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                        int k = 0;
                        for (; k + 3 < in; k += 4) {
                            s0 += x[xo + k] * w[wo + k];
                            s1 += x[xo + k + 1] * w[wo + k + 1];
                            s2 += x[xo + k + 2] * w[wo + k + 2];
                            s3 += x[xo + k + 3] * w[wo + k + 3];
                        }
                        for (; k < in; k++) s0 += x[xo + k] * w[wo + k];
                        y[r * out + o] = (s0 + s1 + s2 + s3) * scale[o] + (bias == null ? 0f : bias[o]);
                    }
                }
            });
            return;
        }
        // prefill: dequantize BLOCK·4 weight rows at a time and multiply with SGEMM (y_block = x · W_blockᵀ)
        int chunk = BLOCK * 4;
        float[] tile = new float[Math.min(out, chunk) * in];
        for (int o0 = 0; o0 < out; o0 += chunk) {
            int rows = Math.min(chunk, out - o0);
            int base = o0;
            Parallel.forEach(rows, r -> {
                float s = scale[base + r];
                int wo = (base + r) * in, to = r * in;
                for (int k = 0; k < in; k++) tile[to + k] = w[wo + k] * s;
            });
            Sgemm.gemm(false, true, m, rows, in, x, 0, in, tile, 0, in, y, o0, out, false);
        }
        if (bias != null) for (int r = 0; r < m; r++) for (int o = 0; o < out; o++) y[r * out + o] += bias[o];
    }

    /**
     * Quantizes each row of x to int8 with its own absmax scale (per-token dynamic), or with one fixed scale
     * ({@code staticScale > 0}); fills {@code qx} and {@code rowScale}.
     */
    static void quantizeActivations(float[] x, int m, int in, float staticScale, byte[] qx, float[] rowScale, String layer) {
        for (int r = 0; r < m; r++) {
            int xo = r * in;
            float s;
            if (staticScale > 0) {
                s = staticScale;
                for (int k = 0; k < in; k++) if (!Float.isFinite(x[xo + k])) throw nonFinite(layer, x[xo + k], r, k);
            } else {
                double a = 0;
                for (int k = 0; k < in; k++) {
                    float v = x[xo + k];
                    if (!Float.isFinite(v)) throw nonFinite(layer, v, r, k);
                    a = Math.max(a, Math.abs(v));
                }
                s = Int8.scale(a);
            }
            rowScale[r] = s;
            for (int k = 0; k < in; k++) qx[xo + k] = Int8.quantize(x[xo + k], s);
        }
    }

    private static ArithmeticException nonFinite(String layer, float v, int row, int col) {
        return new ArithmeticException(layer + ": non-finite activation " + v + " at token " + row + ", channel " + col);
    }

    static void w8a8(byte[] qx, float[] rowScale, int m, int in, byte[] w, float[] scale, int out, float[] bias, float[] y) {
        if (m > 1) {
            // exact int32 GEMM (Int8Gemm widens to float in packing; exact for |partial sums| < 2^24), then rescale
            int[] acc = new int[m * out];
            Int8Gemm.gemm(m, out, in, QMatrix.int8(qx, 0, in, 0), QMatrix.int8(w, 0, in, 0).transpose(), acc, 0, out, false);
            for (int r = 0; r < m; r++) {
                for (int o = 0; o < out; o++) y[r * out + o] = (float) ((double) acc[r * out + o] * rowScale[r] * scale[o]) + (bias == null ? 0f : bias[o]);
            }
            return;
        }
        int tasks = (out + BLOCK - 1) / BLOCK;
        Parallel.forEach(tasks, t -> {
            int o0 = t * BLOCK, o1 = Math.min(out, o0 + BLOCK);
            for (int o = o0; o < o1; o++) {
                int wo = o * in;
                int acc = 0;
                for (int k = 0; k < in; k++) acc += qx[k] * w[wo + k];
                y[o] = (float) ((double) acc * rowScale[0] * scale[o]) + (bias == null ? 0f : bias[o]);
            }
        });
    }
}
