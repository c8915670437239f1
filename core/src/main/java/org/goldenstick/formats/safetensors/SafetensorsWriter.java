package org.goldenstick.formats.safetensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import org.goldenstick.formats.AtomicFiles;
import org.goldenstick.tensor.Tensor;

/**
 * Collects tensors and string metadata, then writes one safetensors file atomically.
 *
 * <p>Tensors are written in name order (so the output does not depend on insertion order), the header
 * is padded with spaces so the data section starts at a multiple of 8 bytes, and payloads are streamed
 * through a small buffer: no array the size of the file is built. The arrays passed in are referenced,
 * not copied, until {@link #write(Path)}; {@link #addStreamed} tensors are produced during the write, so a file
 * larger than memory can be written tensor by tensor.
 *
 * <pre>{@code
 * new SafetensorsWriter()
 *     .metadata("format", "pt")
 *     .add("fc.weight", weight)                    // F32
 *     .add("emb.weight", emb, DType.BF16)          // rounded to nearest even
 *     .addInt8("fc.weight_q", q, 16, 32)
 *     .write(Path.of("model.safetensors"));
 * }</pre>
 */
public final class SafetensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int BUFFER = 1 << 20;

    private sealed interface Payload {
        DType dtype();

        long numel();
    }

    private record Floats(float[] data, DType dtype) implements Payload {
        public long numel() {
            return data.length;
        }
    }

    private record Bytes(byte[] data, DType dtype) implements Payload {
        public long numel() {
            return data.length;
        }
    }

    private record Ints(int[] data) implements Payload {
        public DType dtype() {
            return DType.I32;
        }

        public long numel() {
            return data.length;
        }
    }

    private record Longs(long[] data) implements Payload {
        public DType dtype() {
            return DType.I64;
        }

        public long numel() {
            return data.length;
        }
    }

    private record Raw(MemorySegment data, DType dtype) implements Payload {
        public long numel() {
            return data.byteSize() / dtype.byteSize();
        }
    }

    /**
     * Writes one tensor's little-endian bytes when the file is written; see {@link #addStreamed}. It must write exactly
     * the bytes its dtype and shape declare.
     */
    @FunctionalInterface
    public interface Producer {
        void writeTo(WritableByteChannel out) throws IOException;
    }

    private record Streamed(DType dtype, long numel, Producer producer) implements Payload {}

    private record Item(int[] shape, Payload payload) {}

    private final TreeMap<String, Item> items = new TreeMap<>();
    private final TreeMap<String, String> metadata = new TreeMap<>();

    /** Adds a string to {@code __metadata__}. */
    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /** Adds all entries to {@code __metadata__}. */
    public SafetensorsWriter metadata(Map<String, String> entries) {
        entries.forEach(this::metadata);
        return this;
    }

    /** Adds {@code t} stored as F32. */
    public SafetensorsWriter add(String name, Tensor t) {
        return add(name, t, DType.F32);
    }

    /** Adds {@code t} stored as F32, F16 or BF16 (16-bit types round to nearest even). */
    public SafetensorsWriter add(String name, Tensor t, DType storeAs) {
        return addFloats(name, t.data(), storeAs, t.shape());
    }

    /** Adds float values stored as F32, F16 or BF16. */
    public SafetensorsWriter addFloats(String name, float[] data, DType storeAs, int... shape) {
        if (storeAs != DType.F32 && storeAs != DType.F16 && storeAs != DType.BF16) {
            throw new IllegalArgumentException("tensor '" + name + "': floats can be stored as F32, F16 or BF16, not " + storeAs);
        }
        return put(name, shape, new Floats(data, storeAs));
    }

    /** Adds raw int8 values. */
    public SafetensorsWriter addInt8(String name, byte[] data, int... shape) {
        return put(name, shape, new Bytes(data, DType.I8));
    }

    /** Adds raw uint8 values (Java bytes, read back masked with 0xFF). */
    public SafetensorsWriter addUint8(String name, byte[] data, int... shape) {
        return put(name, shape, new Bytes(data, DType.U8));
    }

    /** Adds int32 values. */
    public SafetensorsWriter addInt32(String name, int[] data, int... shape) {
        return put(name, shape, new Ints(data));
    }

    /** Adds int64 values. */
    public SafetensorsWriter addInt64(String name, long[] data, int... shape) {
        return put(name, shape, new Longs(data));
    }

    /** Adds little-endian bytes of any dtype as they are (e.g. an entry copied from another file). */
    public SafetensorsWriter addRaw(String name, DType dtype, int[] shape, MemorySegment littleEndianBytes) {
        if (littleEndianBytes.byteSize() % dtype.byteSize() != 0) {
            throw new IllegalArgumentException("tensor '" + name + "': " + littleEndianBytes.byteSize() + " bytes is not a whole number of " + dtype + " elements");
        }
        return put(name, shape, new Raw(littleEndianBytes, dtype));
    }

    /**
     * Adds a tensor whose bytes are produced only while {@link #write} runs, in name order, after the header (which is
     * computed from the declared dtypes and shapes). A file larger than memory is written this way one tensor (or one
     * piece of a tensor) at a time: nothing but the producer's own buffers is held. A producer that writes more or
     * fewer bytes than declared fails the write (and nothing is left behind).
     *
     * <pre>{@code
     * w.addStreamed("big.weight", DType.BF16, new int[] {rows, cols}, out -> {
     *     for (int r = 0; r < rows; r += 64) out.write(nextRows(r));   // little-endian bf16, row-major
     * });
     * }</pre>
     */
    public SafetensorsWriter addStreamed(String name, DType dtype, int[] shape, Producer producer) {
        long numel = 1;
        for (int d : shape) numel *= Math.max(d, 0);
        return put(name, shape, new Streamed(dtype, numel, producer));
    }

    private SafetensorsWriter put(String name, int[] shape, Payload p) {
        if (name == null || name.isEmpty()) throw new IllegalArgumentException("tensor name must not be empty");
        if (name.equals("__metadata__")) throw new IllegalArgumentException("tensor name '__metadata__' is reserved");
        if (items.containsKey(name)) throw new IllegalArgumentException("tensor '" + name + "' added twice");
        long numel = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("tensor '" + name + "': negative dimension in shape " + Arrays.toString(shape));
            numel *= d;
        }
        if (numel != p.numel()) {
            throw new IllegalArgumentException("tensor '" + name + "': " + p.numel() + " values do not fill shape " + Arrays.toString(shape) + " (" + numel + " elements)");
        }
        items.put(name, new Item(shape.clone(), p));
        return this;
    }

    /** Number of tensors added so far. */
    public int size() {
        return items.size();
    }

    /** Writes the file atomically (temporary file in the same folder, then an atomic rename). */
    public void write(Path path) throws IOException {
        byte[] header = header();
        AtomicFiles.write(path, ch -> {
            ByteBuffer buf = ByteBuffer.allocateDirect(BUFFER).order(ByteOrder.LITTLE_ENDIAN);
            buf.putLong(header.length);
            flush(ch, buf);
            for (int off = 0; off < header.length; off += BUFFER) {
                buf.put(header, off, Math.min(BUFFER, header.length - off));
                flush(ch, buf);
            }
            for (Map.Entry<String, Item> e : items.entrySet()) writePayload(ch, buf, e.getKey(), e.getValue().payload());
        });
    }

    private byte[] header() {
        ObjectNode root = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode m = root.putObject("__metadata__");
            metadata.forEach(m::put);
        }
        long offset = 0;
        for (Map.Entry<String, Item> e : items.entrySet()) {
            Item it = e.getValue();
            ObjectNode t = root.putObject(e.getKey());
            t.put("dtype", it.payload().dtype().name());
            ArrayNode sh = t.putArray("shape");
            for (int d : it.shape()) sh.add(d);
            long bytes = it.payload().numel() * it.payload().dtype().byteSize();
            t.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json;
        try {
            json = JSON.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot serialise safetensors header", e);
        }
        // Pad with spaces (allowed by the format) so the data section is 8-byte aligned.
        int padded = (json.length + 7) & ~7;
        byte[] out = Arrays.copyOf(json, padded);
        Arrays.fill(out, json.length, padded, (byte) ' ');
        return out;
    }

    private static void writePayload(FileChannel ch, ByteBuffer buf, String name, Payload p) throws IOException {
        switch (p) {
            case Streamed st -> {
                flush(ch, buf);
                long before = ch.position(), expected = st.numel() * st.dtype().byteSize();
                st.producer().writeTo(new WritableByteChannel() {
                    @Override
                    public int write(ByteBuffer src) throws IOException {
                        int n = 0;
                        while (src.hasRemaining()) n += ch.write(src);
                        return n;
                    }

                    @Override
                    public boolean isOpen() {
                        return ch.isOpen();
                    }

                    @Override
                    public void close() {
                        // the file stays open for the next tensor
                    }
                });
                long wrote = ch.position() - before;
                if (wrote != expected) {
                    throw new IOException("tensor '" + name + "': the producer wrote " + wrote + " bytes but " + st.dtype() + " " + expected / st.dtype().byteSize()
                            + " elements need " + expected);
                }
            }
            case Floats f -> {
                float[] d = f.data();
                if (f.dtype() == DType.F32) {
                    for (int off = 0; off < d.length; ) {
                        if (buf.remaining() < 4) flush(ch, buf);
                        int len = Math.min(buf.remaining() / 4, d.length - off);
                        buf.asFloatBuffer().put(d, off, len);
                        buf.position(buf.position() + 4 * len);
                        off += len;
                    }
                } else {
                    boolean bf = f.dtype() == DType.BF16;
                    for (float v : d) {
                        if (buf.remaining() < 2) flush(ch, buf);
                        buf.putShort(bf ? HalfFloats.toBf16(v) : HalfFloats.toF16(v));
                    }
                }
            }
            case Bytes b -> {
                byte[] d = b.data();
                for (int off = 0; off < d.length; ) {
                    if (!buf.hasRemaining()) flush(ch, buf);
                    int len = Math.min(buf.remaining(), d.length - off);
                    buf.put(d, off, len);
                    off += len;
                }
            }
            case Ints i -> {
                for (int v : i.data()) {
                    if (buf.remaining() < 4) flush(ch, buf);
                    buf.putInt(v);
                }
            }
            case Longs l -> {
                for (long v : l.data()) {
                    if (buf.remaining() < 8) flush(ch, buf);
                    buf.putLong(v);
                }
            }
            case Raw r -> {
                ByteBuffer src = r.data().asByteBuffer();
                flush(ch, buf);
                while (src.hasRemaining()) ch.write(src);
            }
        }
        flush(ch, buf);
    }

    private static void flush(FileChannel ch, ByteBuffer buf) throws IOException {
        buf.flip();
        while (buf.hasRemaining()) ch.write(buf);
        buf.clear();
    }
}
