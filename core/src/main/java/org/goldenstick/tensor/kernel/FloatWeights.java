package org.goldenstick.tensor.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A floating-point weight matrix {@code W[rows=out, cols=in]} (row-major, row stride = cols) read in place from a
 * {@link MemorySegment}: little-endian float32, bfloat16 or float16, as safetensors and GGUF store them. The bytes
 * usually are a slice of a memory-mapped checkpoint (zero copy: the page cache holds them, not the Java heap); heap
 * weights are copied into native memory by {@link #of(float[], int, int)} ({@link WeightMemory}: one segment kind). Off-heap segments must be readable from the
 * {@link Parallel} workers (a shared or automatic arena).
 *
 * <pre>{@code
 * FloatWeights w = FloatWeights.of(entry.segment(), 0, out, in, FloatWeights.Encoding.BF16);
 * FloatWeightKernels.gemm(tokens, x, 0, in, w, y, 0, out, false);   // y[tokens, out] = x·Wᵀ
 * }</pre>
 *
 * @param data     the bytes (little-endian)
 * @param offset   byte offset of element [0, 0]
 * @param encoding how each element is stored
 */
public record FloatWeights(MemorySegment data, long offset, int rows, int cols, Encoding encoding) {
    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** The element encodings a weight matrix can be read from. */
    public enum Encoding {
        F32(4), BF16(2), F16(2);

        private final int bytes;

        Encoding(int bytes) {
            this.bytes = bytes;
        }

        /** Bytes per element. */
        public int bytes() {
            return bytes;
        }
    }

    public FloatWeights {
        if (rows < 0 || cols < 0) throw new IllegalArgumentException("FloatWeights: negative shape [" + rows + ", " + cols + "]");
        long need = (long) rows * cols * encoding.bytes();
        if (offset < 0 || offset + need > data.byteSize()) {
            throw new IllegalArgumentException("FloatWeights: " + encoding + " [" + rows + ", " + cols + "] at offset " + offset + " needs "
                    + need + " bytes, segment has " + data.byteSize());
        }
    }

    /** A view of {@code [rows, cols]} elements of {@code encoding} at {@code offset} of {@code data}. */
    public static FloatWeights of(MemorySegment data, long offset, int rows, int cols, Encoding encoding) {
        return new FloatWeights(data, offset, rows, cols, encoding);
    }

    /**
     * Weights {@code w [rows·cols]} (row-major) copied once into native memory as little-endian float32: the kind of
     * memory every weight is read from ({@link WeightMemory}), never a heap segment.
     */
    public static FloatWeights of(float[] w, int rows, int cols) {
        if (w.length != (long) rows * cols) throw new IllegalArgumentException("FloatWeights.of: " + w.length + " values for [" + rows + ", " + cols + "]");
        return new FloatWeights(WeightMemory.ofFloats(w, F32_LE), 0, rows, cols, Encoding.F32);
    }

    /** Bytes of the matrix. */
    public long byteSize() {
        return (long) rows * cols * encoding.bytes();
    }

    /** Byte address of element {@code [r, c]} in {@link #data()}. */
    long address(int r, int c) {
        return offset + ((long) r * cols + c) * encoding.bytes();
    }

    /** Element {@code [r, c]} as a float. */
    public float get(int r, int c) {
        long a = address(r, c);
        return switch (encoding) {
            case F32 -> data.get(F32_LE, a);
            case BF16 -> Float.intBitsToFloat((data.get(I16_LE, a) & 0xFFFF) << 16);
            case F16 -> Float.float16ToFloat(data.get(I16_LE, a));
        };
    }

    /** {@code out[o + i] = W[r, c0 + i]} for i in [0, len): one piece of a row decoded to float32. */
    public void decodeRow(int r, int c0, int len, float[] out, int o) {
        if (r < 0 || r >= rows || c0 < 0 || len < 0 || c0 + len > cols) {
            throw new IndexOutOfBoundsException("FloatWeights.decodeRow: row " + r + " columns [" + c0 + ", " + (c0 + len) + ") of [" + rows + ", " + cols + "]");
        }
        FloatWeightKernels.decode(this, address(r, c0), len, out, o);
    }

    /** The whole matrix as a fresh float[rows·cols]. */
    public float[] toFloats() {
        if ((long) rows * cols > Integer.MAX_VALUE - 16) throw new IllegalArgumentException("FloatWeights: [" + rows + ", " + cols + "] does not fit one Java array");
        float[] out = new float[rows * cols];
        for (int r = 0; r < rows; r++) decodeRow(r, 0, cols, out, r * cols);
        return out;
    }
}
