package org.goldenstick.formats.gguf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * ggml's Q8_0 block format: 32 values share one fp16 scale {@code d = max|x| / 127}; each value is stored as
 * {@code round(x / d)} in an int8. A block is 2 + 32 = 34 bytes.
 */
public final class Q8_0 {
    public static final int BLOCK = 32;
    public static final int BLOCK_BYTES = 34;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Q8_0() {}

    /** Quantizes {@code x} (length a multiple of 32) to Q8_0 bytes, exactly as ggml's reference quantizer. */
    public static byte[] quantize(float[] x) {
        if (x.length % BLOCK != 0) throw new IllegalArgumentException("Q8_0 needs a multiple of 32 values, got " + x.length);
        int blocks = x.length / BLOCK;
        byte[] out = new byte[blocks * BLOCK_BYTES];
        for (int b = 0; b < blocks; b++) {
            float amax = 0;
            for (int j = 0; j < BLOCK; j++) amax = Math.max(amax, Math.abs(x[b * BLOCK + j]));
            float d = amax / 127f;
            float id = d != 0 ? 1f / d : 0f;
            short h = Float.floatToFloat16(d);
            int o = b * BLOCK_BYTES;
            out[o] = (byte) h;
            out[o + 1] = (byte) (h >> 8);
            for (int j = 0; j < BLOCK; j++) out[o + 2 + j] = (byte) roundHalfAway(x[b * BLOCK + j] * id);
        }
        return out;
    }

    /** C's {@code roundf}: halves round away from zero (Math.round would send -2.5 to -2). */
    private static int roundHalfAway(float v) {
        return v < 0 ? -Math.round(-v) : Math.round(v);
    }

    /** Dequantizes {@code out.length} values from Q8_0 blocks. */
    public static void dequantize(MemorySegment data, float[] out) {
        int blocks = out.length / BLOCK;
        for (int b = 0; b < blocks; b++) {
            long o = (long) b * BLOCK_BYTES;
            float d = Float.float16ToFloat(data.get(I16, o));
            for (int j = 0; j < BLOCK; j++) out[b * BLOCK + j] = d * data.get(ValueLayout.JAVA_BYTE, o + 2 + j);
        }
    }
}
