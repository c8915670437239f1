package org.goldenstick.formats.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * ggml block formats: what {@link GgmlBlocks} encodes, decoded by an independent float64 reader written here from
 * the struct definitions of ggml-common.h (byte offsets and bit positions spelled out), must equal
 * {@link GgmlBlocks#decode}; and the encoding must approximate the input within each format's step size.
 */
class GgmlBlocksTest {
    private static final List<GgmlType> BLOCK_TYPES = List.of(GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q4_K, GgmlType.Q6_K);

    /** Rows of 512 values with different scales, signs and an all-zero block. */
    private static float[] data(long seed) {
        Random r = new Random(seed);
        float[] x = new float[512 * 4];
        for (int i = 0; i < x.length; i++) {
            int row = i / 512;
            double s = switch (row) {
                case 0 -> 0.02;
                case 1 -> 1.0;
                case 2 -> 30.0;
                default -> 0.5;
            };
            x[i] = (float) (r.nextGaussian() * s + (row == 3 ? -1.0 : 0.0)); // row 3: mostly negative (exercises the min)
        }
        for (int i = 256; i < 512; i++) x[i] = 0f; // a zero K-block / eight zero 32-blocks
        x[700] = 200f; // an outlier
        return x;
    }

    private static int u8(byte[] b, int o) {
        return b[o] & 0xFF;
    }

    private static double half(byte[] b, int o) {
        return Float.float16ToFloat((short) (u8(b, o) | (u8(b, o + 1) << 8)));
    }

    /** ggml-common.h, decoded in float64. */
    static double[] referenceDecode(GgmlType t, byte[] b, int n) {
        double[] y = new double[n];
        int blocks = n / t.blockSize();
        for (int k = 0; k < blocks; k++) {
            int o = k * t.blockBytes(), y0 = k * t.blockSize();
            switch (t) {
                case Q8_0 -> { // struct { ggml_half d; int8_t qs[32]; }
                    double d = half(b, o);
                    for (int j = 0; j < 32; j++) y[y0 + j] = d * b[o + 2 + j];
                }
                case Q4_0 -> { // struct { ggml_half d; uint8_t qs[16]; }: element j low nibble, j+16 high nibble
                    double d = half(b, o);
                    for (int j = 0; j < 32; j++) {
                        int q = j < 16 ? u8(b, o + 2 + j) & 15 : u8(b, o + 2 + j - 16) >> 4;
                        y[y0 + j] = d * (q - 8);
                    }
                }
                case Q4_1 -> { // struct { ggml_half d; ggml_half m; uint8_t qs[16]; }
                    double d = half(b, o), m = half(b, o + 2);
                    for (int j = 0; j < 32; j++) {
                        int q = j < 16 ? u8(b, o + 4 + j) & 15 : u8(b, o + 4 + j - 16) >> 4;
                        y[y0 + j] = d * q + m;
                    }
                }
                case Q4_K -> { // struct { ggml_half d; ggml_half dmin; uint8_t scales[12]; uint8_t qs[128]; }
                    double d = half(b, o), dmin = half(b, o + 2);
                    int sc0 = o + 4;
                    for (int e = 0; e < 256; e++) {
                        int sub = e / 32; // 8 sub-blocks of 32
                        int scale, min;
                        if (sub < 4) { // 6 low bits of bytes 0..3 (scales) and 4..7 (mins)
                            scale = u8(b, sc0 + sub) & 63;
                            min = u8(b, sc0 + 4 + sub) & 63;
                        } else { // low 4 bits in bytes 8..11, top 2 bits in the high bits of bytes 0..3 / 4..7
                            scale = (u8(b, sc0 + 8 + sub - 4) & 15) | ((u8(b, sc0 + sub - 4) >> 6) << 4);
                            min = (u8(b, sc0 + 8 + sub - 4) >> 4) | ((u8(b, sc0 + 4 + sub - 4) >> 6) << 4);
                        }
                        int chunk = e / 64, within = e % 64; // each 64 values share 32 bytes
                        int byteAt = o + 16 + 32 * chunk + within % 32;
                        int q = within < 32 ? u8(b, byteAt) & 15 : u8(b, byteAt) >> 4;
                        y[y0 + e] = d * scale * q - dmin * min;
                    }
                }
                case Q6_K -> { // struct { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; ggml_half d; }
                    double d = half(b, o + 208);
                    for (int e = 0; e < 256; e++) {
                        int h = e / 128, w = e % 128, quarter = w / 32, l = w % 32; // 4 quarters of 32 per half
                        int qlByte = u8(b, o + 64 * h + l + (quarter % 2 == 1 ? 32 : 0));
                        int low = quarter < 2 ? qlByte & 15 : qlByte >> 4;
                        int high = (u8(b, o + 128 + 32 * h + l) >> (2 * quarter)) & 3;
                        int scale = b[o + 192 + e / 16];
                        y[y0 + e] = d * scale * ((low | (high << 4)) - 32);
                    }
                }
                default -> throw new AssertionError(t);
            }
        }
        return y;
    }

    @Test
    void decodeEqualsTheFloat64ReadingOfTheStructs() {
        float[] x = data(1);
        for (GgmlType t : BLOCK_TYPES) {
            byte[] b = GgmlBlocks.encode(t, x);
            assertEquals(x.length / t.blockSize() * t.blockBytes(), b.length, t + " size");
            float[] got = new float[x.length];
            GgmlBlocks.decode(t, MemorySegment.ofArray(b), 0, got, 0, x.length);
            double[] ref = referenceDecode(t, b, x.length);
            for (int i = 0; i < x.length; i++) {
                assertEquals(ref[i], got[i], 1e-6 * Math.abs(ref[i]) + 1e-30, t + " element " + i);
            }
        }
    }

    @Test
    void encodingApproximatesTheInputWithinTheStep() {
        float[] x = data(2);
        for (GgmlType t : BLOCK_TYPES) {
            byte[] b = GgmlBlocks.encode(t, x);
            double[] y = referenceDecode(t, b, x.length);
            int bs = t == GgmlType.Q6_K ? 16 : 32; // sub-block sharing one scale
            for (int s = 0; s < x.length / bs; s++) {
                double lo = Double.MAX_VALUE, hi = -Double.MAX_VALUE, amax = 0;
                for (int i = 0; i < bs; i++) {
                    lo = Math.min(lo, x[s * bs + i]);
                    hi = Math.max(hi, x[s * bs + i]);
                    amax = Math.max(amax, Math.abs(x[s * bs + i]));
                }
                double tol = switch (t) {
                    case Q8_0 -> 0.51 * amax / 127;                    // symmetric, step max|x|/127
                    case Q4_0 -> 1.01 * amax / 8;                      // step max|x|/8; the far end clamps at 7 steps
                    case Q4_1 -> 0.51 * (hi - lo) / 15 + 1e-3 * (hi - lo); // step (max-min)/15, fp16 min
                    // step max|x|/32; the 8-bit sub-block scale is one of the two nearest (relative to the super-block's)
                    case Q6_K -> amax / 32 + (s / 16 == 2 ? 200.0 / 32 / 128 : amax / 32);
                    // range including 0 in 15 steps; the 6-bit sub-block scales relative to the super-block's largest
                    case Q4_K -> (s / 8 == 2 ? 0.08 * 200 : 3.0 * (Math.max(hi, 0) - Math.min(lo, 0)) / 15);
                    default -> throw new AssertionError(t);
                } + 1e-3 * amax + 1e-7; // + the fp16 rounding of the scale
                for (int i = 0; i < bs; i++) {
                    int k = s * bs + i;
                    assertTrue(Math.abs(y[k] - x[k]) <= tol, t + " element " + k + ": " + x[k] + " -> " + y[k] + " (tolerance " + tol + ")");
                }
            }
            for (int i = 256; i < 512; i++) assertEquals(0.0, y[i], 1e-12, t + ": zero block stays zero at " + i);
        }
    }

    @Test
    void legacyBlocksEqualGgmlReferenceRounding() {
        // Hand-computed Q4_0 block: max-magnitude value -4 → d = -4 / -8 = 0.5, q = round(x / d) + 8.
        float[] x = new float[32];
        for (int j = 0; j < 32; j++) x[j] = (j % 9 - 4) * 0.5f;
        x[5] = -4f;
        byte[] b = GgmlBlocks.encode(GgmlType.Q4_0, x);
        assertEquals(0.5, half(b, 0));
        for (int j = 0; j < 32; j++) {
            int q = j < 16 ? u8(b, 2 + j) & 15 : u8(b, 2 + j - 16) >> 4;
            assertEquals(Math.min(15, (int) (x[j] / 0.5 + 8.5)), q, "q of element " + j);
        }
        // Q8_0: d = max|x| / 127, q = roundf(x / d) with halves away from zero.
        float[] z = new float[32];
        z[0] = 127f;
        z[1] = -2.5f;
        z[2] = 2.5f;
        byte[] c = GgmlBlocks.encode(GgmlType.Q8_0, z);
        assertEquals(1.0, half(c, 0));
        assertArrayEquals(new byte[] {127, -3, 3}, new byte[] {c[2], c[3], c[4]});
    }

    @Test
    void plainTypesRoundTrip() {
        float[] x = {1.5f, -2.25f, 3.0e-3f, 65504f, 0f};
        for (GgmlType t : List.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16)) {
            byte[] b = GgmlBlocks.encode(t, x);
            float[] y = new float[x.length];
            GgmlBlocks.decode(t, MemorySegment.ofArray(b), 0, y, 0, x.length);
            for (int i = 0; i < x.length; i++) assertEquals(x[i], y[i], t == GgmlType.F32 ? 0 : Math.abs(x[i]) * (t == GgmlType.BF16 ? 4e-3 : 5e-4), t + " " + i);
        }
    }
}
