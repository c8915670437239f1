package org.goldenstick.ptq;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.goldenstick.quant.QuantMath;
import org.goldenstick.quant.QuantParams;
import org.goldenstick.tensor.kernel.Kernels;

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
        for (int i = 0; i < s.length; i++) {
            if (!(s[i] > 0)) s[i] = 1f;
            // (max - min) / 255 overflows float for |v| above ~1.7e38; the same value in double is finite
            else if (Float.isInfinite(s[i])) s[i] = (float) (2.0 * absmax[i] / 255.0);
        }
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
     * {@code scales[row]}. NaN/Inf values are rejected naming {@code what} and the row. The Vector API path computes
     * exactly what the scalar path ({@link QuantMath#quantizeValue}) computes: the quotient in double, then
     * round half away from zero as {@code sign · floor(|v| + 0.5)}, then clamp.
     */
    static void quantizeRows(float[] w, int wOff, int rows, int cols, byte[] q, int qOff, float[] scales, int sOff, String what) {
        quantizeRows(w, wOff, rows, cols, q, qOff, scales, sOff, what, 0);
    }

    /** As above, for rows {@code firstRow, firstRow + 1, ...} of a larger matrix (the row numbers errors name). */
    static void quantizeRows(float[] w, int wOff, int rows, int cols, byte[] q, int qOff, float[] scales, int sOff, String what, int firstRow) {
        boolean vector = Kernels.vector();
        float[] absmax = new float[rows];
        for (int r = 0; r < rows; r++) {
            int base = wOff + r * cols;
            float m = vector ? absMaxVector(w, base, cols) : 0;
            if (!vector || !Float.isFinite(m)) {
                m = 0;
                for (int c = 0; c < cols; c++) {
                    float v = w[base + c];
                    if (!Float.isFinite(v)) throw new IllegalArgumentException(what + ": non-finite value " + v + " at row " + (firstRow + r) + ", column " + c);
                    m = Math.max(m, Math.abs(v));
                }
            }
            absmax[r] = m;
        }
        float[] s = scales(absmax);
        System.arraycopy(s, 0, scales, sOff, rows);
        for (int r = 0; r < rows; r++) {
            int base = wOff + r * cols, qb = qOff + r * cols;
            float sr = s[r];
            int c = vector ? quantizeRowVector(w, base, cols, sr, q, qb) : 0;
            for (; c < cols; c++) q[qb + c] = (byte) QuantMath.quantizeValue(w[base + c], sr, 0, QMIN, QMAX);
        }
    }

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    private static final VectorSpecies<Double> D8 = DoubleVector.SPECIES_512;
    private static final VectorSpecies<Integer> I8 = IntVector.SPECIES_256;
    private static final VectorSpecies<Byte> B8 = ByteVector.SPECIES_64;

    /** max|w| over the row (NaN if the row holds a NaN). */
    private static float absMaxVector(float[] w, int base, int cols) {
        FloatVector acc = FloatVector.zero(F);
        int c = 0;
        for (; c + F.length() <= cols; c += F.length()) acc = acc.max(FloatVector.fromArray(F, w, base + c).abs());
        float m = acc.reduceLanes(VectorOperators.MAX);
        for (; c < cols; c++) m = Math.max(m, Math.abs(w[base + c]));
        return m; // lanewise max propagates NaN like Math.max; Inf stays Inf

    }

    /** Quantizes whole 8-lane chunks of a row; returns the first column left for the scalar tail. */
    private static int quantizeRowVector(float[] w, int base, int cols, float scale, byte[] q, int qb) {
        double sd = scale;
        int c = 0;
        for (; c + 8 <= cols; c += 8) {
            DoubleVector v = (DoubleVector) FloatVector.fromArray(F8, w, base + c).convertShape(VectorOperators.F2D, D8, 0);
            v = v.div(sd);
            DoubleVector a = v.abs().add(0.5);
            IntVector mag = (IntVector) a.convertShape(VectorOperators.D2I, I8, 0); // truncation = floor for a >= 0
            IntVector qi = mag.neg().blend(mag, v.compare(VectorOperators.GE, 0.0).cast(I8));
            qi = qi.max(QMIN).min(QMAX);
            ((ByteVector) qi.convertShape(VectorOperators.I2B, B8, 0)).intoArray(q, qb + c);
        }
        return c;
    }
}
