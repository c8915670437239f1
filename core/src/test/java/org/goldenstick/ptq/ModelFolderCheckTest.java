package org.goldenstick.ptq;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.formats.safetensors.SafetensorsWriter;
import org.goldenstick.llm.LlamaConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Findings 1-3 of the reliability trial: the one model-folder validation runs before any large allocation, rejects
 * NaN/Inf weights naming the tensor, and makes quantize as strict as eval (nothing is written for a folder eval
 * could not load).
 */
class ModelFolderCheckTest {
    @TempDir
    Path tmp;

    private static final String CFG = TinyCheckpoints.configJson(32, 64, 2, 4, 2, 50, false);
    private static final String TIED = TinyCheckpoints.configJson(32, 64, 2, 4, 2, 50, true);

    private static LlamaLayout layout(String cfg) {
        return LlamaLayout.of(LlamaConfig.parse(cfg, "test"));
    }

    /** eval/generate's loader and both quantize paths fail with a message containing {@code expected}, and write nothing. */
    private void rejectedEverywhere(Path dir, String... expected) {
        for (var run : new org.junit.jupiter.api.function.Executable[] {
                () -> QuantizedCheckpoints.loadModel(dir),
                () -> Quantizer.quantize(dir, tmp.resolve("q-rtn"), PTQConfig.rtn(), null, 4, 16, null),
                () -> Quantizer.quantize(dir, tmp.resolve("q-w8a8"), PTQConfig.naiveW8A8(), null, 4, 16, null)}) {
            RuntimeException e = assertThrows(RuntimeException.class, run);
            for (String x : expected) assertTrue(e.getMessage().contains(x), "'" + x + "' not in: " + e.getMessage());
            assertTrue(e.getMessage().startsWith(dir.toString()) || e.getMessage().contains(dir.toString()), e.getMessage());
        }
        assertFalse(Files.exists(tmp.resolve("q-rtn")));
        assertFalse(Files.exists(tmp.resolve("q-w8a8")));
    }

    @Test
    void hugeConfigIsRejectedBeforeTheModelIsAllocated() throws IOException {
        Path dir = tmp.resolve("huge");
        // config.json claims 400 M-wide MLPs (≈ 300 GB as float32); the weights are the small ones
        TinyCheckpoints.write(dir, TinyCheckpoints.configJson(32, 400_000_000, 2, 4, 2, 50, false), TinyCheckpoints.randomWeights(layout(CFG), 1),
                DType.F32, layout(CFG));
        long t0 = System.nanoTime();
        rejectedEverywhere(dir, "model.layers.0.mlp.gate_proj.weight", "[64, 32]", "[400000000, 32]");
        assertTrue((System.nanoTime() - t0) / 1e9 < 30, "rejected from the headers, not after allocating");
    }

