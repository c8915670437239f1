package org.goldenstick.formats.onnx;

/**
 * ONNX {@code TensorProto.DataType} codes with element sizes (0 for variable-size STRING).
 *
 * <pre>{@code
 * OnnxDataType t = OnnxDataType.fromCode(3);   // INT8
 * }</pre>
 */
public enum OnnxDataType {
    FLOAT(1, 4), UINT8(2, 1), INT8(3, 1), UINT16(4, 2), INT16(5, 2), INT32(6, 4), INT64(7, 8), STRING(8, 0),
    BOOL(9, 1), FLOAT16(10, 2), DOUBLE(11, 8), UINT32(12, 4), UINT64(13, 8), BFLOAT16(16, 2),
    /** Signed 4-bit, two per byte (element 2i in the low nibble), opset 21 and later. */
    INT4(22, 1);

    private final int code;
    private final int byteSize;

    OnnxDataType(int code, int byteSize) {
        this.code = code;
        this.byteSize = byteSize;
    }

    /** The {@code data_type} number in the protobuf. */
    public int code() {
        return code;
    }

    /** Bytes per element in {@code raw_data} (0 for STRING; 1 for INT4, which packs two per byte: see {@link #rawBytes}). */
    public int byteSize() {
        return byteSize;
    }

    /** Bytes of {@code raw_data} for {@code numel} elements. */
    public long rawBytes(long numel) {
        return this == INT4 ? (numel + 1) / 2 : numel * byteSize;
    }

    /** The type with this code, or null if unsupported. */
    public static OnnxDataType fromCodeOrNull(int code) {
        for (OnnxDataType t : values()) if (t.code == code) return t;
        return null;
    }

    public static OnnxDataType fromCode(int code) {
        OnnxDataType t = fromCodeOrNull(code);
        if (t == null) throw new IllegalArgumentException("unsupported ONNX data type code " + code);
        return t;
    }
}
