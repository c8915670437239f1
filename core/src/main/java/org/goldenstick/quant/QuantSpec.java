package org.goldenstick.quant;

/**
 * The integer grid a quantizer targets and how its range is turned into parameters: bit width, signed or
 * unsigned grid, symmetric range, narrow range (drops the lowest code, e.g. int8 [-127, 127]).
 *
 * <pre>{@code
 * QuantSpec w = QuantSpec.of(QuantDtype.INT8, true, false);   // int8 symmetric weights
 * QuantSpec a = QuantSpec.uint8Asymmetric();                  // activations as upstream SimQAT deploys them
 * }</pre>
 */
public record QuantSpec(int bits, boolean signed, boolean symmetric, boolean narrowRange) {
    public QuantSpec {
        if (bits < 1 || bits > 16) throw new IllegalArgumentException("QuantSpec.bits must be in [1, 16], got " + bits);
    }

    /** A spec from a dtype (bits and signedness). */
    public static QuantSpec of(QuantDtype dtype, boolean symmetric, boolean narrowRange) {
        return new QuantSpec(dtype.bits(), dtype.signed(), symmetric, narrowRange);
    }

    public static QuantSpec int8Symmetric() {
        return new QuantSpec(8, true, true, false);
    }

    public static QuantSpec uint8Asymmetric() {
        return new QuantSpec(8, false, false, false);
    }

    public int qmin() {
        return QuantMath.quantRange(bits, signed, narrowRange)[0];
    }

    public int qmax() {
        return QuantMath.quantRange(bits, signed, narrowRange)[1];
    }

    /** Parameters for an observed range ({@link QuantMath#calQuantizationParams}). */
    public QuantParams params(float[] mins, float[] maxs, int axis) {
        return QuantMath.calQuantizationParams(mins, maxs, bits, signed, symmetric, narrowRange, axis);
    }
}
