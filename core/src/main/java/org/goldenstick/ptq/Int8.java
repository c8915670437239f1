package org.goldenstick.ptq;

/**
 * Symmetric int8 quantization used by PTQ, with the upstream Golden Stick / compressed-tensors conventions:
 * grid [−128, 127], {@code scale = 2·max|v| / 255} (= max|v| / 127.5), {@code q = clamp(round(v / scale))} with
 * round half away from zero, computed in double so that results do not depend on float rounding of the quotient.
 *
 * <p>Deliberate deviation from upstream: a channel whose values are all zero gets scale 1 (its codes are all 0),
 * where upstream produced scale 0 and divided by zero later.
 */
final class Int8 {
    static final int QMIN = -128;
    static final int QMAX = 127;

    private Int8() {}

    /** The symmetric scale for a range of ±absmax. */
    static float scale(double absmax) {
        if (!(absmax > 0)) return 1f;
        return (float) (2.0 * absmax / 255.0);
    }

    /** round half away from zero, then clamp to [−128, 127]. */
    static byte quantize(double v, float scale) {
        double r = v / scale;
        long q = r >= 0 ? (long) Math.floor(r + 0.5) : -(long) Math.floor(-r + 0.5);
        if (q < QMIN) q = QMIN;
        if (q > QMAX) q = QMAX;
        return (byte) q;
    }

    /**
     * Per-row (per output channel) quantization of a row-major {@code [rows, cols]} block: fills {@code q} and
     * {@code scales[row]}. NaN/Inf values are rejected naming {@code what} and the row.
     */
    static void quantizeRows(float[] w, int wOff, int rows, int cols, byte[] q, int qOff, float[] scales, int sOff, String what) {
        for (int r = 0; r < rows; r++) {
            int base = wOff + r * cols;
            double m = 0;
            for (int c = 0; c < cols; c++) {
                float v = w[base + c];
                if (!Float.isFinite(v)) throw new IllegalArgumentException(what + ": non-finite value " + v + " at row " + r + ", column " + c);
                double a = Math.abs(v);
                if (a > m) m = a;
            }
            float s = scale(m);
            scales[sOff + r] = s;
            int qb = qOff + r * cols;
            for (int c = 0; c < cols; c++) q[qb + c] = quantize(w[base + c], s);
        }
    }
}
