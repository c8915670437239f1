package org.goldenstick.ptq;

import org.goldenstick.tensor.kernel.Int8Weights;
import org.goldenstick.tensor.kernel.W8A16Kernels;
import org.goldenstick.tensor.kernel.W8A8Kernels;

/**
 * The int8 matmuls behind the deploy layers, on the engine's kernels ({@link W8A16Kernels}, {@link W8A8Kernels}, both
 * with Vector API and scalar paths chosen by {@code Kernels.vector()}), over row-major int8 weights {@code [out, in]}
 * with one float scale per output channel.
 *
 * <ul>
 *   <li>W8A16: {@code y[m,o] = scale[o] · Σ_k x[m,k]·q[o,k] + b[o]}; decode streams the int8 weights once (GEMV, two
 *       rows per pass), prefill dequantizes while packing and runs the SGEMM micro-kernel.
 *   <li>W8A8: activations quantized here with our convention (symmetric, max|x|/127.5, round half away from zero),
 *       exact int32 product in the kernel, then {@code y[m,o] = a[m]·scale[o]·acc[m,o] + b[o]}.
 * </ul>
 */
final class QuantKernels {
    private QuantKernels() {}

    static void w8a16(float[] x, int m, Int8Weights w, float[] bias, float[] y) {
        int in = w.cols(), out = w.rows();
        W8A16Kernels.gemm(m, x, 0, in, w, y, 0, out, false);
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

    static void w8a8(byte[] qx, float[] rowScale, int m, Int8Weights w, float[] bias, float[] y) {
        int out = w.rows();
        int[] acc = W8A8Kernels.int32Product(new W8A8Kernels.QuantizedActivations(qx, m, w.cols(), rowScale), w);
        float[] scale = w.scales();
        for (int r = 0; r < m; r++) {
            for (int o = 0; o < out; o++) y[r * out + o] = (float) ((double) acc[r * out + o] * rowScale[r] * scale[o]) + (bias == null ? 0f : bias[o]);
        }
    }
}
