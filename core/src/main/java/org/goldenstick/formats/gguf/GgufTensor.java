package org.goldenstick.formats.gguf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.goldenstick.tensor.Tensor;

/**
 * One tensor of a {@link GgufFile}: its name, ggml type, dims and a lazy view of its bytes in the mapped file.
 * ggml lists dims fastest-varying first ({@code ne[0]} = row length); {@link #shape()} gives the row-major
 * (PyTorch) order, i.e. the dims reversed.
 *
 * <pre>{@code
 * GgufTensor t = gguf.tensor("token_embd.weight");
 * Tensor w = t.toTensor();           // F32/F16/BF16/Q8_0/Q4_0/Q4_1/Q4_K/Q6_K dequantized to float32
 * }</pre>
 */
public final class GgufTensor {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final String file;
    private final String name;
    private final GgmlType type;
    private final long[] dims;
    private final long offset;
    private final long numel;
    private final long byteSize;
    private final MemorySegment data;

    GgufTensor(String file, String name, GgmlType type, long[] dims, long offset, long numel, long byteSize, MemorySegment data) {
        this.file = file;
        this.name = name;
        this.type = type;
        this.dims = dims;
        this.offset = offset;
        this.numel = numel;
        this.byteSize = byteSize;
        this.data = data;
    }

    public String name() {
        return name;
    }

    public GgmlType type() {
        return type;
    }

    /** ggml order: {@code dims()[0]} varies fastest. */
    public long[] dims() {
        return dims.clone();
    }

    /** Row-major shape (dims reversed), as int; fails if a dim exceeds int range. */
    public int[] shape() {
        int[] s = new int[dims.length];
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] > Integer.MAX_VALUE) throw new GgufFormatException(file + ": tensor '" + name + "' dim " + dims[i] + " exceeds int range");
            s[dims.length - 1 - i] = (int) dims[i];
        }
        return s;
    }

    public long numel() {
        return numel;
    }

    /** Offset of the data relative to the start of the file's tensor-data section. */
    public long offset() {
        return offset;
    }

    public long byteSize() {
        return byteSize;
    }

    /** The raw bytes (a slice of the mapped file; valid while the file is open). */
    public MemorySegment raw() {
        return data;
    }

    /** Dequantizes to float32 (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K, I8, I16, I32, F64). */
    public float[] toFloatArray() {
        if (!type.decodable()) throw new GgufFormatException(file + ": tensor '" + name + "' has type " + type + ", which can only be read raw");
        if (numel > Integer.MAX_VALUE - 8) throw new GgufFormatException(file + ": tensor '" + name + "' has " + numel + " elements, too many for one float array");
        int n = (int) numel;
        float[] out = new float[n];
        switch (type) {
            case F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K -> GgmlBlocks.decode(type, data, 0, out, 0, n);
            case I8 -> {
                for (int i = 0; i < n; i++) out[i] = data.get(ValueLayout.JAVA_BYTE, i);
            }
            case I16 -> {
                for (int i = 0; i < n; i++) out[i] = data.get(I16, 2L * i);
            }
            case I32 -> {
                for (int i = 0; i < n; i++) out[i] = data.get(I32, 4L * i);
            }
            case F64 -> {
                for (int i = 0; i < n; i++) out[i] = (float) data.get(F64, 8L * i);
            }
            default -> throw new AssertionError(type);
        }
        return out;
    }

    /** Elements per row ({@code dims()[0]}). */
    public long rowLength() {
        return dims[0];
    }

    /** Number of rows (product of the dims after the first). */
    public long rows() {
        return numel / dims[0];
    }

    /** Bytes of one row. */
    public long rowBytes() {
        return dims[0] / type.blockSize() * type.blockBytes();
    }

    /** Dequantizes rows {@code [row, row + count)} into {@code out[outOff ..]} (block types of {@link GgmlBlocks} only). */
    public void decodeRows(long row, int count, float[] out, int outOff) {
        if (row < 0 || count < 0 || row + count > rows()) throw new IndexOutOfBoundsException("tensor '" + name + "': rows [" + row + ", +" + count + ") of " + rows());
        if (dims[0] * count > Integer.MAX_VALUE) throw new GgufFormatException(file + ": tensor '" + name + "': " + count + " rows are too many for one float array");
        GgmlBlocks.decode(type, data, row * rowBytes(), out, outOff, (int) (dims[0] * count));
    }

    /** Dequantized copy as a Tensor of {@link #shape()}. */
    public Tensor toTensor() {
        return Tensor.of(toFloatArray(), shape());
    }

    @Override
    public String toString() {
        return name + " " + type + " " + java.util.Arrays.toString(shape());
    }
}
