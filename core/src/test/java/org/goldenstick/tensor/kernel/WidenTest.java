package org.goldenstick.tensor.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The vector widening loops against one-value-at-a-time references. */
class WidenTest {
    /**
     * {@link Widen#nibbles} gives, for every start parity, byte offset and length (vector steps, scalar heads and
     * tails, empty), exactly what dequantizing each 4-bit code of the packed row alone gives — the codes read from
     * the little-endian int32 words as {@link PackedIntWeights#q} reads them — and leaves the rest of out untouched.
     */
    @Test
    void nibblesEqualTheCodesDequantizedOneAtATime() {
        Random rnd = new Random(23);
        int cols = 1024;
        byte[] q = new byte[cols];
        for (int c = 0; c < cols; c++) q[c] = (byte) (rnd.nextInt(16) - 8);
        PackedIntWeights w = PackedIntWeights.pack(q, 1, cols, 4, cols, new float[] {1f}, null);
        MemorySegment words = w.words();
        for (int start : new int[] {0, 1, 2, 7, 8, 33, 128, 255})
            for (int len : new int[] {0, 1, 2, 3, 15, 16, 31, 32, 33, 63, 64, 65, 100, 257, 500}) {
                int zero = 8 + rnd.nextInt(3) - 1;
                float scale = 0.01f + rnd.nextFloat();
                float[] out = new float[len + 4];
                java.util.Arrays.fill(out, -99f);
                Widen.nibbles(words, start / 2, start & 1, len, zero, scale, out, 2);
                for (int i = 0; i < len; i++) {
                    int u = w.q(0, start + i) + 8;
                    assertEquals((u - zero) * scale, out[2 + i], "start " + start + " len " + len + " i " + i);
                }
                assertEquals(-99f, out[0]);
                assertEquals(-99f, out[1]);
                assertEquals(-99f, out[len + 2]);
                assertEquals(-99f, out[len + 3]);
            }
    }
}
