package org.goldenstick.formats.safetensors;

/**
 * Conversions between float32 and the 16-bit float formats, rounding to nearest, ties to even.
 *
 * <pre>{@code
 * short h = HalfFloats.toBf16(1.00390625f);   // 0x3F80: the tie rounds to the even mantissa
 * float f = HalfFloats.bf16ToFloat(h);        // 1.0f
 * }</pre>
 */
public final class HalfFloats {
    private HalfFloats() {}

    /** IEEE binary16 bits of {@code f} (round to nearest even; overflow gives infinity; NaN stays NaN). */
    public static short toF16(float f) {
        return Float.floatToFloat16(f);
    }

    /** The float value of IEEE binary16 bits. */
    public static float f16ToFloat(short h) {
        return Float.float16ToFloat(h);
    }

    /** bfloat16 bits of {@code f}: the top 16 bits of the float32, rounded to nearest even; NaN stays a quiet NaN. */
    public static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7FFFFFFF) > 0x7F800000) {
            // Keep the sign and the top payload bits, force the quiet bit so truncation cannot make it infinity.
            return (short) ((bits >>> 16) | 0x0040);
        }
        int lsb = (bits >>> 16) & 1;
        return (short) ((bits + 0x7FFF + lsb) >>> 16);
    }

    /** The float value of bfloat16 bits. */
    public static float bf16ToFloat(short b) {
        return Float.intBitsToFloat((b & 0xFFFF) << 16);
    }
}
