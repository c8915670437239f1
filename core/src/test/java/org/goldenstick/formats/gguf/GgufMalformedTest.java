package org.goldenstick.formats.gguf;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Corrupt GGUF files must fail with a GgufFormatException naming the file and the key/tensor, never OOM or crash. */
class GgufMalformedTest {
    @TempDir
    Path dir;

    /** Little-endian builder for hand-made GGUF bytes. */
    static final class Bytes {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Bytes u32(long v) {
            ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v);
            out.writeBytes(b.array());
            return this;
        }

        Bytes u64(long v) {
            out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
            return this;
        }

        Bytes str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            out.writeBytes(b);
            return this;
        }

        Bytes raw(int n) {
            out.writeBytes(new byte[n]);
            return this;
        }

        static Bytes header(long tensors, long kvs) {
            return new Bytes().u32(GgufFile.MAGIC).u32(3).u64(tensors).u64(kvs);
        }
    }

    private void expectError(String name, Bytes bytes, String... fragments) throws Exception {
        Path f = dir.resolve(name + ".gguf");
        Files.write(f, bytes.out.toByteArray());
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufFile.open(f).close(), name);
        assertTrue(e.getMessage().contains(f.toString()), name + ": message does not name the file: " + e.getMessage());
        for (String frag : fragments) assertTrue(e.getMessage().contains(frag), name + ": message lacks '" + frag + "': " + e.getMessage());
    }

    /** A valid file with one F32 tensor "w" of 8 floats, with a hook to corrupt the tensor info. */
    private static Bytes withTensor(Consumer<Bytes> info) {
        Bytes b = Bytes.header(1, 1).str("general.alignment").u32(GgufType.UINT32.code()).u32(32);
        b.str("w");
        info.accept(b);
        int pad = (int) ((32 - b.out.size() % 32) % 32);
        return b.raw(pad).raw(32);
    }

    @Test
    void headerErrors() throws Exception {
        expectError("short", new Bytes().u32(GgufFile.MAGIC), "too short");
        expectError("magic", new Bytes().u32(0x12345678).u32(3).u64(0).u64(0), "bad magic");
        expectError("version", new Bytes().u32(GgufFile.MAGIC).u32(7).u64(0).u64(0), "version 7");
        expectError("version1", new Bytes().u32(GgufFile.MAGIC).u32(1).u64(0).u64(0), "version 1");
        expectError("kvcount", Bytes.header(0, Long.MAX_VALUE), "metadata count");
        expectError("kvcount-neg", Bytes.header(0, -1), "metadata count");
        expectError("tensorcount", Bytes.header(1L << 40, 0), "tensor count");
    }

    @Test
    void metadataErrors() throws Exception {
        expectError("keylen", Bytes.header(0, 1).u64(1L << 40).raw(16), "key of metadata entry 0");
        expectError("keytrunc", Bytes.header(0, 1).u64(100).raw(5), "key of metadata entry 0");
        expectError("type", Bytes.header(0, 1).str("general.name").u32(99).raw(8), "'general.name'", "unknown value type 99");
        expectError("strlen", Bytes.header(0, 1).str("general.name").u32(GgufType.STRING.code()).u64(Long.MAX_VALUE).raw(8), "'general.name'");
        expectError("valtrunc", Bytes.header(0, 1).str("x.count").u32(GgufType.UINT64.code()).raw(3), "'x.count'");
        expectError("arrlen", Bytes.header(0, 1).str("tokenizer.ggml.tokens").u32(GgufType.ARRAY.code()).u32(GgufType.STRING.code()).u64(1L << 50).raw(16),
                "'tokenizer.ggml.tokens'", "runs past the end");
        expectError("arrtype", Bytes.header(0, 1).str("a").u32(GgufType.ARRAY.code()).u32(77).u64(1).raw(8), "'a'", "element type 77");
        expectError("arrelem", Bytes.header(0, 1).str("toks").u32(GgufType.ARRAY.code()).u32(GgufType.STRING.code()).u64(2).str("ok").u64(1000).raw(4),
                "element 1 of array 'toks'");
        Bytes deep = Bytes.header(0, 1).str("deep").u32(GgufType.ARRAY.code());
        for (int i = 0; i < 20; i++) deep.u32(GgufType.ARRAY.code()).u64(1);
        expectError("nesting", deep.raw(64), "'deep'", "nests arrays");
        expectError("dupkey", Bytes.header(0, 2).str("k").u32(GgufType.INT32.code()).u32(1).str("k").u32(GgufType.INT32.code()).u32(2), "duplicate metadata key 'k'");
        expectError("bool", Bytes.header(0, 1).str("flag").u32(GgufType.BOOL.code()).raw(0).u32(7), "'flag'");
        expectError("align", Bytes.header(0, 1).str("general.alignment").u32(GgufType.UINT32.code()).u32(24), "general.alignment");
    }

    @Test
    void tensorInfoErrors() throws Exception {
        expectError("ndims", withTensor(b -> b.u32(9)), "'w'", "9 dims");
        expectError("dims", withTensor(b -> b.u32(2).u64(1L << 40).u64(1L << 40).u32(0).u64(0)), "'w'");
        expectError("ggmltype", withTensor(b -> b.u32(1).u64(8).u32(123).u64(0)), "'w'", "ggml type 123");
        expectError("misaligned", withTensor(b -> b.u32(1).u64(8).u32(GgmlType.F32.code()).u64(4)), "'w'", "alignment");
        expectError("pastend", withTensor(b -> b.u32(1).u64(8).u32(GgmlType.F32.code()).u64(4096)), "'w'", "past the end");
        expectError("toolarge", withTensor(b -> b.u32(1).u64(64).u32(GgmlType.F32.code()).u64(0)), "'w'", "past the end");
        expectError("q8row", withTensor(b -> b.u32(1).u64(8).u32(GgmlType.Q8_0.code()).u64(0)), "'w'", "block size");
        expectError("truncinfo", Bytes.header(1, 0).str("blk.0.attn_q.weight.with.a.long.name").u32(2).u64(4).raw(3), "tensor 'blk.0.attn_q.weight.with.a.long.name'");
        Bytes dup = Bytes.header(2, 0).str("w").u32(1).u64(8).u32(0).u64(0).str("w").u32(1).u64(8).u32(0).u64(32);
        expectError("duptensor", dup.raw(128), "duplicate tensor name 'w'");
    }

    @Test
    void validHandMadeFileStillOpens() throws Exception {
        Path f = dir.resolve("ok.gguf");
        Files.write(f, withTensor(b -> b.u32(1).u64(8).u32(GgmlType.F32.code()).u64(0)).out.toByteArray());
        try (GgufFile g = GgufFile.open(f)) {
            assertTrue(g.tensor("w").toFloatArray().length == 8);
        }
    }

    /** Reliability trial, finding 7: a huge power of two was called "not a power of two", and overlapping tensors were accepted. */
    @Test
    void hugeAlignmentAndOverlappingTensorsAreNamedForWhatTheyAre() throws Exception {
        expectError("align-huge", Bytes.header(0, 1).str("general.alignment").u32(GgufType.UINT32.code()).u32(1L << 30), "general.alignment", "larger than the supported maximum");
        Bytes b = Bytes.header(2, 1).str("general.alignment").u32(GgufType.UINT32.code()).u32(32);
        b.str("a").u32(1).u64(8).u32(GgmlType.F32.code()).u64(0);
        b.str("b").u32(1).u64(8).u32(GgmlType.F32.code()).u64(0);
        int pad = (int) ((32 - b.out.size() % 32) % 32);
        b.raw(pad).raw(64);
        expectError("overlap", b, "'b'", "overlaps tensor 'a'");
    }
}
