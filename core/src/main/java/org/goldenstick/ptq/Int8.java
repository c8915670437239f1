package org.goldenstick.ptq;

import org.goldenstick.quant.QuantMath;
import org.goldenstick.quant.QuantParams;

/**
 * Symmetric int8 quantization for PTQ on top of the shared {@link QuantMath} ({@code cal_quantization_params}
 * semantics): grid [−128, 127], {@code scale = 2·max|v| / 255} (= max|v| / 127.5, also the compressed-tensors
 * convention), {@code q = clamp(round(v / scale))} with round half away from zero.
 *
 * <p>Deliberate deviation from upstream: a channel whose values are all zero (among non-zero channels) gets
 * scale 1 (its codes are all 0), where upstream produced scale 0 and divided by zero later.
 */
final class Int8 {
    static final int QMIN = -128;
    static final int QMAX = 127;

    private Int8() {}

    /** Per-channel symmetric int8 scales for channels with the given max|v|. */
    static float[] scales(float[] absmax) {
        float[] mins = new float[absmax.length];
        for (int i = 0; i < absmax.length; i++) mins[i] = -absmax[i];
        QuantParams p = QuantMath.calQuantizationParams(mins, absmax, 8, true, true, false, absmax.length == 1 ? -1 : 0);
        float[] s = p.scale();
        for (int i = 0; i < s.length; i++) if (!(s[i] > 0)) s[i] = 1f;
        return s;
    }

    /** The symmetric scale for a range of ±absmax. */
    static float scale(double absmax) {
        return scales(new float[] {(float) absmax})[0];
    }

    static byte quantize(double v, float scale) {
        return (byte) QuantMath.quantizeValue((float) v, scale, 0, QMIN, QMAX);
    }

    /**
     * Per-row (per output channel) quantization of a row-major {@code [rows, cols]} block: fills {@code q} and
     * {@code scales[row]}. NaN/Inf values are rejected naming {@code what} and the row.
     */
    static void quantizeRows(float[] w, int wOff, int rows, int cols, byte[] q, int qOff, float[] scales, int sOff, String what) {
        float[] absmax = new float[rows];
        for (int r = 0; r < rows; r++) {
            int base = wOff + r * cols;
            float m = 0;
            for (int c = 0; c < cols; c++) {
                float v = w[base + c];
                if (!Float.isFinite(v)) throw new IllegalArgumentException(what + ": non-finite value " + v + " at row " + r + ", column " + c);
                m = Math.max(m, Math.abs(v));
            }
            absmax[r] = m;
        }
        float[] s = scales(absmax);
        System.arraycopy(s, 0, scales, sOff, rows);
        for (int r = 0; r < rows; r++) {
            int base = wOff + r * cols, qb = qOff + r * cols;
            float sr = s[r];
            for (int c = 0; c < cols; c++) q[qb + c] = (byte) QuantMath.quantizeValue(w[base + c], sr, 0, QMIN, QMAX);
        }
    }
}
