package org.goldenstick.formats.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufFileTest {
    @TempDir
    Path dir;

    static Path dataFile(String rel) {
        return org.goldenstick.data.DataPaths.cached("gguf-vocab", rel);
    }

    @Test
    void readsTheRealLlamaSpmVocabFile() throws Exception {
        Path f = dataFile("gguf/ggml-vocab-llama-spm.gguf");
        // Pinned in spec/data.md §3.2: the fixture is exactly the file llama.cpp ships.
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
        assertEquals("16c3724582d59aa8bf84711894e833f916ee46a31d80e21312759c48bf8d0e69", sha);
        try (GgufFile g = GgufFile.open(f)) {
            assertEquals(3, g.version());
            assertEquals(0, g.tensors().size());
            assertEquals(22, g.metadata().size());
            assertEquals("llama", g.getString("general.architecture"));
            assertEquals("llama", g.getString("tokenizer.ggml.model"));
            String[] tokens = g.getArray("tokenizer.ggml.tokens").strings();
            assertEquals(32000, tokens.length);
            assertEquals("<unk>", tokens[0]);
            assertEquals("<s>", tokens[1]);
            assertEquals("<0x0A>", tokens[13]);
            assertEquals(32000, g.getArray("tokenizer.ggml.scores").floats().length);
            assertEquals(32000, g.getArray("tokenizer.ggml.token_type").ints().length);
            assertEquals(1, g.getInt("tokenizer.ggml.bos_token_id"));
            assertEquals(2, g.getInt("tokenizer.ggml.eos_token_id"));
            assertEquals(0, g.getInt("tokenizer.ggml.unknown_token_id"));
            assertEquals(4096, g.getInt("llama.embedding_length"));
        }
    }

    @Test
    void readsTheRealGpt2VocabFile() {
        try (GgufFile g = GgufFile.open(dataFile("gguf/ggml-vocab-gpt-2.gguf"))) {
            assertEquals("gpt2", g.getString("tokenizer.ggml.model"));
            assertEquals(50257, g.getArray("tokenizer.ggml.tokens").length());
            assertEquals(50000, g.getArray("tokenizer.ggml.merges").length());
            assertEquals("Ġ t", g.getArray("tokenizer.ggml.merges").strings()[0]);
        }
    }

    @Test
    void roundTripsEveryMetadataTypeAndNestedArrays() {
        Path f = dir.resolve("meta.gguf");
        GgufArray nested = new GgufArray(GgufType.ARRAY, new GgufArray[] {
                new GgufArray(GgufType.INT32, new int[] {1, -2, 3}),
                new GgufArray(GgufType.ARRAY, new GgufArray[] {new GgufArray(GgufType.STRING, new String[] {"deep", "ü"})})});
        new GgufWriter()
                .put("u8", GgufType.UINT8, 250)
                .put("i8", GgufType.INT8, -7)
                .put("u16", GgufType.UINT16, 65000)
                .put("i16", GgufType.INT16, -30000)
                .put("u32", GgufType.UINT32, 4_000_000_000L)
                .put("i32", GgufType.INT32, -123456789)
                .put("f32", GgufType.FLOAT32, 1.5f)
                .put("bool", GgufType.BOOL, true)
                .put("str", GgufType.STRING, "héllo ▁ 🙂")
                .put("u64", GgufType.UINT64, -1L)
                .put("i64", GgufType.INT64, Long.MIN_VALUE)
                .put("f64", GgufType.FLOAT64, Math.PI)
                .put("floats", GgufType.ARRAY, new GgufArray(GgufType.FLOAT32, new float[] {0.25f, -1e30f}))
                .put("bools", GgufType.ARRAY, new GgufArray(GgufType.BOOL, new boolean[] {true, false}))
                .put("u32s", GgufType.ARRAY, new GgufArray(GgufType.UINT32, new long[] {0, 4294967295L}))
                .put("f64s", GgufType.ARRAY, new GgufArray(GgufType.FLOAT64, new double[] {2.5}))
                .put("empty", GgufType.ARRAY, new GgufArray(GgufType.STRING, new String[0]))
                .put("nested", GgufType.ARRAY, nested)
                .write(f);
        try (GgufFile g = GgufFile.open(f)) {
            assertEquals(250, g.metadata().get("u8"));
            assertEquals(-7, g.metadata().get("i8"));
            assertEquals(65000, g.metadata().get("u16"));
            assertEquals(-30000, g.metadata().get("i16"));
            assertEquals(4_000_000_000L, g.getLong("u32"));
            assertEquals(-123456789, g.getInt("i32"));
            assertEquals(1.5f, g.getFloat("f32"));
            assertTrue(g.getBool("bool", false));
            assertEquals("héllo ▁ 🙂", g.getString("str"));
            assertEquals(-1L, g.getLong("u64"));
            assertEquals(Long.MIN_VALUE, g.getLong("i64"));
            assertEquals(Math.PI, (Double) g.metadata().get("f64"));
            assertArrayEquals(new float[] {0.25f, -1e30f}, g.getArray("floats").floats());
            assertArrayEquals(new boolean[] {true, false}, (boolean[]) g.getArray("bools").values());
            assertArrayEquals(new long[] {0, 4294967295L}, (long[]) g.getArray("u32s").values());
            assertArrayEquals(new double[] {2.5}, (double[]) g.getArray("f64s").values());
            assertEquals(0, g.getArray("empty").length());
            var n = g.getArray("nested").nested();
            assertArrayEquals(new int[] {1, -2, 3}, n.get(0).ints());
            assertArrayEquals(new String[] {"deep", "ü"}, n.get(1).nested().get(0).strings());
            assertEquals(GgufType.UINT32, g.type("u32"));
        }
    }

    @Test
    void roundTripsTensorsInAllWrittenTypesWithCustomAlignment() {
        Random rng = new Random(3);
        float[] a = new float[6 * 64];
        for (int i = 0; i < a.length; i++) a[i] = (float) rng.nextGaussian() * (i % 7 == 0 ? 10 : 1);
        a[5] = 0;
        float[] zeros = new float[32];
        Path f = dir.resolve("t.gguf");
        new GgufWriter()
                .put("general.alignment", GgufType.UINT32, 64L)
                .put("general.architecture", GgufType.STRING, "llama")
                .addTensor("f32", GgmlType.F32, new int[] {6, 64}, a)
                .addTensor("f16", GgmlType.F16, new int[] {6, 64}, a)
                .addTensor("bf16", GgmlType.BF16, new int[] {3, 2, 64}, a)
                .addTensor("q8", GgmlType.Q8_0, new int[] {6, 64}, a)
                .addTensor("q8zero", GgmlType.Q8_0, new int[] {32}, zeros)
                .write(f);
        try (GgufFile g = GgufFile.open(f)) {
            assertEquals(64, g.alignment());
            assertEquals(0, g.dataOffset() % 64);
            for (GgufTensor t : g.tensors().values()) assertEquals(0, t.offset() % 64, t.name());
            assertArrayEquals(a, g.tensor("f32").toFloatArray());
            assertArrayEquals(new int[] {6, 64}, g.tensor("f32").shape());
            assertArrayEquals(new long[] {64, 6}, g.tensor("f32").dims());
            float[] h = g.tensor("f16").toFloatArray();
            float[] b = g.tensor("bf16").toFloatArray();
            assertArrayEquals(new int[] {3, 2, 64}, g.tensor("bf16").shape());
            for (int i = 0; i < a.length; i++) {
                assertEquals(a[i], h[i], Math.abs(a[i]) * 1e-3 + 1e-4, "f16 " + i);
                assertEquals(a[i], b[i], Math.abs(a[i]) * 8e-3 + 1e-30, "bf16 " + i);
            }
            // Q8_0 against a float64 reference of ggml's rule: d = max|x|/127 stored as fp16, q = round(x/d) half away from zero.
            GgufTensor q = g.tensor("q8");
            assertEquals(GgmlType.Q8_0, q.type());
            assertEquals(a.length / 32 * 34, q.byteSize());
            float[] dq = q.toFloatArray();
            for (int blk = 0; blk < a.length / 32; blk++) {
                double amax = 0;
                for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(a[blk * 32 + j]));
                double d = amax / 127.0;
                double dStored = Float.float16ToFloat(Float.floatToFloat16((float) d));
                for (int j = 0; j < 32; j++) {
                    double x = a[blk * 32 + j] / d;
                    double qi = Math.signum(x) * Math.floor(Math.abs(x) + 0.5);
                    assertEquals(dStored * qi, dq[blk * 32 + j], 1e-6 * Math.abs(dStored * qi) + 1e-7, "q8 block " + blk + " elem " + j);
                    assertEquals(a[blk * 32 + j], dq[blk * 32 + j], dStored * 0.5 + 1e-6 + Math.abs(a[blk * 32 + j]) * 1e-3);
                }
            }
            assertArrayEquals(zeros, g.tensor("q8zero").toFloatArray());
            assertEquals(6, g.tensor("f32").toTensor().dim(0));
        }
    }

    @Test
    void quantizedTypesWithoutDecoderAreExposedRaw() {
        Path f = dir.resolve("raw.gguf");
        byte[] q5 = new byte[176];
        for (int i = 0; i < q5.length; i++) q5[i] = (byte) i;
        new GgufWriter().addRawTensor("q5", GgmlType.Q5_K, new long[] {256}, q5).write(f);
        try (GgufFile g = GgufFile.open(f)) {
            GgufTensor t = g.tensor("q5");
            assertEquals(176, t.byteSize());
            assertEquals(17, t.raw().get(java.lang.foreign.ValueLayout.JAVA_BYTE, 17));
            var e = assertThrows(GgufFormatException.class, t::toFloatArray);
            assertTrue(e.getMessage().contains("'q5'") && e.getMessage().contains("Q5_K"), e.getMessage());
        }
    }

    @Test
    void missingKeysAndWrongTypesNameTheKey() {
        Path f = dir.resolve("k.gguf");
        new GgufWriter().put("a", GgufType.STRING, "x").write(f);
        try (GgufFile g = GgufFile.open(f)) {
            var e = assertThrows(GgufFormatException.class, () -> g.getString("b"));
            assertTrue(e.getMessage().contains("'b'") && e.getMessage().contains(f.toString()), e.getMessage());
            var e2 = assertThrows(GgufFormatException.class, () -> g.getInt("a"));
            assertTrue(e2.getMessage().contains("'a'"), e2.getMessage());
            var e3 = assertThrows(GgufFormatException.class, () -> g.tensor("nope"));
            assertTrue(e3.getMessage().contains("'nope'"), e3.getMessage());
        }
    }
}
