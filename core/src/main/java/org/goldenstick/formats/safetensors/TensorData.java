package org.goldenstick.formats.safetensors;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;

/** Bulk reads of little-endian tensor bytes into Java arrays, with dtype conversion to float32. */
final class TensorData {
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int CHUNK = 1 << 16;

    private TensorData() {}

    static int arrayLength(Path path, SafetensorsEntry e) {
        long n = e.numel();
        if (n > Integer.MAX_VALUE - 8) throw new IllegalArgumentException(path + ": tensor '" + e.name() + "' has " + n + " elements, too many for one Java array");
        return (int) n;
    }

    private static void requireDtype(Path path, SafetensorsEntry e, DType want) {
        if (want != null && e.dtype() != want) throw new IllegalArgumentException(path + ": tensor '" + e.name() + "' is " + e.dtype() + ", not " + want);
    }

    /**
     * Elements {@code [from, from + n)} of an F32, F16, BF16 or F64 tensor as floats, into {@code out[0..n)}: a slice read
     * straight from the mapping, so a large tensor can be processed in cache-sized pieces.
     */
    static void floatRange(Path path, SafetensorsEntry e, long from, int n, float[] out) {
        if (from < 0 || n < 0 || from + n > e.numel() || n > out.length) {
            throw new IllegalArgumentException(path + ": tensor '" + e.name() + "': elements [" + from + ", " + (from + n) + ") into " + out.length
                    + " floats, but it holds " + e.numel());
        }
        MemorySegment s = e.segment();
        switch (e.dtype()) {
            case F32 -> MemorySegment.copy(s, F32, 4 * from, out, 0, n);
            case F16, BF16 -> {
                short[] buf = new short[Math.min(n, CHUNK)];
                boolean bf = e.dtype() == DType.BF16;
                for (int start = 0; start < n; start += buf.length) {
                    int len = Math.min(buf.length, n - start);
                    MemorySegment.copy(s, I16, 2 * (from + start), buf, 0, len);
                    if (bf) {
                        for (int i = 0; i < len; i++) out[start + i] = HalfFloats.bf16ToFloat(buf[i]);
                    } else {
                        for (int i = 0; i < len; i++) out[start + i] = HalfFloats.f16ToFloat(buf[i]);
                    }
                }
            }
            case F64 -> {
                for (int i = 0; i < n; i++) out[i] = (float) s.getAtIndex(F64, from + i);
            }
            default -> throw new IllegalArgumentException(path + ": tensor '" + e.name() + "' is " + e.dtype() + ", not floating point");
        }
    }

    static float[] toFloats(Path path, SafetensorsEntry e) {
        int n = arrayLength(path, e);
        MemorySegment s = e.segment();
        float[] out = new float[n];
        switch (e.dtype()) {
            case F32, F16, BF16, F64 -> floatRange(path, e, 0, n, out);
            case I64 -> {
                for (int i = 0; i < n; i++) out[i] = (float) s.getAtIndex(I64, i);
            }
            case I32 -> {
                for (int i = 0; i < n; i++) out[i] = (float) s.getAtIndex(I32, i);
            }
            case I16 -> {
                for (int i = 0; i < n; i++) out[i] = s.getAtIndex(I16, i);
            }
            case I8 -> {
                for (int i = 0; i < n; i++) out[i] = s.get(ValueLayout.JAVA_BYTE, i);
            }
            case U8 -> {
                for (int i = 0; i < n; i++) out[i] = s.get(ValueLayout.JAVA_BYTE, i) & 0xFF;
            }
            case BOOL -> {
                for (int i = 0; i < n; i++) out[i] = s.get(ValueLayout.JAVA_BYTE, i) != 0 ? 1f : 0f;
            }
        }
        return out;
    }

    static byte[] bytes(Path path, SafetensorsEntry e, DType want) {
        requireDtype(path, e, want);
        if (e.byteLength() > Integer.MAX_VALUE - 8) throw new IllegalArgumentException(path + ": tensor '" + e.name() + "' has " + e.byteLength() + " bytes, too many for one Java array");
        return e.segment().toArray(ValueLayout.JAVA_BYTE);
    }

    static short[] shorts(Path path, SafetensorsEntry e, DType want) {
        requireDtype(path, e, want);
        int n = arrayLength(path, e);
        short[] out = new short[n];
        MemorySegment.copy(e.segment(), I16, 0, out, 0, n);
        return out;
    }

    static int[] ints(Path path, SafetensorsEntry e) {
        requireDtype(path, e, DType.I32);
        int n = arrayLength(path, e);
        int[] out = new int[n];
        MemorySegment.copy(e.segment(), I32, 0, out, 0, n);
        return out;
    }

    static long[] longs(Path path, SafetensorsEntry e) {
        requireDtype(path, e, DType.I64);
        int n = arrayLength(path, e);
        long[] out = new long[n];
        MemorySegment.copy(e.segment(), I64, 0, out, 0, n);
        return out;
    }
}
