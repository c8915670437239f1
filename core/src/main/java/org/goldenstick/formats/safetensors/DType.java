package org.goldenstick.formats.safetensors;

/**
 * The element types of a safetensors file, with their on-disk names and sizes in bytes.
 *
 * <pre>{@code
 * DType t = DType.parse("BF16");   // t.byteSize() == 2
 * }</pre>
 */
public enum DType {
    F64(8), F32(4), F16(2), BF16(2), I64(8), I32(4), I16(2), I8(1), U8(1), BOOL(1);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** True for the floating-point types (F64, F32, F16, BF16). */
    public boolean isFloatingPoint() {
        return this == F64 || this == F32 || this == F16 || this == BF16;
    }

    /** The dtype spelled {@code name} in a header (case-sensitive, as the format defines), or null if unknown. */
    public static DType parseOrNull(String name) {
        for (DType t : values()) {
            if (t.name().equals(name)) return t;
        }
        return null;
    }

    /** Like {@link #parseOrNull} but throws for unknown names. */
    public static DType parse(String name) {
        DType t = parseOrNull(name);
        if (t == null) throw new IllegalArgumentException("unknown safetensors dtype '" + name + "' (known: " + java.util.Arrays.toString(values()) + ")");
        return t;
    }
}
