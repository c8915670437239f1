package org.goldenstick.formats.gguf;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.goldenstick.formats.AtomicFiles;

/**
 * Writes GGUF v3 files: metadata of every type (values as {@link GgufFile#metadata()} returns them) and
 * tensors in the types {@link GgmlBlocks} encodes. The file appears atomically ({@link AtomicFiles}).
 *
 * <pre>{@code
 * new GgufWriter()
 *     .put("general.architecture", GgufType.STRING, "llama")
 *     .put("llama.context_length", GgufType.UINT32, 256L)
 *     .addTensor("output.weight", GgmlType.Q8_0, new int[] {64, 128}, weights)
 *     .write(Path.of("model.gguf"));
 * }</pre>
 */
public final class GgufWriter {
    private record Entry(GgufType type, Object value) {}

    private record PendingTensor(String name, GgmlType type, long[] dims, byte[] bytes) {}

    private final Map<String, Entry> metadata = new LinkedHashMap<>();
    private final List<PendingTensor> tensors = new ArrayList<>();
    private int alignment = GgufFile.DEFAULT_ALIGNMENT;

    /** Adds a metadata value; {@code value} must have the Java type {@link GgufType} documents for {@code type}. */
    public GgufWriter put(String key, GgufType type, Object value) {
        checkValue(key, type, value);
        if (key.equals("general.alignment")) {
            long a = ((Number) value).longValue();
            if (a <= 0 || (a & (a - 1)) != 0) throw new IllegalArgumentException("general.alignment must be a power of two, got " + a);
            alignment = (int) a;
        }
        metadata.put(key, new Entry(type, value));
        return this;
    }

    /** Adds a tensor of row-major {@code shape}, encoding {@code data} as {@code type} (see {@link GgmlBlocks#encode}). */
    public GgufWriter addTensor(String name, GgmlType type, int[] shape, float[] data) {
        long numel = 1;
        for (int s : shape) numel *= s;
        if (numel != data.length) throw new IllegalArgumentException("tensor '" + name + "': shape " + java.util.Arrays.toString(shape) + " needs " + numel + " values, got " + data.length);
        long[] dims = new long[shape.length];
        for (int i = 0; i < shape.length; i++) dims[i] = shape[shape.length - 1 - i];
        if (!GgmlBlocks.encodable(type)) throw new IllegalArgumentException("tensor '" + name + "': writing " + type + " is not supported");
        if (dims[0] % type.blockSize() != 0) throw new IllegalArgumentException("tensor '" + name + "': " + type + " needs a row length that is a multiple of " + type.blockSize() + ", got " + dims[0]);
        byte[] bytes = GgmlBlocks.encode(type, data);
        return addRawTensor(name, type, dims, bytes);
    }

    /** Adds a tensor whose bytes are already encoded; {@code dims} in ggml order (fastest first). */
    public GgufWriter addRawTensor(String name, GgmlType type, long[] dims, byte[] bytes) {
        for (PendingTensor t : tensors) if (t.name.equals(name)) throw new IllegalArgumentException("duplicate tensor '" + name + "'");
        tensors.add(new PendingTensor(name, type, dims.clone(), bytes));
        return this;
    }

    /** Writes the file atomically. */
    public void write(Path path) {
        try {
            AtomicFiles.writeStream(path, raw -> {
                OutputStream os = new BufferedOutputStream(raw, 1 << 16);
                LeOut out = new LeOut(os);
                out.u32(GgufFile.MAGIC);
                out.u32(3);
                out.u64(tensors.size());
                out.u64(metadata.size());
                for (var e : metadata.entrySet()) {
                    out.string(e.getKey());
                    out.u32(e.getValue().type.code());
                    writeValue(out, e.getValue().type, e.getValue().value);
                }
                long offset = 0;
                List<Long> offsets = new ArrayList<>();
                for (PendingTensor t : tensors) {
                    out.string(t.name);
                    out.u32(t.dims.length);
                    for (long d : t.dims) out.u64(d);
                    out.u32(t.type.code());
                    out.u64(offset);
                    offsets.add(offset);
                    offset = align(offset + t.bytes.length);
                }
                out.pad(align(out.count) - out.count);
                long start = out.count;
                for (int i = 0; i < tensors.size(); i++) {
                    out.pad(start + offsets.get(i) - out.count);
                    out.bytes(tensors.get(i).bytes);
                }
                os.flush();
            });
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write GGUF file " + path, e);
        }
    }

    private long align(long x) {
        return (x + alignment - 1) / alignment * alignment;
    }

    private static void checkValue(String key, GgufType type, Object v) {
        boolean ok = switch (type) {
            case UINT8, INT8, UINT16, INT16, INT32 -> v instanceof Integer;
            case UINT32, UINT64, INT64 -> v instanceof Long;
            case FLOAT32 -> v instanceof Float;
            case FLOAT64 -> v instanceof Double;
            case BOOL -> v instanceof Boolean;
            case STRING -> v instanceof String;
            case ARRAY -> v instanceof GgufArray;
        };
        if (!ok) throw new IllegalArgumentException("key '" + key + "': value " + v + " (" + (v == null ? "null" : v.getClass().getSimpleName()) + ") does not fit type " + type);
    }

    private static void writeValue(LeOut out, GgufType type, Object v) throws IOException {
        switch (type) {
            case UINT8, INT8 -> out.u8((Integer) v);
            case BOOL -> out.u8((Boolean) v ? 1 : 0);
            case UINT16, INT16 -> out.u16((Integer) v);
            case INT32 -> out.u32((Integer) v);
            case UINT32 -> out.u32((int) (long) (Long) v);
            case UINT64, INT64 -> out.u64((Long) v);
            case FLOAT32 -> out.u32(Float.floatToRawIntBits((Float) v));
            case FLOAT64 -> out.u64(Double.doubleToRawLongBits((Double) v));
            case STRING -> out.string((String) v);
            case ARRAY -> {
                GgufArray a = (GgufArray) v;
                out.u32(a.elementType().code());
                int n = a.length();
                out.u64(n);
                for (int i = 0; i < n; i++) writeValue(out, a.elementType(), element(a, i));
            }
        }
    }

    private static Object element(GgufArray a, int i) {
        Object vs = a.values();
        return switch (vs) {
            case int[] x -> x[i];
            case long[] x -> x[i];
            case float[] x -> x[i];
            case double[] x -> x[i];
            case boolean[] x -> x[i];
            case Object[] x -> x[i];
            default -> throw new IllegalArgumentException("array values of class " + vs.getClass());
        };
    }

    private static final class LeOut {
        private final OutputStream os;
        long count;

        LeOut(OutputStream os) {
            this.os = os;
        }

        void u8(int v) throws IOException {
            os.write(v);
            count++;
        }

        void u16(int v) throws IOException {
            u8(v & 0xFF);
            u8((v >>> 8) & 0xFF);
        }

        void u32(int v) throws IOException {
            for (int i = 0; i < 4; i++) u8((v >>> (8 * i)) & 0xFF);
        }

        void u64(long v) throws IOException {
            for (int i = 0; i < 8; i++) u8((int) ((v >>> (8 * i)) & 0xFF));
        }

        void string(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            bytes(b);
        }

        void bytes(byte[] b) throws IOException {
            os.write(b);
            count += b.length;
        }

        void pad(long n) throws IOException {
            for (long i = 0; i < n; i++) u8(0);
        }
    }
}
