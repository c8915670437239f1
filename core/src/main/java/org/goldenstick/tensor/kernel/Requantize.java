package org.goldenstick.tensor.kernel;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Float/int32 → int8/uint8 conversions with ONNX QuantizeLinear rounding: round half to even, then add
 * the zero point, then saturate. Arithmetic is in float32, as in ONNX Runtime.
 *
 * <pre>{@code
 * // QLinearMatMul tail: y = saturate(rint(acc · (sa·sb/sy)) + zy)
 * Requantize.requantize(m, n, acc, 0, n, new float[] {sa * sb / sy}, null, zy, true, y, 0, n);
 * byte q = (byte) Requantize.quantize(0.5f, 1f, 0, false);   // 0: half rounds to even
 * }</pre>
 */
public final class Requantize {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(F.length() * 8));
    /** Adding and subtracting 1.5·2^23 rounds a float with |x| < 2^22 to an integer, ties to even. */
    private static final float MAGIC = 12582912f;

    private Requantize() {}

    /** ONNX QuantizeLinear of one value: {@code saturate(rint(x / scale) + zeroPoint)} as an int in range. */
    public static int quantize(float x, float scale, int zeroPoint, boolean unsigned) {
        return saturate(Math.rint(x / scale) + zeroPoint, unsigned);
    }

    /** Dequantizes one value: {@code (q − zeroPoint) · scale}. */
    public static float dequantize(int q, float scale, int zeroPoint) {
        return (q - zeroPoint) * scale;
    }

    /** Quantizes {@code x[xOff, xOff+len)} into {@code out} with one scale and zero point. */
    public static void quantizeLinear(float[] x, int xOff, int len, float scale, int zeroPoint, boolean unsigned, byte[] out, int outOff) {
        checkZero(zeroPoint, unsigned);
        int i = 0;
        if (Kernels.vector()) {
            int lo = unsigned ? 0 : -128, hi = unsigned ? 255 : 127;
            FloatVector vs = FloatVector.broadcast(F, scale);
            for (; i + F.length() <= len; i += F.length()) {
                FloatVector v = FloatVector.fromArray(F, x, xOff + i).div(vs);
                store(v, zeroPoint, lo, hi, out, outOff + i);
            }
        }
        for (; i < len; i++) out[outOff + i] = (byte) quantize(x[xOff + i], scale, zeroPoint, unsigned);
    }

    /**
     * {@link #quantizeLinear} with the codes then clamped to {@code [lo, hi]} (a monotone activation applied on the grid:
     * ReLU is {@code lo} = the zero point, ReLU6 also {@code hi} = the code of 6, since quantization is monotone), writing
     * beside each code its dequantized value {@code (max(code, minCode) − zeroPoint)·scale}, as {@link #requantizeRow}
     * does: activation, quantization and dequantization of float inputs in one pass ({@code values} may be null: codes only).
     */
    public static void quantizeRow(float[] x, int xOff, int len, float scale, int zeroPoint, boolean unsigned, int lo, int hi, int minCode,
                                   byte[] out, int outOff, float[] values, int valuesOff) {
        checkZero(zeroPoint, unsigned);
        int i = 0;
        if (Kernels.vector()) {
            FloatVector vs = FloatVector.broadcast(F, scale);
            float zp = zeroPoint, min = minCode;
            for (; i + F.length() <= len; i += F.length()) {
                FloatVector v = FloatVector.fromArray(F, x, xOff + i).div(vs).max(-4096f).min(4096f);
                v = v.add(MAGIC).sub(MAGIC).add(zp).max((float) lo).min((float) hi); // the code, as an exact float
                ((ByteVector) ((IntVector) v.convert(VectorOperators.F2I, 0)).castShape(B, 0)).intoArray(out, outOff + i);
                if (values != null) v.max(min).sub(zp).mul(scale).intoArray(values, valuesOff + i);
            }
        }
        for (; i < len; i++) {
            int q = Math.max(lo, Math.min(hi, quantize(x[xOff + i], scale, zeroPoint, unsigned)));
            out[outOff + i] = (byte) q;
            if (values != null) values[valuesOff + i] = (Math.max(q, minCode) - zeroPoint) * scale;
        }
    }

    /**
     * Requantizes an int32 accumulator matrix: {@code out[i,j] = saturate(rint((acc[i,j] + bias[j]) ·
     * multiplier[j]) + zeroPoint)}. {@code multiplier} has 1 or n entries; {@code bias} (int32, as in
     * ONNX QLinearConv) is null or has n entries.
     */
    public static void requantize(int m, int n, int[] acc, int accOff, int ldAcc, float[] multiplier, int[] bias,
                                  int zeroPoint, boolean unsigned, byte[] out, int outOff, int ldOut) {
        checkZero(zeroPoint, unsigned);
        if (multiplier.length != 1 && multiplier.length != n) {
            throw new IllegalArgumentException("requantize: multiplier has " + multiplier.length + " entries; expected 1 or " + n);
        }
        if (bias != null && bias.length != n) throw new IllegalArgumentException("requantize: bias has " + bias.length + " entries; expected " + n);
        int lo = unsigned ? 0 : -128, hi = unsigned ? 255 : 127;
        boolean perCol = multiplier.length != 1;
        for (int i = 0; i < m; i++) {
            int a = accOff + i * ldAcc, o = outOff + i * ldOut, j = 0;
            if (Kernels.vector()) {
                for (; j + F.length() <= n; j += F.length()) {
                    IntVector iv = IntVector.fromArray(I, acc, a + j);
                    if (bias != null) iv = iv.add(IntVector.fromArray(I, bias, j));
                    FloatVector v = (FloatVector) iv.convert(VectorOperators.I2F, 0);
                    v = perCol ? v.mul(FloatVector.fromArray(F, multiplier, j)) : v.mul(multiplier[0]);
                    store(v, zeroPoint, lo, hi, out, o + j);
                }
            }
            for (; j < n; j++) {
                float v = (acc[a + j] + (bias == null ? 0 : bias[j])) * (perCol ? multiplier[j] : multiplier[0]);
                out[o + j] = (byte) saturate(Math.rint(v) + zeroPoint, unsigned);
            }
        }
    }

    /**
     * One row of {@link #requantize} with one multiplier and the int32 {@code add} in place of a bias, writing beside
     * each code its dequantized value {@code (max(code, minCode) − zeroPoint)·scale} (what a 256-entry table of the
     * output grid gives; {@code minCode} clamps a narrow range's extra code): the epilogue of a layer whose output
     * travels on as codes and floats, in one pass.
     */
    public static void requantizeRow(int[] acc, int accOff, int len, int add, float multiplier, int zeroPoint, boolean unsigned, int minCode,
                                     float scale, byte[] out, int outOff, float[] values, int valuesOff) {
        requantizeRows(acc, accOff, len, 1, len, add, multiplier, zeroPoint, unsigned, unsigned ? 0 : -128, unsigned ? 255 : 127, minCode, scale, out, outOff,
                values, valuesOff, len);
    }

    /**
     * {@link #requantizeRow} over {@code rows} rows of {@code cols} accumulators {@code pitch} apart (a plane with padded
     * rows), the codes clamped to {@code [lo, hi]} (the type's range, or narrower for a ReLU applied on the grid), written
     * contiguously: row r goes to {@code out[outOff + r·cols ...]} and {@code values[valuesOff + r·cols ...]}
     * ({@code values} may be null: codes only). The caller lets writes run up to {@code room} elements from
     * {@code outOff}/{@code valuesOff} (what it writes later anyway), so rows end in a full vector that spills into the
     * next row instead of a masked one; only a vector that would pass {@code room} or the end of {@code acc} is masked.
     */
    public static void requantizeRows(int[] acc, int accOff, int pitch, int rows, int cols, int add, float multiplier, int zeroPoint, boolean unsigned,
                                      int lo, int hi, int minCode, float scale, byte[] out, int outOff, float[] values, int valuesOff, int room) {
        checkZero(zeroPoint, unsigned);
        if (room < rows * cols) throw new IllegalArgumentException("requantizeRows: room " + room + " < " + rows + " x " + cols);
        if (lo < (unsigned ? 0 : -128) || hi > (unsigned ? 255 : 127) || lo > hi) {
            throw new IllegalArgumentException("requantizeRows: code bounds [" + lo + ", " + hi + "] outside the " + (unsigned ? "uint8" : "int8") + " range");
        }
        boolean vector = Kernels.vector();
        if (pitch == cols && rows > 1) { // contiguous rows: one long row, whole vectors across row ends
            cols *= rows;
            rows = 1;
        }
        // rint(clamp(x, lo − z, hi − z)) + z = clamp(rint(x) + z, lo, hi): the bounds are integers and rint is monotone,
        // so clamping first saves the ±4096 guard and the integer clamp; +MAGIC rounds, and its bits minus MAGIC's are the integer
        float below = lo - zeroPoint, above = hi - zeroPoint;
        int unbias = Float.floatToRawIntBits(MAGIC) - zeroPoint;
        for (int r = 0; r < rows; r++) {
            int a = accOff + r * pitch, o = r * cols, i = 0;
            // whole vectors only (a masked one made C2 give up on the loop); the few values they cannot reach, one by one
            if (vector) {
                for (; i < cols && o + i + F.length() <= room && a + i + F.length() <= acc.length; i += F.length()) {
                    requantizeVector(acc, a + i, add, multiplier, below, above, unbias, zeroPoint, minCode, scale, out, outOff + o + i, values, valuesOff + o + i);
                }
            }
            for (; i < cols; i++) {
                int q = Math.max(lo, Math.min(hi, saturate(Math.rint((acc[a + i] + add) * multiplier) + zeroPoint, unsigned)));
                out[outOff + o + i] = (byte) q;
                if (values != null) values[valuesOff + o + i] = (Math.max(q, minCode) - zeroPoint) * scale;
            }
        }
    }

    /**
     * One vector of {@link #requantizeRows}: {@code F.length()} accumulators from {@code a} to codes and values, clamped
     * to {@code [below, above]} (the code bounds minus the zero point) before rounding; {@code unbias} is MAGIC's bits
     * minus the zero point.
     */
    private static void requantizeVector(int[] acc, int a, int add, float multiplier, float below, float above, int unbias, int zeroPoint,
                                         int minCode, float scale, byte[] out, int o, float[] values, int v) {
        FloatVector x = ((FloatVector) IntVector.fromArray(I, acc, a).add(add).convert(VectorOperators.I2F, 0)).mul(multiplier).max(below).min(above);
        FloatVector m = x.add(MAGIC); // rint(x) + MAGIC, exactly: |x| ≤ 383 < 2^22
        IntVector q = m.reinterpretAsInts().sub(unbias); // the code
        ((ByteVector) q.castShape(B, 0)).intoArray(out, o);
        if (values != null) m.sub(MAGIC).max((float) (minCode - zeroPoint)).mul(scale).intoArray(values, v);
    }

    /** rint, + zero point, saturate, narrow to bytes (uint8 values keep their bit pattern). */
    private static void store(FloatVector v, int zeroPoint, int lo, int hi, byte[] out, int at) {
        // Clamp first so the magic-number rounding is valid; the bound lies outside every int8/uint8 result.
        v = v.max(-4096f).min(4096f);
        v = v.add(MAGIC).sub(MAGIC).add((float) zeroPoint).max((float) lo).min((float) hi);
        IntVector q = (IntVector) v.convert(VectorOperators.F2I, 0);
        ByteVector b = (ByteVector) q.castShape(B, 0);
        b.intoArray(out, at);
    }

    static int saturate(double v, boolean unsigned) {
        int lo = unsigned ? 0 : -128, hi = unsigned ? 255 : 127;
        if (Double.isNaN(v)) return 0;
        return (int) Math.max(lo, Math.min(hi, v));
    }

    private static void checkZero(int zeroPoint, boolean unsigned) {
        int lo = unsigned ? 0 : -128, hi = unsigned ? 255 : 127;
        if (zeroPoint < lo || zeroPoint > hi) {
            throw new IllegalArgumentException("zero point " + zeroPoint + " outside the " + (unsigned ? "uint8" : "int8") + " range");
        }
    }
}
