package org.goldenstick.formats.safetensors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import org.goldenstick.tensor.Tensor;

/**
 * A memory-mapped, read-only safetensors file.
 *
 * <p>Layout: an 8-byte little-endian header length {@code N}, {@code N} bytes of UTF-8 JSON mapping each
 * tensor name to {@code {"dtype", "shape", "data_offsets": [begin, end]}} (plus an optional
 * {@code "__metadata__"} string map), then the data section. Opening validates the whole header
 * (dtypes, shapes, offsets that tile the data section exactly) but reads no tensor data; the bytes are
 * slices of the mapping and are only touched by the accessors.
 *
 * <pre>{@code
 * try (SafetensorsFile f = SafetensorsFile.open(Path.of("model.safetensors"))) {
 *     Tensor w = f.toTensor("fc.weight");           // F16/BF16/F64/ints converted to float32
 *     byte[] q = f.int8("fc.weight_q");             // raw int8 values
 *     String arch = f.metadata().get("arch");
 * }
 * }</pre>
 */
public final class SafetensorsFile implements AutoCloseable {
    /** Headers above this size are rejected before anything is allocated. */
    public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    private static final ValueLayout.OfLong LONG_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena; // null when the mapping is unmapped by the garbage collector
    private final Map<String, String> metadata;
    private final SequencedMap<String, SafetensorsEntry> entries;

    private SafetensorsFile(Path path, Arena arena, Map<String, String> metadata, SequencedMap<String, SafetensorsEntry> entries) {
        this.path = path;
        this.arena = arena;
        this.metadata = metadata;
        this.entries = entries;
    }

    /**
     * Maps {@code path} and validates its header.
     *
     * @throws SafetensorsFormatException if the file is malformed (the message names the file and field)
     */
    public static SafetensorsFile open(Path path) throws IOException {
        return open(path, false);
    }

