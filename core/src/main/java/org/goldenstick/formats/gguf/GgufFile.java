package org.goldenstick.formats.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A memory-mapped GGUF file (versions 2 and 3, little-endian): metadata key/values, tensor infos and lazy
 * tensor data. Every count, length and offset is checked against the file size before anything is
 * allocated, so a corrupt file gives a {@link GgufFormatException} naming the file and the key or tensor,
 * never an out-of-memory error.
 *
 * <pre>{@code
 * try (GgufFile g = GgufFile.open(Path.of("ggml-vocab-llama-spm.gguf"))) {
 *     String model = g.getString("tokenizer.ggml.model");          // "llama"
 *     String[] tokens = g.getArray("tokenizer.ggml.tokens").strings();
 * }
 * }</pre>
 */
public final class GgufFile implements AutoCloseable {
    /** "GGUF" read as a little-endian uint32. */
    public static final int MAGIC = 0x46554747;
    public static final int DEFAULT_ALIGNMENT = 32;
    private static final int MAX_DIMS = 4;
    private static final int MAX_NESTING = 8;
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final MemorySegment seg;
    private final int version;
    private final Map<String, Object> metadata;
    private final Map<String, GgufType> types;
    private final Map<String, GgufTensor> tensors;
    private final int alignment;
    private final long dataOffset;
    private long pos;
    private final java.nio.charset.CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);

    private GgufFile(Path path, Arena arena, MemorySegment seg) {
        this.path = path;
        this.arena = arena;
        this.seg = seg;
        if (seg.byteSize() < 24) throw error("file is " + seg.byteSize() + " bytes, too short for a GGUF header");
        int magic = seg.get(U32, 0);
        if (magic != MAGIC) throw error(String.format("bad magic 0x%08X (expected 'GGUF')", magic));
        version = seg.get(U32, 4);
        if (version != 2 && version != 3) throw error("unsupported GGUF version " + Integer.toUnsignedString(version) + " (2 and 3 are supported)");
        long tensorCount = seg.get(U64, 8);
        long kvCount = seg.get(U64, 16);
        pos = 24;
        // Each key/value needs at least 8 (key length) + 4 (type) + 1 bytes; each tensor info at least 8+4+8+4+8.
        if (kvCount < 0 || kvCount > (seg.byteSize() - pos) / 13) throw error("metadata count " + Long.toUnsignedString(kvCount) + " is impossible for a file of " + seg.byteSize() + " bytes");
        if (tensorCount < 0 || tensorCount > (seg.byteSize() - pos) / 32) throw error("tensor count " + Long.toUnsignedString(tensorCount) + " is impossible for a file of " + seg.byteSize() + " bytes");

        Map<String, Object> md = new LinkedHashMap<>();
        Map<String, GgufType> ty = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = readString("key of metadata entry " + i);
            int code = readU32("type of key '" + key + "'");
            GgufType type = GgufType.ofCode(code);
            if (type == null) throw error("key '" + key + "' has unknown value type " + Integer.toUnsignedString(code));
            Object value = readValue(type, key, 0);
            if (md.containsKey(key)) throw error("duplicate metadata key '" + key + "'");
            md.put(key, value);
            ty.put(key, type);
        }
        metadata = Collections.unmodifiableMap(md);
        types = Collections.unmodifiableMap(ty);

        int align = DEFAULT_ALIGNMENT;
        if (md.containsKey("general.alignment")) {
            Object a = md.get("general.alignment");
            long av = a instanceof Integer ii ? ii : a instanceof Long ll ? ll : -1;
            if (av <= 0 || (av & (av - 1)) != 0) throw error("key 'general.alignment' = " + a + " is not a power of two");
            if (av > (1 << 20)) throw error("key 'general.alignment' = " + a + " is larger than the supported maximum " + (1 << 20));
            align = (int) av;
        }
        alignment = align;

        record Info(String name, GgmlType type, long[] dims, long offset, long numel, long bytes) {}
        List<Info> infos = new java.util.ArrayList<>();
        java.util.Set<String> names = new java.util.HashSet<>();
        for (long i = 0; i < tensorCount; i++) {
            String name = readString("name of tensor " + i);
            if (!names.add(name)) throw error("duplicate tensor name '" + name + "'");
            int nDims = readU32("n_dims of tensor '" + name + "'");
            if (nDims < 1 || nDims > MAX_DIMS) throw error("tensor '" + name + "' has " + Integer.toUnsignedString(nDims) + " dims (1.." + MAX_DIMS + " allowed)");
            long[] dims = new long[nDims];
            long numel = 1;
            for (int d = 0; d < nDims; d++) {
                dims[d] = readU64("dim " + d + " of tensor '" + name + "'");
                if (dims[d] < 0 || dims[d] > seg.byteSize() * 2) throw error("tensor '" + name + "' dim " + d + " = " + Long.toUnsignedString(dims[d]) + " is absurd for a file of " + seg.byteSize() + " bytes");
                numel = Math.multiplyHigh(numel, dims[d]) != 0 ? -1 : numel * dims[d];
                if (numel < 0 || numel > seg.byteSize() * 2) throw error("tensor '" + name + "' has dims " + java.util.Arrays.toString(dims) + ": element count is absurd for a file of " + seg.byteSize() + " bytes");
            }
            int tcode = readU32("type of tensor '" + name + "'");
            GgmlType type = GgmlType.ofCode(tcode);
            if (type == null) throw error("tensor '" + name + "' has unknown or unsupported ggml type " + Integer.toUnsignedString(tcode));
            if (dims[0] % type.blockSize() != 0) throw error("tensor '" + name + "' row length " + dims[0] + " is not a multiple of the " + type + " block size " + type.blockSize());
            long bytes = numel / type.blockSize() * type.blockBytes();
            long offset = readU64("offset of tensor '" + name + "'");
            if (offset < 0 || offset % alignment != 0) throw error("tensor '" + name + "' offset " + Long.toUnsignedString(offset) + " is not a multiple of the alignment " + alignment);
            infos.add(new Info(name, type, dims, offset, numel, bytes));
        }
        long start = (pos + alignment - 1) / alignment * alignment;
        if (tensorCount > 0 && start > seg.byteSize()) throw error("tensor data section starts at " + start + ", past the end of the file (" + seg.byteSize() + " bytes)");
        dataOffset = start;
        // tensors may not share bytes: overlapping ranges mean a corrupt or hand-edited header
        List<Info> byOffset = new java.util.ArrayList<>(infos);
        byOffset.sort(java.util.Comparator.comparingLong(Info::offset));
        for (int i = 1; i < byOffset.size(); i++) {
            Info prev = byOffset.get(i - 1), cur = byOffset.get(i);
            if (prev.bytes > 0 && cur.bytes > 0 && cur.offset < prev.offset + prev.bytes) {
                throw error("tensor '" + cur.name + "' data [" + cur.offset + ", +" + cur.bytes + ") overlaps tensor '" + prev.name + "' [" + prev.offset + ", +" + prev.bytes + ")");
            }
        }
        Map<String, GgufTensor> ts = new LinkedHashMap<>();
        for (Info in : infos) {
            long avail = seg.byteSize() - dataOffset;
            if (in.offset > avail || in.bytes > avail - in.offset)
                throw error("tensor '" + in.name + "' data [" + in.offset + ", +" + in.bytes + ") runs past the end of the file (data section has " + avail + " bytes)");
            ts.put(in.name, new GgufTensor(path.toString(), in.name, in.type, in.dims, in.offset, in.numel, in.bytes, seg.asSlice(dataOffset + in.offset, in.bytes)));
        }
        tensors = Collections.unmodifiableMap(ts);
    }

    /** Maps and parses a GGUF file. Close it to unmap. */
    public static GgufFile open(Path path) {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            // a native view of the mapping: the weight kernels see one segment class (WeightMemory)
            MemorySegment seg = org.goldenstick.tensor.kernel.WeightMemory.view(ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena), arena);
            return new GgufFile(path, arena, seg);
        } catch (IOException e) {
            arena.close();
            throw new GgufFormatException(path + ": cannot read GGUF file: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    public int version() {
        return version;
    }

    public int alignment() {
        return alignment;
    }

    /** File offset of the tensor-data section. */
    public long dataOffset() {
        return dataOffset;
    }

    /** All metadata, in file order (see {@link GgufType} for the Java types of values). */
    public Map<String, Object> metadata() {
        return metadata;
    }

    /** The declared type of a key, or null. */
    public GgufType type(String key) {
        return types.get(key);
    }

    public boolean has(String key) {
        return metadata.containsKey(key);
    }

    public Map<String, GgufTensor> tensors() {
        return tensors;
    }

    public GgufTensor tensor(String name) {
        GgufTensor t = tensors.get(name);
        if (t == null) throw error("no tensor '" + name + "'");
        return t;
    }

    public String getString(String key) {
        return (String) get(key, GgufType.STRING);
    }

    /** Any integer type, checked to fit an int. */
    public int getInt(String key) {
        long v = getLong(key);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) throw error("key '" + key + "' = " + v + " does not fit an int");
        return (int) v;
    }

    public int getInt(String key, int fallback) {
        return has(key) ? getInt(key) : fallback;
    }

    /** Any integer type. */
    public long getLong(String key) {
        Object v = require(key);
        if (v instanceof Integer i) return i;
        if (v instanceof Long l) return l;
        throw error("key '" + key + "' has type " + types.get(key) + ", expected an integer");
    }

    public float getFloat(String key) {
        Object v = require(key);
        if (v instanceof Float f) return f;
        if (v instanceof Double d) return d.floatValue();
        throw error("key '" + key + "' has type " + types.get(key) + ", expected a float");
    }

    public boolean getBool(String key, boolean fallback) {
        return has(key) ? (Boolean) get(key, GgufType.BOOL) : fallback;
    }

    public GgufArray getArray(String key) {
        return (GgufArray) get(key, GgufType.ARRAY);
    }

    private Object require(String key) {
        Object v = metadata.get(key);
        if (v == null) throw error("missing metadata key '" + key + "'");
        return v;
    }

    private Object get(String key, GgufType expected) {
        Object v = require(key);
        if (types.get(key) != expected) throw error("key '" + key + "' has type " + types.get(key) + ", expected " + expected);
        return v;
    }

    @Override
    public void close() {
        arena.close();
    }

    // ------------------------------------------------------------------ parsing

    private GgufFormatException error(String msg) {
        return new GgufFormatException(path + ": " + msg);
    }

    private void need(long n, String what) {
        if (n < 0 || n > seg.byteSize() - pos) throw error("truncated: " + what + " needs " + Long.toUnsignedString(n) + " bytes at offset " + pos + " but the file has " + seg.byteSize() + " bytes");
    }

    private int readU32(String what) {
        need(4, what);
        int v = seg.get(U32, pos);
        pos += 4;
        return v;
    }

    private long readU64(String what) {
        need(8, what);
        long v = seg.get(U64, pos);
        pos += 8;
        return v;
    }

    private String readString(String what) {
        long len = readU64("length of " + what);
        need(len, what + " (string of " + Long.toUnsignedString(len) + " bytes)");
        byte[] b = new byte[(int) len];
        MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, pos, b, 0, (int) len);
        pos += len;
        try {
            return utf8.reset().decode(java.nio.ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            // Some vocabularies hold raw byte pieces; keep them readable rather than failing the whole file.
            return new String(b, StandardCharsets.UTF_8);
        }
    }

    private Object readValue(GgufType type, String key, int depth) {
        String what = "value of key '" + key + "'";
        switch (type) {
            case UINT8 -> { need(1, what); return seg.get(ValueLayout.JAVA_BYTE, pos++) & 0xFF; }
            case INT8 -> { need(1, what); return (int) seg.get(ValueLayout.JAVA_BYTE, pos++); }
            case BOOL -> {
                need(1, what);
                byte b = seg.get(ValueLayout.JAVA_BYTE, pos++);
                if (b != 0 && b != 1) throw error("key '" + key + "' bool has byte value " + b);
                return b == 1;
            }
            case UINT16 -> { need(2, what); int v = seg.get(U16, pos) & 0xFFFF; pos += 2; return v; }
            case INT16 -> { need(2, what); int v = seg.get(U16, pos); pos += 2; return v; }
            case UINT32 -> { return Integer.toUnsignedLong(readU32(what)); }
            case INT32 -> { return readU32(what); }
            case FLOAT32 -> { need(4, what); float v = seg.get(F32, pos); pos += 4; return v; }
            case UINT64, INT64 -> { return readU64(what); }
            case FLOAT64 -> { need(8, what); double v = seg.get(F64, pos); pos += 8; return v; }
            case STRING -> { return readString(what); }
            case ARRAY -> {
                if (depth >= MAX_NESTING) throw error("key '" + key + "' nests arrays deeper than " + MAX_NESTING);
                int code = readU32("element type of array '" + key + "'");
                GgufType et = GgufType.ofCode(code);
                if (et == null) throw error("key '" + key + "' array has unknown element type " + Integer.toUnsignedString(code));
                long count = readU64("length of array '" + key + "'");
                if (count < 0 || count > (seg.byteSize() - pos) / et.minBytes())
                    throw error("key '" + key + "' array length " + Long.toUnsignedString(count) + " of " + et + " runs past the end of the file");
                return readArray(et, (int) count, key, depth + 1);
            }
        }
        throw new AssertionError(type);
    }

    private GgufArray readArray(GgufType et, int n, String key, int depth) {
        Object values = switch (et) {
            case UINT8, INT8, UINT16, INT16, INT32 -> {
                int[] a = new int[n];
                for (int i = 0; i < n; i++) a[i] = (Integer) readValue(et, key, depth);
                yield a;
            }
            case UINT32, UINT64, INT64 -> {
                long[] a = new long[n];
                for (int i = 0; i < n; i++) a[i] = (Long) readValue(et, key, depth);
                yield a;
            }
            case FLOAT32 -> {
                float[] a = new float[n];
                MemorySegment.copy(seg, F32, pos, a, 0, n);
                pos += 4L * n;
                yield a;
            }
            case FLOAT64 -> {
                double[] a = new double[n];
                for (int i = 0; i < n; i++) a[i] = (Double) readValue(et, key, depth);
                yield a;
            }
            case BOOL -> {
                boolean[] a = new boolean[n];
                for (int i = 0; i < n; i++) a[i] = (Boolean) readValue(et, key, depth);
                yield a;
            }
            case STRING -> {
                String[] a = new String[n];
                for (int i = 0; i < n; i++) a[i] = readString("element " + i + " of array '" + key + "'");
                yield a;
            }
            case ARRAY -> {
                GgufArray[] a = new GgufArray[n];
                for (int i = 0; i < n; i++) a[i] = (GgufArray) readValue(GgufType.ARRAY, key, depth);
                yield a;
            }
        };
        return new GgufArray(et, values);
    }
}
