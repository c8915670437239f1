package org.goldenstick.llm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.formats.safetensors.SafetensorsWriter;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfCheckpointTest {
    @TempDir
    Path tmp;

    private static void assertBitExact(Map<String, Tensor> a, Map<String, Tensor> b) {
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) {
            float[] x = a.get(k).data(), y = b.get(k).data();
            assertEquals(x.length, y.length, k);
            for (int i = 0; i < x.length; i++) assertEquals(Float.floatToRawIntBits(x[i]), Float.floatToRawIntBits(y[i]), k + "[" + i + "]");
        }
    }

    @Test
    void f32RoundTripIsBitExactSingleAndSharded() throws IOException {
        for (LlamaConfig c : new LlamaConfig[] {TestModels.gqaLlama3(), TestModels.tiedLinear()}) {
            LlamaModel m = TestModels.random(c, 3);
            Path src = Files.createDirectories(tmp.resolve("src"));
            Files.writeString(src.resolve("tokenizer.json"), "{\"model\": {}}");
            Path one = tmp.resolve("one-" + c.tieWordEmbeddings()), sharded = tmp.resolve("sharded-" + c.tieWordEmbeddings());
            HfCheckpoint.save(m, one, DType.F32, src, false);
            HfCheckpoint.save(m, sharded, DType.F32, null, false, 3000);
            assertTrue(Files.exists(one.resolve("model.safetensors")));
            assertEquals("{\"model\": {}}", Files.readString(one.resolve("tokenizer.json")));
            assertTrue(Files.exists(sharded.resolve("model.safetensors.index.json")));
            assertFalse(Files.exists(sharded.resolve("model.safetensors")));
            try (Stream<Path> s = Files.list(sharded)) {
                assertTrue(s.filter(p -> p.getFileName().toString().matches("model-\\d{5}-of-\\d{5}\\.safetensors")).count() > 2);
            }
            for (Path dir : new Path[] {one, sharded}) {
                try (HfCheckpoint ck = HfCheckpoint.open(dir)) {
                    assertEquals(c, ck.config());
                    assertEquals(m.stateDict().keySet(), new java.util.TreeSet<>(ck.tensorNames()).stream().collect(java.util.stream.Collectors.toSet()));
                    LlamaModel back = ck.toModel();
                    assertBitExact(m.stateDict(), back.stateDict());
                    int[] ids = TestModels.ids(c, 8, 1);
                    assertArrayEquals(m.newSession(8).forward(ids, true).data(), back.newSession(8).forward(ids, true).data(), 0f);
                }
            }
        }
    }

    /** float32 → bfloat16 with round-to-nearest-even, written from the format definition. */
    private static float bf16Reference(float f) {
        int bits = Float.floatToRawIntBits(f);
        int rounded = (bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16;
        return Float.intBitsToFloat(rounded << 16);
    }

    @Test
    void bf16AndF16CheckpointsLoadAsTheReferenceConversion() throws IOException {
        LlamaConfig c = TestModels.gqaLlama3();
        LlamaModel m = TestModels.random(c, 4);
        HfCheckpoint.save(m, tmp.resolve("bf16"), DType.BF16, null, false);
        HfCheckpoint.save(m, tmp.resolve("f16"), DType.F16, null, false);
        try (HfCheckpoint ck = HfCheckpoint.open(tmp.resolve("bf16"))) {
            assertEquals("bfloat16", ck.config().torchDtype());
            assertEquals(DType.BF16, ck.entry("model.layers.0.mlp.up_proj.weight").dtype());
            Map<String, Tensor> got = ck.toModel().stateDict();
            m.stateDict().forEach((k, t) -> {
                float[] x = t.data(), y = got.get(k).data();
                for (int i = 0; i < x.length; i++) assertEquals(bf16Reference(x[i]), y[i], 0f, k);
            });
        }
        Map<String, Tensor> f16 = HfCheckpoint.load(tmp.resolve("f16")).stateDict();
        m.stateDict().forEach((k, t) -> {
            float[] x = t.data(), y = f16.get(k).data();
            for (int i = 0; i < x.length; i++) assertEquals(Float.float16ToFloat(Float.floatToFloat16(x[i])), y[i], 0f, k);
        });
    }

    private Path writeCheckpoint(String name, LlamaConfig c, Map<String, Tensor> tensors, DType dtype) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        Files.writeString(dir.resolve("config.json"), c.toJson());
        SafetensorsWriter w = new SafetensorsWriter();
        tensors.forEach((k, t) -> w.add(k, t, dtype));
        w.write(dir.resolve("model.safetensors"));
        return dir;
    }

    private static String loadError(Path dir) {
        return assertThrows(Exception.class, () -> HfCheckpoint.load(dir)).getMessage();
    }

    @Test
    void mismatchedCheckpointsGiveClearErrors() throws IOException {
        LlamaConfig c = TestModels.gqaLlama3();
        Map<String, Tensor> sd = new java.util.LinkedHashMap<>(TestModels.random(c, 1).stateDict());

        Map<String, Tensor> missing = new java.util.LinkedHashMap<>(sd);
        missing.remove("model.layers.1.mlp.up_proj.weight");
        String m = loadError(writeCheckpoint("missing", c, missing, DType.F32));
        assertTrue(m.contains("missing tensor 'model.layers.1.mlp.up_proj.weight'") && m.contains("[40, 16]"), m);

        Map<String, Tensor> wrong = new java.util.LinkedHashMap<>(sd);
        wrong.put("model.layers.0.self_attn.k_proj.weight", Tensor.zeros(32, 16));
        m = loadError(writeCheckpoint("shape", c, wrong, DType.F32));
        assertTrue(m.contains("'model.layers.0.self_attn.k_proj.weight'") && m.contains("[32, 16]") && m.contains("config.json implies [16, 16]"), m);

        Map<String, Tensor> extra = new java.util.LinkedHashMap<>(sd);
        extra.put("model.layers.7.mlp.up_proj.weight", Tensor.zeros(2, 2));
        m = loadError(writeCheckpoint("extra", c, extra, DType.F32));
        assertTrue(m.contains("unexpected tensor 'model.layers.7.mlp.up_proj.weight'"), m);

        Path intDir = Files.createDirectories(tmp.resolve("int8"));
        Files.writeString(intDir.resolve("config.json"), c.toJson());
        SafetensorsWriter w = new SafetensorsWriter();
        sd.forEach((k, t) -> {
            if (k.equals("model.norm.weight")) w.addInt8(k, new byte[t.numel()], t.shape());
            else w.add(k, t);
        });
        w.write(intDir.resolve("model.safetensors"));
        m = loadError(intDir);
        assertTrue(m.contains("'model.norm.weight' in model.safetensors has dtype I8"), m);

        // A dtype safetensors does not define (here an fp8 name) is refused when the folder is opened.
        Path fp8 = Files.createDirectories(tmp.resolve("fp8"));
        Files.writeString(fp8.resolve("config.json"), c.toJson());
        byte[] header = "{\"model.norm.weight\":{\"dtype\":\"F8_E4M3\",\"shape\":[16],\"data_offsets\":[0,16]}}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(8 + header.length + 16).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        buf.putLong(header.length).put(header);
        Files.write(fp8.resolve("model.safetensors"), buf.array());
        m = loadError(fp8);
        assertTrue(m.contains("model.safetensors") && m.contains("F8_E4M3"), m);

        Path noWeights = Files.createDirectories(tmp.resolve("noweights"));
        Files.writeString(noWeights.resolve("config.json"), c.toJson());
        m = loadError(noWeights);
        assertTrue(m.contains("model.safetensors"), m);

        Path noConfig = Files.createDirectories(tmp.resolve("noconfig"));
        m = loadError(noConfig);
        assertTrue(m.contains("config.json"), m);

        Path badIndex = writeCheckpoint("badindex", c, sd, DType.F32);
        Files.writeString(badIndex.resolve("model.safetensors.index.json"), "{\"weight_map\": {\"model.norm.weight\": \"model-00002-of-00002.safetensors\"}}");
        m = loadError(badIndex);
        assertTrue(m.contains("model-00002-of-00002.safetensors") && m.contains("missing"), m);

        Path badConfig = writeCheckpoint("badconfig", c, sd, DType.F32);
        Files.writeString(badConfig.resolve("config.json"), "{\"hidden_size\": 16,");
        m = loadError(badConfig);
        assertTrue(m.contains(badConfig.resolve("config.json").toString()) && m.contains("not valid JSON"), m);
    }

    @Test
    void failedSaveLeavesNoOutputFolder() throws IOException {
        Path out = tmp.resolve("out");
        IOException e = assertThrows(IOException.class, () -> org.goldenstick.formats.AtomicFiles.writeFolder(out, org.goldenstick.formats.AtomicFiles.Existing.FAIL, dir -> {
            Files.writeString(dir.resolve("config.json"), "{}");
            throw new IOException("disk full (simulated)");
        }));
        assertEquals("disk full (simulated)", e.getMessage());
        assertFalse(Files.exists(out));
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(0, s.count(), "temporary folder removed");
        }
        // A non-finite weight is refused before anything is written.
        LlamaModel m = TestModels.random(TestModels.tiedLinear(), 1);
        m.stateDict().get("model.norm.weight").data()[3] = Float.NaN;
        assertThrows(IllegalArgumentException.class, () -> HfCheckpoint.save(m, out, DType.F32, null, false));
        assertFalse(Files.exists(out));
        // An existing output is kept unless overwriting is asked for.
        m.stateDict().get("model.norm.weight").data()[3] = 1f;
        HfCheckpoint.save(m, out, DType.F32, null, false);
        assertThrows(java.nio.file.FileAlreadyExistsException.class, () -> HfCheckpoint.save(m, out, DType.BF16, null, false));
        assertEquals("float32", HfCheckpoint.open(out).config().torchDtype());
        HfCheckpoint.save(m, out, DType.BF16, null, true);
        try (HfCheckpoint ck = HfCheckpoint.open(out)) {
            assertEquals("bfloat16", ck.config().torchDtype());
        }
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(java.util.List.of(out), s.toList());
        }
    }
}
