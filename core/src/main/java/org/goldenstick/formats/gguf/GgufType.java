package org.goldenstick.formats.gguf;

/**
 * Metadata value types of GGUF (the numbers are the on-disk codes).
 * Java representation in {@link GgufFile#metadata()}: UINT8…INT32 → {@code Integer}, UINT32/INT64/UINT64 →
 * {@code Long} (UINT64 keeps its bits), FLOAT32 → {@code Float}, FLOAT64 → {@code Double}, BOOL →
 * {@code Boolean}, STRING → {@code String}, ARRAY → {@link GgufArray}.
 */
public enum GgufType {
    UINT8(0, 1), INT8(1, 1), UINT16(2, 2), INT16(3, 2), UINT32(4, 4), INT32(5, 4), FLOAT32(6, 4), BOOL(7, 1),
    STRING(8, 8), ARRAY(9, 12), UINT64(10, 8), INT64(11, 8), FLOAT64(12, 8);

    private final int code;
    private final int minBytes;

    GgufType(int code, int minBytes) {
        this.code = code;
        this.minBytes = minBytes;
    }

    public int code() {
        return code;
    }

    /** The smallest encoding of one value (a string is at least its 8-byte length). */
    int minBytes() {
        return minBytes;
    }

    /** The type with this code, or null. */
    public static GgufType ofCode(int code) {
        for (GgufType t : values()) if (t.code == code) return t;
        return null;
    }
}
