package org.goldenstick.formats.gguf;

/**
 * Tensor element types of ggml (on-disk codes), with their block size and bytes per block. Types the reader
 * can dequantize: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K (see {@link GgmlBlocks}) and the plain integer/F64
 * types; others are exposed raw.
 */
public enum GgmlType {
    F32(0, 1, 4), F16(1, 1, 2), Q4_0(2, 32, 18), Q4_1(3, 32, 20), Q5_0(6, 32, 22), Q5_1(7, 32, 24),
    Q8_0(8, 32, 34), Q8_1(9, 32, 36), Q2_K(10, 256, 84), Q3_K(11, 256, 110), Q4_K(12, 256, 144),
    Q5_K(13, 256, 176), Q6_K(14, 256, 210), Q8_K(15, 256, 292), I8(24, 1, 1), I16(25, 1, 2), I32(26, 1, 4),
    I64(27, 1, 8), F64(28, 1, 8), BF16(30, 1, 2);

    private final int code;
    private final int blockSize;
    private final int blockBytes;

    GgmlType(int code, int blockSize, int blockBytes) {
        this.code = code;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    public int code() {
        return code;
    }

    /** Elements per block (1 for plain types). */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes per block. */
    public int blockBytes() {
        return blockBytes;
    }

    /** Whether {@link GgufTensor#toFloatArray()} can decode this type. */
    public boolean decodable() {
        return switch (this) {
            case F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K, I8, I16, I32, F64 -> true;
            default -> false;
        };
    }

    /** The type with this code, or null. */
    public static GgmlType ofCode(int code) {
        for (GgmlType t : values()) if (t.code == code) return t;
        return null;
    }
}
