package org.goldenstick.ptq;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.formats.safetensors.SafetensorsFile;
import org.junit.jupiter.api.BeforeAll;
import org.goldenstick.tensor.kernel.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.io.TempDir;

/** Model-free RTN over a checkpoint folder, checked against a float64 reference of the input tensors. */
class RoundToNearestCheckpointTest {
    @TempDir
    Path tmp;

    @BeforeAll
    static void quiet() {
    }

    @ParameterizedTest
    @CsvSource({"BF16, true, 65536", "BF16, false, 65536", "F32, true, 65536", "F16, true, 65536", "BF16, true, 7", "F32, false, 50"})
    void quantizedTensorsMatchFloat64ReferenceAndOthersAreCopied(DType dtype, boolean vector, int chunkFloats) throws IOException {
        boolean was = Kernels.useVector(vector);
        int chunk = RoundToNearest.chunkFloats;
        RoundToNearest.chunkFloats = chunkFloats; // 7 and 50: one row (or a few) per read, so the tensors are read in many pieces
        try {
            referenceCase(dtype);
        } finally {
            Kernels.useVector(was);
            RoundToNearest.chunkFloats = chunk;
        }
    }

    private void referenceCase(DType dtype) throws IOException {
        Path in = tmp.resolve("fp-" + dtype + Kernels.vector() + RoundToNearest.chunkFloats), out = tmp.resolve("q-" + dtype + Kernels.vector() + RoundToNearest.chunkFloats);
        LlamaLayout layout = TinyCheckpoints.writeRandom(in, 3, dtype);
        Files.writeString(in.resolve("generation_config.json"), "{}");
        PtqReport r = RoundToNearest.quantizeCheckpoint(in, out, PTQConfig.rtn());
        assertEquals("rtn", r.method());
        assertEquals(layout.linearLayers().size() - 1, r.layersQuantized());
        assertEquals(1, r.layersSkipped()); // lm_head
        assertTrue(r.outputBytes() < r.inputBytes(), r.summary());
        assertTrue(r.writeSeconds() > 0 && r.writeSeconds() < r.seconds(), "the write is timed as part of the run: " + r.summary());
        assertTrue(Files.exists(out.resolve("generation_config.json")));
        assertNotNull(QuantizedCheckpoints.scheme(out));
        assertFalse(QuantizedCheckpoints.scheme(out).actInt8());
        assertEquals(List.of("lm_head"), QuantizedCheckpoints.scheme(out).ignore());
        try (SafetensorsFile src = SafetensorsFile.open(in.resolve("model.safetensors"));
             SafetensorsFile dst = SafetensorsFile.open(out.resolve("model.safetensors"))) {
            for (String layer : layout.linearLayers()) {
                if (layer.equals("lm_head")) {
                    assertEquals(dtype, dst.entry("lm_head.weight").dtype());
                    assertFalse(dst.contains("lm_head.weight_scale"));
                    continue;
                }
                float[] w = src.floats(layer + ".weight");
                int[] shape = src.entry(layer + ".weight").shape();
                assertFalse(dst.contains(layer + ".weight"));
                assertEquals(DType.I32, dst.entry(layer + ".weight_packed").dtype());
                assertArrayEquals(new long[] {shape[0], shape[1]}, dst.int64(layer + ".weight_shape"));
                assertArrayEquals(new int[] {shape[0], 1}, dst.entry(layer + ".weight_scale").shape());
                // scales are stored in the checkpoint's weight dtype, as llm-compressor writes them
                assertEquals(dtype, dst.entry(layer + ".weight_scale").dtype());
                byte[] q = org.goldenstick.tensor.kernel.PackedIntWeights.unpackRows(dst.int32(layer + ".weight_packed"), shape[0], shape[1], 8);
                float[] s = dst.floats(layer + ".weight_scale");
                double rel = dtype == DType.BF16 ? 0x1p-8 : dtype == DType.F16 ? 0x1p-11 : 1e-7;
                for (int o = 0; o < shape[0]; o++) {
                    double ref = QuantizedLinearTest.refScale(w, o * shape[1], shape[1]);
                    assertEquals(ref, s[o], rel * ref, layer + " scale " + o);
                    for (int k = 0; k < shape[1]; k++) assertEquals(QuantizedLinearTest.refQuant(w[o * shape[1] + k], s[o]), q[o * shape[1] + k], layer + "[" + o + "," + k + "]");
                }
            }
            // untouched tensors are byte-identical
            assertArrayEquals(src.entry("model.embed_tokens.weight").segment().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                    dst.entry("model.embed_tokens.weight").segment().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        }
        noTemporaryLeftovers();
    }

    /**
     * The streamed writer (header from the shapes first, then each tensor quantized in row blocks and written as it
     * comes) gives the same file, byte for byte, as quantizing the loaded model in memory and writing it at once.
     */
    @ParameterizedTest
    @CsvSource({"BF16, 8, 0, true", "BF16, 4, 32, false", "F32, 4, 16, true", "F16, 8, 32, false", "BF16, 4, 32, true"})
    void streamedOutputIsByteIdenticalToTheInMemoryPath(DType dtype, int bits, int group, boolean symmetric) throws IOException {
        Path in = tmp.resolve("fp"), streamed = tmp.resolve("streamed"), inMemory = tmp.resolve("in-memory");
        LlamaLayout layout = TinyCheckpoints.writeRandom(in, 11, dtype);
        PTQConfig cfg = PTQConfig.rtn(WeightScheme.of(bits, group, symmetric));
        int chunk = RoundToNearest.chunkFloats;
        RoundToNearest.chunkFloats = 50; // a row or two per piece: many blocks per tensor
        try {
            RoundToNearest.quantizeCheckpoint(in, streamed, cfg);
        } finally {
            RoundToNearest.chunkFloats = chunk;
        }
        java.util.Map<String, WeightScheme> plan = new java.util.LinkedHashMap<>();
        for (String l : layout.linearLayers()) if (!cfg.skips(l)) plan.put(l, cfg.weights());
        // a per-layer plan sends RTN through the loaded float model and the one-shot writer
        Quantizer.quantizeWeights(in, inMemory, cfg, new WeightMethod.Rtn(), plan, null, 0, 0, null);
        byte[] a = Files.readAllBytes(streamed.resolve("model.safetensors")), b = Files.readAllBytes(inMemory.resolve("model.safetensors"));
        assertEquals(b.length, a.length, "file sizes");
        assertTrue(java.util.Arrays.equals(a, b), "streamed and in-memory outputs differ at byte " + java.util.Arrays.mismatch(a, b));
    }

    @Test
    void aFailureLateInTheStreamLeavesNothingBehind() throws IOException {
        String cfg = TinyCheckpoints.configJson(32, 64, 2, 4, 2, 50, false);
        LlamaLayout layout = LlamaLayout.of(org.goldenstick.llm.LlamaConfig.parse(cfg, "test"));
        Map<String, float[]> w = TinyCheckpoints.randomWeights(layout, 2);
        // the last tensor in name order: every quantized layer has been written when it is reached
        w.get("model.norm.weight")[31] = Float.NaN;
        Path in = tmp.resolve("late-in"), out = tmp.resolve("late-out");
        TinyCheckpoints.write(in, cfg, w, DType.BF16, layout);
        var e = assertThrows(IllegalArgumentException.class, () -> RoundToNearest.quantizeCheckpoint(in, out, PTQConfig.rtn()));
        assertTrue(e.getMessage().contains(in.toString()) && e.getMessage().contains("'model.norm.weight'") && e.getMessage().contains("element 31"), e.getMessage());
        assertFalse(Files.exists(out));
        try (Stream<Path> s = Files.list(tmp)) {
            List<Path> left = s.filter(p -> org.goldenstick.formats.AtomicFiles.isTemporaryName(p.getFileName().toString())).toList();
            assertTrue(left.isEmpty(), "temporaries left: " + left);
        }
    }

    @Test
    void skipRegexKeepsMatchingLayersInFloat() throws IOException {
        Path in = tmp.resolve("fp"), out = tmp.resolve("q");
        TinyCheckpoints.writeRandom(in, 4, DType.F32);
        PtqReport r = RoundToNearest.quantizeCheckpoint(in, out, PTQConfig.rtn().withSkip(List.of("lm_head", "^model\\.layers\\.1\\.")));
        assertEquals(7, r.layersQuantized());
        assertEquals(8, r.layersSkipped());
        try (SafetensorsFile dst = SafetensorsFile.open(out.resolve("model.safetensors"))) {
            assertEquals(DType.F32, dst.entry("model.layers.1.mlp.up_proj.weight").dtype());
            assertEquals(DType.I32, dst.entry("model.layers.0.mlp.up_proj.weight_packed").dtype());
        }
    }

    @Test
    void badInputFailsBeforeAnythingIsWritten() throws IOException {
        String cfg = TinyCheckpoints.configJson(32, 64, 2, 4, 2, 50, false);
        LlamaLayout layout = LlamaLayout.of(org.goldenstick.llm.LlamaConfig.parse(cfg, "test"));

        Map<String, float[]> missing = TinyCheckpoints.randomWeights(layout, 1);
        missing.remove("model.layers.1.self_attn.k_proj.weight");
        expectFailure("missing", cfg, layout, missing, "model.layers.1.self_attn.k_proj.weight");

        String badCfg = TinyCheckpoints.configJson(32, 72, 2, 4, 2, 50, false); // intermediate_size disagrees with tensors
        expectFailure("shape", badCfg, layout, TinyCheckpoints.randomWeights(layout, 1), "implies");

        Map<String, float[]> nan = TinyCheckpoints.randomWeights(layout, 1);
        nan.get("model.layers.0.mlp.gate_proj.weight")[17] = Float.NaN;
        expectFailure("nan", cfg, layout, nan, "non-finite");

        Map<String, float[]> inf = TinyCheckpoints.randomWeights(layout, 1);
        inf.get("model.norm.weight")[3] = Float.POSITIVE_INFINITY;
        expectFailure("inf", cfg, layout, inf, "non-finite");

        // read one row at a time, the error still names the row of the whole tensor: gate_proj is [64, 32]
        Map<String, float[]> late = TinyCheckpoints.randomWeights(layout, 1);
        late.get("model.layers.1.mlp.gate_proj.weight")[5 * 32 + 3] = Float.NaN;
        int chunk = RoundToNearest.chunkFloats;
        RoundToNearest.chunkFloats = 40;
        try {
            expectFailure("nan-late", cfg, layout, late, "row 5, column 3");
        } finally {
            RoundToNearest.chunkFloats = chunk;
        }
    }

    @Test
    void existingOutputAndQuantizedInputAreRejected() throws IOException {
        Path in = tmp.resolve("fp"), out = tmp.resolve("q");
        TinyCheckpoints.writeRandom(in, 5, DType.F32);
        RoundToNearest.quantizeCheckpoint(in, out, PTQConfig.rtn());
        assertThrows(IllegalArgumentException.class, () -> RoundToNearest.quantizeCheckpoint(in, out, PTQConfig.rtn()));
        var e = assertThrows(IllegalArgumentException.class, () -> RoundToNearest.quantizeCheckpoint(out, tmp.resolve("qq"), PTQConfig.rtn()));
        assertTrue(e.getMessage().contains("quantization_config"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> RoundToNearest.quantizeCheckpoint(in, tmp.resolve("x"), PTQConfig.smoothQuant()));
    }

    private void expectFailure(String name, String cfg, LlamaLayout layout, Map<String, float[]> weights, String messagePart) throws IOException {
        Path in = tmp.resolve("in-" + name), out = tmp.resolve("out-" + name);
        TinyCheckpoints.write(in, cfg, weights, DType.F32, layout);
        var e = assertThrows(IllegalArgumentException.class, () -> RoundToNearest.quantizeCheckpoint(in, out, PTQConfig.rtn()));
        assertTrue(e.getMessage().contains(messagePart), name + ": " + e.getMessage());
        assertFalse(Files.exists(out), name + ": output folder must not exist");
        noTemporaryLeftovers();
    }

    private void noTemporaryLeftovers() throws IOException {
        try (Stream<Path> s = Files.list(tmp)) {
            List<Path> left = s.filter(p -> p.getFileName().toString().contains(".tmp-")).toList();
            assertTrue(left.isEmpty(), "temporary folders left: " + left);
        }
    }
}
