package org.goldenstick.tensor.kernel;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The residual sum of an int8 network read from 8-bit codes: {@code y = act(dequant(a) + b)}, with {@code b} floats or
 * codes on another grid, {@code act} the identity or ReLU, and optionally the codes of {@code y} on a consumer's grid
 * ({@link Codes}). Every value is the float expression of the fake-quantized model, operation by operation: a code's
 * value is {@code (max(c, minCode) − zeroPoint) · scale} (what the int8 layer that wrote the code gives for it), the sum
 * one float addition (commutative, so operand order does not matter), ReLU {@code Math.max(s, 0)} (−0 becomes +0), and
 * the output codes {@link Requantize#quantizeLinear} or {@link Requantize#quantizeRow} of {@code y}, as the consumer
 * computes them. The vector path computes the same operations in lanes.
 *
 * <pre>{@code
 * var g = new ResidualAdd.Grid(true, 0.05f, -3, -128);
 * var out = ResidualAdd.Codes.beside(consumerCodes, 0.04f, -128, false);
 * ResidualAdd.codesPlusFloats(convCodes, g, shortcut, true, y, 0, y.length, out);
 * }</pre>
 */
public final class ResidualAdd {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final VectorSpecies<Byte> BF = VectorSpecies.of(byte.class, VectorShape.forBitSize(F.length() * 8));
    /** Output codes are written a block at a time, right after the block's floats (still in L1). */
    private static final int BLOCK = 1024;

    private ResidualAdd() {}

    /**
     * An 8-bit per-tensor grid: the value of code {@code c} (a signed byte, or unsigned when {@code !signed}) is
     * {@code (max(c, minCode) − zeroPoint) · scale}.
     */
    public record Grid(boolean signed, float scale, int zeroPoint, int minCode) {}

    /**
     * The codes written for the sum {@code y}: {@code out[i] = quantizeLinear(y[i])} beside it (the values stay the sum),
     * or, {@code onGrid}, {@link Requantize#quantizeRow}: the codes clamped to {@code [lo, hi]} (a monotone activation
     * applied on the grid) and {@code y} replaced by their values, a quantize-dequantize point consuming the sum.
     */
    public record Codes(byte[] out, float scale, int zeroPoint, boolean unsigned, int lo, int hi, int minCode, boolean onGrid) {
        /** Codes beside the sum, as {@link Requantize#quantizeLinear} gives them. */
        public static Codes beside(byte[] out, float scale, int zeroPoint, boolean unsigned) {
            return new Codes(out, scale, zeroPoint, unsigned, unsigned ? 0 : -128, unsigned ? 255 : 127, unsigned ? 0 : -128, false);
        }

        /** Codes in {@code [lo, hi]} with the sum replaced by their values, as {@link Requantize#quantizeRow} gives them. */
        public static Codes onGrid(byte[] out, float scale, int zeroPoint, boolean unsigned, int lo, int hi, int minCode) {
            return new Codes(out, scale, zeroPoint, unsigned, lo, hi, minCode, true);
        }

        /** Codes {@code out[outOff, outOff + len)} from the sums {@code t[tOff, tOff + len)}; on the grid, their values back into t if {@code values}. */
        void write(float[] t, int tOff, int len, int outOff, boolean values) {
            if (onGrid) Requantize.quantizeRow(t, tOff, len, scale, zeroPoint, unsigned, lo, hi, minCode, out, outOff, values ? t : null, tOff);
            else Requantize.quantizeLinear(t, tOff, len, scale, zeroPoint, unsigned, out, outOff);
        }
    }

    /**
     * {@code y[i] = act(value(a[i]) + b[i])} for i in [from, to), then {@code codes} (when not null) written from it.
     * {@code y} null: codes only (on-grid {@code codes} required), the sums kept in a block-sized scratch.
     */
    public static void codesPlusFloats(byte[] a, Grid ga, float[] b, boolean relu, float[] y, int from, int to, Codes codes) {
        float[] t = target(y, codes);
        float lo = ga.minCode(), z = ga.zeroPoint(), sc = ga.scale();
        for (int s = from; s < to; s += BLOCK) {
            int e = Math.min(to, s + BLOCK), d = y != null ? 0 : s; // t[i - d] holds the sum at i
            int i = s;
            if (Kernels.vector()) {
                // one loop per conversion and activation: a conversion operator that is not a constant keeps C2 from
                // compiling it to one instruction
                if (ga.signed()) {
                    if (relu) for (; i + F.length() <= e; i += F.length()) signed(a, i, lo, z, sc).add(FloatVector.fromArray(F, b, i)).max(0f).intoArray(t, i - d);
                    else for (; i + F.length() <= e; i += F.length()) signed(a, i, lo, z, sc).add(FloatVector.fromArray(F, b, i)).intoArray(t, i - d);
                } else {
                    if (relu) for (; i + F.length() <= e; i += F.length()) unsigned(a, i, lo, z, sc).add(FloatVector.fromArray(F, b, i)).max(0f).intoArray(t, i - d);
                    else for (; i + F.length() <= e; i += F.length()) unsigned(a, i, lo, z, sc).add(FloatVector.fromArray(F, b, i)).intoArray(t, i - d);
                }
            }
            for (; i < e; i++) {
                float v = value(a[i], ga) + b[i];
                t[i - d] = relu ? Math.max(v, 0f) : v;
            }
            if (codes != null) codes.write(t, s - d, e - s, s, y != null);
        }
    }

    /**
     * {@code y[i] = act(value(a[i]) + value(b[i]))} for i in [from, to), each code on its own grid, then {@code codes}
     * (when not null) written from it. {@code y} null: codes only, as {@link #codesPlusFloats}.
     */
    public static void codesPlusCodes(byte[] a, Grid ga, byte[] b, Grid gb, boolean relu, float[] y, int from, int to, Codes codes) {
        float[] t = target(y, codes);
        float lo = ga.minCode(), z = ga.zeroPoint(), sc = ga.scale();
        for (int s = from; s < to; s += BLOCK) {
            int e = Math.min(to, s + BLOCK), d = y != null ? 0 : s;
            int i = s;
            if (Kernels.vector()) {
                // b decoded into t first, then a added to it in place: one conversion per loop (see codesPlusFloats)
                decode(b, gb, t, s, e, d);
                if (ga.signed()) {
                    if (relu) for (; i + F.length() <= e; i += F.length()) signed(a, i, lo, z, sc).add(FloatVector.fromArray(F, t, i - d)).max(0f).intoArray(t, i - d);
                    else for (; i + F.length() <= e; i += F.length()) signed(a, i, lo, z, sc).add(FloatVector.fromArray(F, t, i - d)).intoArray(t, i - d);
                } else {
                    if (relu) for (; i + F.length() <= e; i += F.length()) unsigned(a, i, lo, z, sc).add(FloatVector.fromArray(F, t, i - d)).max(0f).intoArray(t, i - d);
                    else for (; i + F.length() <= e; i += F.length()) unsigned(a, i, lo, z, sc).add(FloatVector.fromArray(F, t, i - d)).intoArray(t, i - d);
                }
            }
            for (; i < e; i++) {
                float v = value(a[i], ga) + value(b[i], gb);
                t[i - d] = relu ? Math.max(v, 0f) : v;
            }
            if (codes != null) codes.write(t, s - d, e - s, s, y != null);
        }
    }

    /** Where the sums go: {@code y}, or a block-sized scratch when only codes are wanted. */
    private static float[] target(float[] y, Codes codes) {
        if (y != null) return y;
        if (codes == null || !codes.onGrid()) throw new IllegalArgumentException("ResidualAdd: no float output needs on-grid codes to write");
        return new float[BLOCK];
    }

    /** The value of one code on {@code g}. */
    static float value(byte c, Grid g) {
        int v = g.signed() ? c : c & 0xFF;
        return (Math.max(v, g.minCode()) - g.zeroPoint()) * g.scale();
    }

    /** {@code t[i - d] = value(q[i])} for the whole vectors in [from, to) (the vector path's tail is left to the caller). */
    private static void decode(byte[] q, Grid g, float[] t, int from, int to, int d) {
        float lo = g.minCode(), z = g.zeroPoint(), sc = g.scale();
        int i = from;
        if (g.signed()) for (; i + F.length() <= to; i += F.length()) signed(q, i, lo, z, sc).intoArray(t, i - d);
        else for (; i + F.length() <= to; i += F.length()) unsigned(q, i, lo, z, sc).intoArray(t, i - d);
    }

    private static FloatVector signed(byte[] q, int i, float lo, float z, float s) {
        IntVector c = (IntVector) ByteVector.fromArray(BF, q, i).convertShape(VectorOperators.B2I, I, 0);
        return ((FloatVector) c.convert(VectorOperators.I2F, 0)).max(lo).sub(z).mul(s);
    }

    private static FloatVector unsigned(byte[] q, int i, float lo, float z, float s) {
        IntVector c = (IntVector) ByteVector.fromArray(BF, q, i).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
        return ((FloatVector) c.convert(VectorOperators.I2F, 0)).max(lo).sub(z).mul(s);
    }
}