    /**
     * As {@link #open(Path)}; with {@code unmapWhenUnreachable} the mapping is instead released by the garbage collector
     * once neither this file nor any segment taken from it is reachable ({@link #close()} then does nothing). That is
     * what a model serving its weights from the mapping needs: the views live exactly as long as the model.
     */
    public static SafetensorsFile open(Path path, boolean unmapWhenUnreachable) throws IOException {
        Arena arena = unmapWhenUnreachable ? Arena.ofAuto() : Arena.ofShared();
        try {
            MemorySegment all;
            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
                long size = ch.size();
                if (size < 8) throw new SafetensorsFormatException(path, "file is " + size + " bytes, too short for the 8-byte header length");
                // a native view of the mapping: the weight kernels see one segment class (WeightMemory)
                all = org.goldenstick.tensor.kernel.WeightMemory.view(ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena), arena);
            }
            SafetensorsFile f = parse(path, unmapWhenUnreachable ? null : arena, all);
            arena = null; // owned by f now
            return f;
        } finally {
            if (arena != null && !unmapWhenUnreachable) arena.close();
        }
    }

    private static SafetensorsFile parse(Path path, Arena arena, MemorySegment all) throws SafetensorsFormatException {
        long size = all.byteSize();
        long n = all.get(LONG_LE, 0);
        if (n < 2 || n > MAX_HEADER_BYTES) {
            throw new SafetensorsFormatException(path, "header length " + Long.toUnsignedString(n) + " is outside [2, " + MAX_HEADER_BYTES + "] bytes");
        }
        if (8 + n > size) {
            throw new SafetensorsFormatException(path, "header length " + n + " runs past the end of the file (" + size + " bytes)");
        }
        byte[] header = all.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
        if (header[0] != '{') throw new SafetensorsFormatException(path, "header does not start with '{'");
        JsonNode root;
        try {
            root = JSON.readTree(new String(header, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new SafetensorsFormatException(path, "header is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) throw new SafetensorsFormatException(path, "header is not a JSON object");

        long dataStart = 8 + n;
        long dataSize = size - dataStart;
        MemorySegment data = all.asSlice(dataStart, dataSize);
        Map<String, String> metadata = Map.of();
        List<SafetensorsEntry> list = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            String name = field.getKey();
            JsonNode v = field.getValue();
            if (name.equals("__metadata__")) {
                metadata = parseMetadata(path, v);
                continue;
            }
            list.add(parseEntry(path, name, v, data));
        }
        // The data section must be tiled exactly: sorted by offset, no overlaps, no holes, nothing left over.
        List<SafetensorsEntry> byOffset = new ArrayList<>(list);
        byOffset.sort(Comparator.comparingLong(SafetensorsEntry::dataBegin).thenComparingLong(SafetensorsEntry::dataEnd));
        long expected = 0;
        SafetensorsEntry prev = null;
        for (SafetensorsEntry e : byOffset) {
            if (e.dataBegin() < expected) {
                throw new SafetensorsFormatException(path, "tensor '" + e.name() + "' data_offsets [" + e.dataBegin() + ", " + e.dataEnd() + "] overlap tensor '" + prev.name() + "' [" + prev.dataBegin() + ", " + prev.dataEnd() + "]");
            }
            if (e.dataBegin() > expected) {
                throw new SafetensorsFormatException(path, "tensor '" + e.name() + "' data_offsets start at " + e.dataBegin() + " but the previous tensor ends at " + expected + " (hole in the data section)");
            }
            expected = e.dataEnd();
            prev = e;
        }
        if (expected != dataSize) {
            throw new SafetensorsFormatException(path, "tensors cover " + expected + " bytes of the data section but it has " + dataSize + " bytes");
        }
        SequencedMap<String, SafetensorsEntry> entries = new LinkedHashMap<>();
        for (SafetensorsEntry e : byOffset) entries.put(e.name(), e);
        return new SafetensorsFile(path, arena, metadata, entries);
    }

    private static Map<String, String> parseMetadata(Path path, JsonNode v) throws SafetensorsFormatException {
        if (!v.isObject()) throw new SafetensorsFormatException(path, "__metadata__ is not a JSON object");
        Map<String, String> m = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) throw new SafetensorsFormatException(path, "__metadata__ value of '" + e.getKey() + "' is not a string");
            m.put(e.getKey(), e.getValue().textValue());
        }
        return Collections.unmodifiableMap(m);
    }

    private static SafetensorsEntry parseEntry(Path path, String name, JsonNode v, MemorySegment data) throws SafetensorsFormatException {
        String where = "tensor '" + name + "'";
        if (!v.isObject()) throw new SafetensorsFormatException(path, where + " is not a JSON object");
        JsonNode dt = v.get("dtype");
        if (dt == null || !dt.isTextual()) throw new SafetensorsFormatException(path, where + " has no string field 'dtype'");
        DType dtype = DType.parseOrNull(dt.textValue());
        if (dtype == null) throw new SafetensorsFormatException(path, where + " has unknown dtype '" + dt.textValue() + "' (known: " + Arrays.toString(DType.values()) + ")");
        JsonNode sh = v.get("shape");
        if (sh == null || !sh.isArray()) throw new SafetensorsFormatException(path, where + " has no array field 'shape'");
        if (sh.size() > 64) throw new SafetensorsFormatException(path, where + " shape has " + sh.size() + " dimensions");
        int[] shape = new int[sh.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.longValue() < 0 || d.longValue() > Integer.MAX_VALUE) {
                throw new SafetensorsFormatException(path, where + " shape[" + i + "] = " + d + " is not an integer in [0, " + Integer.MAX_VALUE + "]");
            }
            shape[i] = d.intValue();
            numel = Math.multiplyHigh(numel, shape[i]) != 0 ? -1 : numel * shape[i];
            if (numel < 0 || numel > data.byteSize()) {
                // numel elements of at least one byte each cannot fit: also guards the product against overflow.
                throw new SafetensorsFormatException(path, where + " shape " + sh + " has more elements than the data section has bytes (" + data.byteSize() + ")");
            }
        }
        JsonNode off = v.get("data_offsets");
        if (off == null || !off.isArray() || off.size() != 2) throw new SafetensorsFormatException(path, where + " has no field 'data_offsets' of two integers");
        long[] be = new long[2];
        for (int i = 0; i < 2; i++) {
            JsonNode o = off.get(i);
            if (!o.isIntegralNumber() || !o.canConvertToLong() || o.longValue() < 0) {
                throw new SafetensorsFormatException(path, where + " data_offsets[" + i + "] = " + o + " is not a non-negative integer");
            }
            be[i] = o.longValue();
        }
        if (be[0] > be[1]) throw new SafetensorsFormatException(path, where + " data_offsets [" + be[0] + ", " + be[1] + "] end before they begin");
        if (be[1] > data.byteSize()) {
            throw new SafetensorsFormatException(path, where + " data_offsets end " + be[1] + " is past the end of the data section (" + data.byteSize() + " bytes)");
        }
        long expectedBytes = numel * dtype.byteSize();
        if (be[1] - be[0] != expectedBytes) {
            throw new SafetensorsFormatException(path, where + " has " + (be[1] - be[0]) + " data bytes but dtype " + dtype + " x shape " + sh + " needs " + expectedBytes);
        }
        return new SafetensorsEntry(name, dtype, shape, be[0], be[1], data.asSlice(be[0], be[1] - be[0]));
    }

    /**
     * Reads every tensor of {@code path} as float32 (in data-offset order) and closes the file.
     *
     * <pre>{@code
     * Map<String, Tensor> state = SafetensorsFile.loadAll(Path.of("model.safetensors"));
     * }</pre>
     */
    public static Map<String, Tensor> loadAll(Path path) throws IOException {
        try (SafetensorsFile f = open(path)) {
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (String name : f.names()) out.put(name, f.toTensor(name));
            return out;
        }
    }

    /** The file this was opened from. */
    public Path path() {
        return path;
    }

    /** The {@code __metadata__} string map (empty if absent). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Tensor names in data-offset order. */
    public List<String> names() {
        return List.copyOf(entries.keySet());
    }

    /** All entries in data-offset order. */
    public List<SafetensorsEntry> entries() {
        return List.copyOf(entries.values());
    }

    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    /** The entry called {@code name}; throws {@link IllegalArgumentException} naming the file if absent. */
    public SafetensorsEntry entry(String name) {
        SafetensorsEntry e = entries.get(name);
        if (e == null) throw new IllegalArgumentException(path + ": no tensor named '" + name + "' (" + entries.size() + " tensors)");
        return e;
    }

    /** The tensor called {@code name} as float32, converting from any dtype (BOOL gives 0/1). */
    public Tensor toTensor(String name) {
        SafetensorsEntry e = entry(name);
        return Tensor.of(TensorData.toFloats(path, e), e.shape());
    }

    /** The values of {@code name} as float32, converting from any dtype. */
    public float[] floats(String name) {
        return TensorData.toFloats(path, entry(name));
    }

    /**
     * Elements {@code [from, from + n)} (row-major) of an F32, F16, BF16 or F64 tensor as floats, into {@code out[0..n)},
     * without materialising the whole tensor.
     */
    public void floats(String name, long from, int n, float[] out) {
        TensorData.floatRange(path, entry(name), from, n, out);
    }

    /** Raw int8 values; the tensor must be I8. */
    public byte[] int8(String name) {
        return TensorData.bytes(path, entry(name), DType.I8);
    }

    /** Raw uint8 values (as Java bytes; mask with 0xFF); the tensor must be U8. */
    public byte[] uint8(String name) {
        return TensorData.bytes(path, entry(name), DType.U8);
    }

    /** int16 values; the tensor must be I16. */
    public short[] int16(String name) {
        return TensorData.shorts(path, entry(name), DType.I16);
    }

    /** int32 values; the tensor must be I32. */
    public int[] int32(String name) {
        return TensorData.ints(path, entry(name));
    }

    /** int64 values; the tensor must be I64. */
    public long[] int64(String name) {
        return TensorData.longs(path, entry(name));
    }

    /** The 16-bit patterns of an F16 or BF16 tensor (no conversion). */
    public short[] halfBits(String name) {
        SafetensorsEntry e = entry(name);
        if (e.dtype() != DType.F16 && e.dtype() != DType.BF16) throw new IllegalArgumentException(path + ": tensor '" + name + "' is " + e.dtype() + ", not F16 or BF16");
        return TensorData.shorts(path, e, null);
    }

    /** The raw bytes of any tensor, a copy. */
    public byte[] rawBytes(String name) {
        return TensorData.bytes(path, entry(name), null);
    }

    /** The raw bytes of {@code name} as a slice of the mapping (valid until {@link #close()}). */
    public MemorySegment segment(String name) {
        return entry(name).segment();
    }

    /** Unmaps the file; segments obtained from it become invalid (nothing to do if opened to unmap when unreachable). */
    @Override
    public void close() {
        if (arena != null) arena.close();
    }
}