    @Test
    void nanAndInfWeightsAreRejectedNamingTheTensor() throws IOException {
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY}) {
            Map<String, float[]> w = TinyCheckpoints.randomWeights(layout(CFG), 2);
            w.get("model.layers.1.post_attention_layernorm.weight")[5] = bad;
            Path dir = tmp.resolve("bad-" + (Float.isNaN(bad) ? "nan" : "inf"));
            TinyCheckpoints.write(dir, CFG, w, DType.BF16);
            rejectedEverywhere(dir, "model.layers.1.post_attention_layernorm.weight", "non-finite value " + bad, "element 5");
        }
    }

    @Test
    void aHugeFiniteWeightGetsAFiniteScale() throws IOException {
        Map<String, float[]> w = TinyCheckpoints.randomWeights(layout(CFG), 3);
        w.get("model.layers.0.self_attn.q_proj.weight")[7] = 3e38f;
        Path dir = tmp.resolve("big");
        TinyCheckpoints.write(dir, CFG, w, DType.F32);
        Path out = tmp.resolve("big-rtn");
        Quantizer.quantize(dir, out, PTQConfig.rtn(), null, 4, 16, null);
        try (var f = org.goldenstick.formats.safetensors.SafetensorsFile.open(out.resolve("model.safetensors"))) {
            for (String n : f.names()) {
                if (!n.endsWith("weight_scale")) continue;
                for (float s : f.floats(n)) assertTrue(Float.isFinite(s) && s > 0, n + " holds scale " + s);
            }
        }
        QuantizedCheckpoints.loadModel(out); // and eval loads what quantize wrote
    }

    @Test
    void quantizeIsAsStrictAsEval() throws IOException {
        Map<String, float[]> w = TinyCheckpoints.randomWeights(layout(CFG), 4);
        // fewer layers in config.json than in the checkpoint
        Path fewer = tmp.resolve("fewer");
        TinyCheckpoints.write(fewer, TinyCheckpoints.configJson(32, 64, 1, 4, 2, 50, false), w, DType.F32, layout(CFG));
        rejectedEverywhere(fewer, "unexpected tensor 'model.layers.1.");
        // an extra unknown tensor
        Map<String, float[]> extra = new java.util.TreeMap<>(w);
        extra.put("model.layers.0.mystery.weight", new float[] {1, 2, 3});
        Path unknown = tmp.resolve("unknown");
        TinyCheckpoints.write(unknown, CFG, extra, DType.F32);
        rejectedEverywhere(unknown, "unexpected tensor 'model.layers.0.mystery.weight'");
        // a wrongly shaped lm_head.weight on a tied model
        Map<String, float[]> tied = TinyCheckpoints.randomWeights(layout(TIED), 5);
        tied.put("lm_head.weight", new float[7]);
        Path lmHead = tmp.resolve("tied");
        TinyCheckpoints.write(lmHead, TIED, tied, DType.F32);
        rejectedEverywhere(lmHead, "'lm_head.weight' has shape [7]", "[50, 32]");
        // an index naming a tensor its shard lacks
        Path sharded = tmp.resolve("sharded");
        Files.createDirectories(sharded);
        Files.writeString(sharded.resolve("config.json"), CFG);
        SafetensorsWriter sw = new SafetensorsWriter();
        StringBuilder index = new StringBuilder("{\"metadata\": {}, \"weight_map\": {");
        for (var e : w.entrySet()) {
            sw.addFloats(e.getKey(), e.getValue(), DType.F32, layout(CFG).expectedShapes().get(e.getKey()));
            index.append('"').append(e.getKey()).append("\": \"model-00001-of-00001.safetensors\", ");
        }
        index.append("\"model.layers.0.ghost.weight\": \"model-00001-of-00001.safetensors\"}}");
        sw.write(sharded.resolve("model-00001-of-00001.safetensors"));
        Files.writeString(sharded.resolve("model.safetensors.index.json"), index.toString());
        rejectedEverywhere(sharded, "model.safetensors.index.json", "'model.layers.0.ghost.weight'", "does not hold it");
        // a broken tokenizer.json
        Path tok = tmp.resolve("tok");
        TinyCheckpoints.write(tok, CFG, w, DType.F32);
        Files.writeString(tok.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": ");
        rejectedEverywhere(tok, tok.resolve("tokenizer.json").toString(), "not valid JSON");
    }

    @Test
    void aModelThatCannotFitSaysHowMuchItNeedsAndWhichOptionChangesIt() throws IOException {
        // a sparse 15 GB checkpoint: the headers say 3.8 G parameters, no byte of weights is read
        Path dir = sparse("large", TinyCheckpoints.configJson(64, 128, 1, 4, 2, 30_000_000, false));
        // eval/generate map the weights instead of loading them: the 15 GB model opens with a few KB of heap
        org.goldenstick.llm.LlamaModel mapped = org.goldenstick.llm.HfCheckpoint.map(dir);
        assertTrue(mapped.parameterCount() < 1000, "float parameters on the heap: " + mapped.parameterCount());
        assertTrue(org.goldenstick.tensor.kernel.WeightMemory.isFileView(((org.goldenstick.llm.MappedLinear) mapped.module("model.layers.0.mlp.up_proj")).weights().data()));
        // SmoothQuant goes layer by layer when the model does not fit, and fails before any work when one layer does not
        // either (a 77 GB MLP)
        Path wide = sparse("wide", TinyCheckpoints.configJson(64, 100_000_000, 1, 4, 2, 50, false));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Quantizer.quantize(wide, tmp.resolve("o"), PTQConfig.smoothQuant(), wide.resolve("config.json"), 4, 16, t -> new int[] {1, 2}));
        assertTrue(e.getMessage().contains("layer by layer") && e.getMessage().contains("needs about") && e.getMessage().contains("-Xmx"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("o")));
    }

    /** A checkpoint whose header says what {@code cfg} implies (F32) and whose data is a hole: nothing is written. */
    private Path sparse(String name, String cfg) throws IOException {
        Path dir = tmp.resolve(name);
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), cfg);
        StringBuilder h = new StringBuilder("{");
        long off = 0;
        for (var e : layout(cfg).expectedShapes().entrySet()) {
            long n = 1;
            for (int d : e.getValue()) n *= d;
            h.append(String.format("\"%s\":{\"dtype\":\"F32\",\"shape\":%s,\"data_offsets\":[%d,%d]},", e.getKey(), java.util.Arrays.toString(e.getValue()), off, off + 4 * n));
            off += 4 * n;
        }
        h.setCharAt(h.length() - 1, '}');
        while ((h.length() + 8) % 8 != 0) h.append(' ');
        byte[] header = h.toString().getBytes(StandardCharsets.UTF_8);
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("model.safetensors").toFile(), "rw")) {
            byte[] len = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(header.length).array();
            f.write(len);
            f.write(header);
            f.setLength(8 + header.length + off);
        }
        return dir;
    }
}
