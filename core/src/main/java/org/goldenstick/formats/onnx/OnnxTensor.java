package org.goldenstick.formats.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.goldenstick.tensor.Tensor;

/**
 * An ONNX {@code TensorProto}: name, element type, dimensions and the values as little-endian bytes
 * (the {@code raw_data} layout, whatever field the file used).
 *
 * <pre>{@code
 * OnnxTensor w = OnnxTensor.ofInt8("w_q", bytes, 16, 32);
 * OnnxTensor x = OnnxTensorReader.read(Path.of("input_0.pb"));
 * Tensor t = x.toTensor();     // any numeric type converted to float32
 * }</pre>
 */
public record OnnxTensor(String name, OnnxDataType dataType, long[] dims, byte[] rawData) {
    public OnnxTensor {
        if (name == null) name = "";
        if (dataType == OnnxDataType.STRING) throw new IllegalArgumentException("tensor '" + name + "': STRING tensors are not supported");
        dims = dims.clone();
        long n = 1;
        for (long d : dims) {
            if (d < 0) throw new IllegalArgumentException("tensor '" + name + "': negative dimension in " + Arrays.toString(dims));
            n = Math.multiplyExact(n, d);
        }
        if (rawData.length != dataType.rawBytes(n)) {
            throw new IllegalArgumentException("tensor '" + name + "': " + rawData.length + " data bytes, but " + dataType + " x " + Arrays.toString(dims) + " needs " + dataType.rawBytes(n));
        }
    }

    @Override
    public long[] dims() {
        return dims.clone();
    }

    /** Number of elements. */
    public long numel() {
        long n = 1;
        for (long d : dims) n *= d;
        return n;
    }

    /** Dimensions as ints (for {@link Tensor}). */
    public int[] intDims() {
        int[] s = new int[dims.length];
        for (int i = 0; i < s.length; i++) {
            if (dims[i] > Integer.MAX_VALUE) throw new IllegalArgumentException("tensor '" + name + "': dimension " + dims[i] + " too large");
            s[i] = (int) dims[i];
        }
        return s;
    }

    private ByteBuffer le() {
        return ByteBuffer.wrap(rawData).order(ByteOrder.LITTLE_ENDIAN);
    }

    // ---------------------------------------------------------------- factories

