package org.goldenstick.ptq;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.formats.safetensors.SafetensorsFile;
import org.goldenstick.formats.safetensors.SafetensorsWriter;
import org.goldenstick.llm.HfCheckpoint;
import org.goldenstick.llm.LlamaConfig;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.nn.Linear;
import org.goldenstick.tensor.kernel.PackedIntWeights;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Group-wise W4/W8 RTN written as compressed-tensors pack-quantized, read back by DEPLOY, and llm-compressor-shaped input. */
class PackQuantizedCheckpointTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @BeforeAll
    static void quiet() {
    }

    private Path tiedCheckpoint(String name, DType dtype) throws IOException {
        String cfg = TinyCheckpoints.configJson(64, 128, 2, 4, 2, 50, true);
        Path dir = tmp.resolve(name);
        TinyCheckpoints.write(dir, cfg, TinyCheckpoints.randomWeights(LlamaLayout.of(LlamaConfig.parse(cfg, "t")), 7), dtype);
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": \"<s>\"}");
        Files.writeString(dir.resolve("generation_config.json"), "{\"do_sample\": false}");
        return dir;
    }

    @ParameterizedTest
    @CsvSource({"4, 32, false, F32", "4, 64, true, BF16", "4, 0, true, F32", "8, 32, false, F16", "8, 0, false, F32"})
    void groupWiseRtnIsPackQuantizedAndDeploys(int bits, int group, boolean symmetric, DType dtype) throws IOException {
        Path in = tiedCheckpoint("fp", dtype), out = tmp.resolve("q");
        WeightScheme ws = WeightScheme.of(bits, group, symmetric);
        PtqReport r = RoundToNearest.quantizeCheckpoint(in, out, PTQConfig.rtn(ws));
        assertEquals(14, r.layersQuantized());

        JsonNode q = JSON.readTree(out.resolve("config.json").toFile()).get("quantization_config");
        assertEquals("pack-quantized", q.get("format").asText());
        assertEquals("compressed-tensors", q.get("quant_method").asText());
        assertEquals("compressed", q.get("quantization_status").asText());
        assertEquals(PackQuantized.COMPRESSED_TENSORS_VERSION, q.get("version").asText());
        JsonNode w = q.get("config_groups").get("group_0").get("weights");
        assertEquals(bits, w.get("num_bits").asInt());
        assertEquals(group == 0 ? "channel" : "group", w.get("strategy").asText());
        assertEquals(group == 0, w.get("group_size").isNull());
        assertEquals(symmetric, w.get("symmetric").asBoolean());
        assertTrue(q.get("config_groups").get("group_0").get("input_activations").isNull());
        assertEquals(List.of("lm_head"), JSON.convertValue(q.get("ignore"), List.class), "a tied lm_head stays float and is listed");
        assertTrue(Files.exists(out.resolve("tokenizer_config.json")) && Files.exists(out.resolve("generation_config.json")));

        try (SafetensorsFile src = SafetensorsFile.open(in.resolve("model.safetensors"));
             SafetensorsFile dst = SafetensorsFile.open(out.resolve("model.safetensors"))) {
            String layer = "model.layers.1.mlp.down_proj"; // [64, 128]
            int rows = 64, cols = 128, gs = group == 0 ? cols : group, groups = cols / gs;
            assertArrayEquals(new int[] {rows, cols * bits / 32}, dst.entry(layer + ".weight_packed").shape());
            assertArrayEquals(new long[] {rows, cols}, dst.int64(layer + ".weight_shape"));
            assertEquals(dtype, dst.entry(layer + ".weight_scale").dtype(), "scale in the weight dtype, as llm-compressor writes it");
            assertArrayEquals(new int[] {rows, groups}, dst.entry(layer + ".weight_scale").shape());
            assertEquals(!symmetric, dst.contains(layer + ".weight_zero_point"));
            byte[] codes = PackedIntWeights.unpackRows(dst.int32(layer + ".weight_packed"), rows, cols, bits);
            float[] scales = dst.floats(layer + ".weight_scale");
            byte[] zps = new byte[rows * groups];
            if (!symmetric) {
                assertArrayEquals(new int[] {(rows * bits + 31) / 32, groups}, dst.entry(layer + ".weight_zero_point").shape());
                zps = PackedIntWeights.unpackColumns(dst.int32(layer + ".weight_zero_point"), rows, groups, bits);
            }
            float[] wf = src.floats(layer + ".weight");
            // float64 reference of compressed-tensors' calculate_qparams + quantize for every group
            int qmin = -(1 << (bits - 1)), qmax = (1 << (bits - 1)) - 1;
            for (int o = 0; o < rows; o++) {
                for (int g = 0; g < groups; g++) {
                    double lo = 0, hi = 0;
                    for (int c = g * gs; c < (g + 1) * gs; c++) {
                        lo = Math.min(lo, wf[o * cols + c]);
                        hi = Math.max(hi, wf[o * cols + c]);
                    }
                    double scale = symmetric ? Math.max(-lo, hi) / ((qmax - qmin) / 2.0) : (hi - lo) / (qmax - qmin);
                    float stored = scales[o * groups + g];
                    double rel = dtype == DType.BF16 ? 0x1p-8 : dtype == DType.F16 ? 0x1p-11 : 1e-6;
                    assertEquals(scale, stored, rel * scale, "scale " + o + "," + g);
                    double zp = symmetric ? 0 : Math.round(Math.max(qmin, Math.min(qmax, qmin - lo / stored)));
                    assertEquals(zp, zps[o * groups + g], "zero point " + o + "," + g);
                    for (int c = g * gs; c < (g + 1) * gs; c++) {
                        double v = wf[o * cols + c] / (double) stored;
                        long ref = Math.max(qmin, Math.min(qmax, (long) (Math.signum(v) * Math.floor(Math.abs(v) + 0.5)) + (long) zp));
                        assertEquals(ref, codes[o * cols + c], "code " + o + "," + c);
                    }
                }
            }
        }

        // DEPLOY: the packed layers, and the same function as quantizing in memory
        LlamaModel deployed = QuantizedCheckpoints.load(out);
        WNA16Linear d = assertInstanceOf(WNA16Linear.class, deployed.module("model.layers.0.self_attn.q_proj"));
        assertEquals(bits, d.weights().bits());
        LlamaModel inMemory = HfCheckpoint.load(in);
        RoundToNearest rtn = new RoundToNearest(PTQConfig.rtn(ws), dtype == DType.F32 ? DType.F32 : dtype);
        rtn.apply(inMemory, null, List.of());
        rtn.convert(inMemory);
        int[] ids = LlamaFixtures.randomIds(new Random(4), 16, 50);
        DeployRoundTripTest.assertSameFunction(inMemory, deployed, ids);
    }

    @Test
    void inMemorySaveWritesTheSameFormat() throws IOException {
        Path in = tiedCheckpoint("fp", DType.F32), out = tmp.resolve("saved");
        PTQConfig cfg = PTQConfig.rtn(WeightScheme.of(4, 32, false));
        LlamaModel m = HfCheckpoint.load(in);
        RoundToNearest rtn = new RoundToNearest(cfg);
        rtn.apply(m, null, List.of());
        rtn.convert(m);
        QuantizedCheckpoints.save(m, cfg, PtqAlgorithm.skipped(m, cfg), in, out, java.util.Set.of());
        assertEquals("pack-quantized", QuantizedCheckpoints.scheme(out).format());
        DeployRoundTripTest.assertSameFunction(m, QuantizedCheckpoints.load(out), LlamaFixtures.randomIds(new Random(5), 12, 50));
    }

    /**
     * A folder shaped as llm-compressor writes W4A16 (its config text, no {@code gstick} block, regex targets, bf16
     * scales, two shards with an index): our DEPLOY loader reads it and computes with exactly its dequantized weights.
     */
    @Test
    void readsLlmCompressorShapedFolders() throws IOException {
        Path in = tiedCheckpoint("fp", DType.F32), dir = tmp.resolve("llmc");
        Files.createDirectories(dir);
        LlamaModel ref = HfCheckpoint.load(in);
        String config = Files.readString(in.resolve("config.json")).trim();
        config = config.substring(0, config.length() - 1) + """
                , "quantization_config": {"config_groups": {"group_0": {"input_activations": null, "output_activations": null,
                  "targets": ["re:.*_proj$"], "weights": {"actorder": "weight", "block_structure": null, "dynamic": false,
                  "group_size": 32, "num_bits": 4, "observer": "minmax", "observer_kwargs": {}, "strategy": "group",
                  "symmetric": true, "type": "int"}}}, "format": "pack-quantized", "global_compression_ratio": null,
                  "ignore": ["lm_head"], "kv_cache_scheme": null, "quant_method": "compressed-tensors",
                  "quantization_status": "compressed", "sparsity_config": {}, "transform_config": {}, "version": "0.10.2"}}
                """;
        Files.writeString(dir.resolve("config.json"), config);
        SafetensorsWriter a = new SafetensorsWriter().metadata("format", "pt"), b = new SafetensorsWriter().metadata("format", "pt");
        WeightScheme ws = WeightScheme.of(4, 32, true);
        StringBuilder index = new StringBuilder("{\"metadata\": {}, \"weight_map\": {");
        int n = 0;
        for (var e : ref.stateDict().entrySet()) {
            String name = e.getKey();
            SafetensorsWriter w = name.contains("layers.1") ? b : a;
            String file = w == b ? "model-00002-of-00002.safetensors" : "model-00001-of-00002.safetensors";
            if (name.endsWith("_proj.weight")) {
                String layer = name.substring(0, name.length() - ".weight".length());
                Linear l = (Linear) ref.module(layer);
                PackQuantized.add(w, layer, WNA16Linear.quantize(l, ws, DType.BF16, layer).weights(), DType.BF16);
                for (String t : PackQuantized.tensorNames(layer, true)) index.append(n++ == 0 ? "" : ",").append('"').append(t).append("\": \"").append(file).append('"');
            } else {
                w.add(name, e.getValue(), DType.BF16);
                index.append(n++ == 0 ? "" : ",").append('"').append(name).append("\": \"").append(file).append('"');
            }
        }
        a.write(dir.resolve("model-00001-of-00002.safetensors"));
        b.write(dir.resolve("model-00002-of-00002.safetensors"));
        Files.writeString(dir.resolve("model.safetensors.index.json"), index.append("}}").toString());

        LlamaModel m = QuantizedCheckpoints.loadModel(dir);
        assertEquals("rtn", QuantizedCheckpoints.scheme(dir).method());
        WNA16Linear up = assertInstanceOf(WNA16Linear.class, m.module("model.layers.1.mlp.up_proj"));
        float[] wf = ((Linear) ref.module("model.layers.1.mlp.up_proj")).weight().data();
        float[] dq = up.weights().dequantize();
        // within half a step (plus what a bf16-rounded scale moves the clamped top code 7)
        for (int i = 0; i < wf.length; i++) assertEquals(wf[i], dq[i], up.weights().scale(i / 64, i % 64) * (0.5 + 8 * 0x1p-8) + 1e-6, "element " + i);
        int[] ids = LlamaFixtures.randomIds(new Random(6), 12, 50);
        // the same function as a float model holding the bf16 tensors and the dequantized weights
        LlamaModel expected = HfCheckpoint.load(in);
        for (var t : expected.stateDict().entrySet()) {
            float[] v = t.getValue().data();
            for (int i = 0; i < v.length; i++) v[i] = WeightScheme.roundTo(v[i], DType.BF16);
        }
        for (var t : m.namedModules().entrySet()) {
            if (t.getValue() instanceof WNA16Linear p) {
                float[] dst = ((Linear) expected.module(t.getKey())).weight().data();
                System.arraycopy(p.weights().dequantize(), 0, dst, 0, dst.length);
            }
        }
        // float activations: the equality is the folder's; int8-block activations (the decode default for 4-bit
        // weights) are W8A8BlockKernelsTest's
        var wasMode = org.goldenstick.tensor.kernel.W8A8BlockKernels.setMode(org.goldenstick.tensor.kernel.W8A8BlockKernels.Mode.OFF);
        double rel;
        try {
            rel = LlamaFixtures.relError(LlamaFixtures.logits(expected, ids), LlamaFixtures.logits(m, ids));
        } finally {
            org.goldenstick.tensor.kernel.W8A8BlockKernels.setMode(wasMode);
        }
        assertTrue(rel < 1e-5, "relative logits difference " + rel);

        // actorder=group needs weight_g_idx, which we do not read: a clear error naming it
        Files.writeString(dir.resolve("config.json"), config.replace("\"actorder\": \"weight\"", "\"actorder\": \"group\""));
        var e = assertThrows(IllegalArgumentException.class, () -> QuantizedCheckpoints.load(dir));
        assertTrue(e.getMessage().contains("actorder"), e.getMessage());
    }

    @Test
    void badGroupSizeAndBitsFailBeforeAnythingIsWritten() throws IOException {
        Path in = tiedCheckpoint("fp", DType.F32), out = tmp.resolve("q");
        // hidden 64: a group of 128 does not divide q_proj's 64 inputs
        var e = assertThrows(IllegalArgumentException.class, () -> RoundToNearest.quantizeCheckpoint(in, out, PTQConfig.rtn(WeightScheme.of(4, 128, true))));
        assertTrue(e.getMessage().contains("does not divide in_features=64"), e.getMessage());
        assertTrue(e.getMessage().contains("q_proj"), e.getMessage());
        assertFalse(Files.exists(out));
        try (Stream<Path> s = Files.list(tmp)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().contains(".tmp-")));
        }
        assertThrows(IllegalArgumentException.class, () -> WeightScheme.of(2, 32, true));
    }
}