    public static OnnxTensor ofFloats(String name, float[] data, long... dims) {
        ByteBuffer b = ByteBuffer.allocate(4 * data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(data);
        return new OnnxTensor(name, OnnxDataType.FLOAT, dims, b.array());
    }

    /** A float tensor with the shape of {@code t}. */
    public static OnnxTensor of(String name, Tensor t) {
        return ofFloats(name, t.data(), toLongs(t.shape()));
    }

    public static OnnxTensor ofInt8(String name, byte[] data, long... dims) {
        return new OnnxTensor(name, OnnxDataType.INT8, dims, data.clone());
    }

    /** INT4 values in [−8, 7], packed two per byte (element 2i in the low nibble, as ONNX stores them). */
    public static OnnxTensor ofInt4(String name, int[] values, long... dims) {
        byte[] raw = new byte[(values.length + 1) / 2];
        for (int i = 0; i < values.length; i++) {
            int v = values[i];
            if (v < -8 || v > 7) throw new IllegalArgumentException("tensor '" + name + "': INT4 value " + v + " at " + i + " outside [-8, 7]");
            raw[i >> 1] |= (byte) ((v & 0xF) << (4 * (i & 1)));
        }
        return new OnnxTensor(name, OnnxDataType.INT4, dims, raw);
    }

    /** uint8 values given as Java bytes (0..255 stored as -128..127 bit patterns). */
    public static OnnxTensor ofUint8(String name, byte[] data, long... dims) {
        return new OnnxTensor(name, OnnxDataType.UINT8, dims, data.clone());
    }

    public static OnnxTensor ofInt32(String name, int[] data, long... dims) {
        ByteBuffer b = ByteBuffer.allocate(4 * data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(data);
        return new OnnxTensor(name, OnnxDataType.INT32, dims, b.array());
    }

    public static OnnxTensor ofInt64(String name, long[] data, long... dims) {
        ByteBuffer b = ByteBuffer.allocate(8 * data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(data);
        return new OnnxTensor(name, OnnxDataType.INT64, dims, b.array());
    }

    static long[] toLongs(int[] a) {
        long[] l = new long[a.length];
        for (int i = 0; i < a.length; i++) l[i] = a[i];
        return l;
    }

    // ---------------------------------------------------------------- accessors

    private void require(OnnxDataType t) {
        if (dataType != t) throw new IllegalArgumentException("tensor '" + name + "' is " + dataType + ", not " + t);
    }

    /** FLOAT values. */
    public float[] floats() {
        require(OnnxDataType.FLOAT);
        float[] f = new float[(int) numel()];
        le().asFloatBuffer().get(f);
        return f;
    }

    /** INT8 or UINT8 raw bytes. */
    public byte[] bytes() {
        if (dataType != OnnxDataType.INT8 && dataType != OnnxDataType.UINT8 && dataType != OnnxDataType.BOOL) {
            throw new IllegalArgumentException("tensor '" + name + "' is " + dataType + ", not INT8/UINT8/BOOL");
        }
        return rawData.clone();
    }

    /** INT32 values. */
    public int[] ints() {
        require(OnnxDataType.INT32);
        int[] v = new int[(int) numel()];
        le().asIntBuffer().get(v);
        return v;
    }

    /** INT64 values. */
    public long[] longs() {
        require(OnnxDataType.INT64);
        long[] v = new long[(int) numel()];
        le().asLongBuffer().get(v);
        return v;
    }

    /** The values as float32, converted from any numeric type (UINT64 above 2^63 is read as unsigned). */
    public float[] toFloats() {
        int n = (int) numel();
        float[] f = new float[n];
        ByteBuffer b = le();
        for (int i = 0; i < n; i++) {
            f[i] = switch (dataType) {
                case FLOAT -> b.getFloat(4 * i);
                case DOUBLE -> (float) b.getDouble(8 * i);
                case FLOAT16 -> Float.float16ToFloat(b.getShort(2 * i));
                case BFLOAT16 -> Float.intBitsToFloat((b.getShort(2 * i) & 0xFFFF) << 16);
                case INT8 -> rawData[i];
                case UINT8 -> rawData[i] & 0xFF;
                case BOOL -> rawData[i] != 0 ? 1f : 0f;
                case INT4 -> (rawData[i >> 1] << (28 - 4 * (i & 1))) >> 28; // sign-extend the nibble
                case INT16 -> b.getShort(2 * i);
                case UINT16 -> b.getShort(2 * i) & 0xFFFF;
                case INT32 -> b.getInt(4 * i);
                case UINT32 -> b.getInt(4 * i) & 0xFFFFFFFFL;
                case INT64 -> b.getLong(8 * i);
                case UINT64 -> {
                    long v = b.getLong(8 * i);
                    yield v >= 0 ? v : (float) (v >>> 1) * 2f;
                }
                case STRING -> throw new IllegalStateException();
            };
        }
        return f;
    }

    /** A float32 {@link Tensor} of the values (a rank-0 tensor for a scalar). */
    public Tensor toTensor() {
        float[] f = toFloats();
        int[] shape = intDims();
        return shape.length == 0 ? Tensor.scalar(f[0]) : Tensor.of(f, shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof OnnxTensor t && name.equals(t.name) && dataType == t.dataType && Arrays.equals(dims, t.dims) && Arrays.equals(rawData, t.rawData);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * name.hashCode() + dataType.hashCode()) + Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return "OnnxTensor[" + name + " " + dataType + Arrays.toString(dims) + "]";
    }
}
