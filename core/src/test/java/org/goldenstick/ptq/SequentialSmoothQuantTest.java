package org.goldenstick.ptq;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.goldenstick.formats.AtomicFiles;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.formats.safetensors.SafetensorsEntry;
import org.goldenstick.llm.HfCheckpoint;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.progress.ProgressListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Layer-by-layer SmoothQuant against the one-pass path on the loaded model: the same tensors, bit for bit. */
class SequentialSmoothQuantTest {
    @TempDir
    Path tmp;

    private static List<int[]> samples(long seed, int vocab) {
        Random rng = new Random(seed);
        List<int[]> out = new ArrayList<>();
        for (int len : new int[] {16, 9, 16, 3}) {
            int[] s = new int[len];
            for (int i = 0; i < len; i++) s[i] = rng.nextInt(vocab);
            out.add(s);
        }
        return out;
    }

    /** The in-memory path: load the whole float model, calibrate it in one pass per sample, smooth, convert, save. */
    private static void inMemory(Path in, Path out, PTQConfig cfg, List<int[]> samples) throws IOException {
        LlamaModel m = HfCheckpoint.load(in);
        SmoothQuant sq = new SmoothQuant(cfg);
        sq.apply(m, new LlamaHelper(m, 16, null), samples);
        sq.convert(m);
        QuantizedCheckpoints.save(m, cfg, PtqAlgorithm.skipped(m, cfg), in, out, sq.modifiedTensors());
    }

    @Test
    void sameTensorsAsTheInMemoryPathWithActivationsSpilledToDisk() throws IOException {
        for (DType dtype : new DType[] {DType.BF16, DType.F32}) {
            Path in = tmp.resolve("fp-" + dtype);
            TinyCheckpoints.write(in, TinyCheckpoints.configJson(32, 64, 3, 4, 2, 50, false),
                    TinyCheckpoints.randomWeights(LlamaLayout.of(org.goldenstick.llm.LlamaConfig.parse(TinyCheckpoints.configJson(32, 64, 3, 4, 2, 50, false), "t")), 7), dtype);
            List<int[]> samples = samples(3, 50);
            for (PTQConfig cfg : List.of(PTQConfig.smoothQuant(0.5), PTQConfig.smoothQuant(0.8).withActGranularity(ActGranularity.PER_TENSOR), PTQConfig.naiveW8A8())) {
                String tag = dtype + "-" + cfg.methodName() + "-" + cfg.actGranularity();
                Path mem = tmp.resolve("mem-" + tag), seq = tmp.resolve("seq-" + tag);
                inMemory(in, mem, cfg, samples);
                // 3 KB in memory: most samples' activations go through the temporary file
                PtqReport r = SequentialSmoothQuant.quantize(in, seq, cfg, null, samples, 3000, ProgressListener.SILENT);
                assertEquals(PtqAlgorithm.targets(HfCheckpoint.load(in), cfg).size(), r.layersQuantized(), tag);
                sameTensors(mem, seq, tag);
                assertEquals(Files.readString(mem.resolve("config.json")), Files.readString(seq.resolve("config.json")), tag + ": config.json");
                // and eval loads the sharded output
                float[] a = QuantizedCheckpoints.loadModel(mem).newSession(16).prefill(samples.get(1)).data();
                float[] b = QuantizedCheckpoints.loadModel(seq).newSession(16).prefill(samples.get(1)).data();
                assertArrayEquals(a, b, tag + ": logits");
                noTemporaries();
            }
        }
    }

    @Test
    void quantizeGoesLayerByLayerWhenAskedWithTheSameResult() throws IOException {
        Path in = tmp.resolve("fp"), calib = tmp.resolve("calib.txt");
        TinyCheckpoints.writeRandom(in, 9, DType.BF16);
        Files.writeString(calib, "the quick brown fox jumps over the lazy dog, again and again, until the calibration set has a few samples of text.");
        NetworkHelper.TextEncoder enc = text -> text.chars().map(ch -> ch % 50).toArray();
        PTQConfig cfg = PTQConfig.smoothQuant(0.6);
        Quantizer.quantize(in, tmp.resolve("mem"), cfg, calib, 5, 12, enc);
        boolean was = Quantizer.sequential;
        Quantizer.sequential = true;
        try {
            PtqReport r = Quantizer.quantize(in, tmp.resolve("seq"), cfg, calib, 5, 12, enc);
            assertTrue(r.outputBytes() > 0 && r.inputBytes() > 0, r.summary());
        } finally {
            Quantizer.sequential = was;
        }
        assertTrue(Files.exists(tmp.resolve("seq").resolve("model.safetensors.index.json")), "the layer-by-layer output is sharded");
        sameTensors(tmp.resolve("mem"), tmp.resolve("seq"), "quantize");
    }

    private static void sameTensors(Path a, Path b, String tag) throws IOException {
        try (CheckpointFolder x = CheckpointFolder.open(a); CheckpointFolder y = CheckpointFolder.open(b)) {
            assertEquals(x.entries().keySet().stream().sorted().toList(), y.entries().keySet().stream().sorted().toList(), tag + ": tensor names");
            for (SafetensorsEntry e : x.entries().values()) {
                SafetensorsEntry f = y.entry(e.name());
                assertEquals(e.dtype(), f.dtype(), tag + ": " + e.name());
                assertArrayEquals(e.shape(), f.shape(), tag + ": " + e.name());
                assertArrayEquals(e.segment().toArray(ValueLayout.JAVA_BYTE), f.segment().toArray(ValueLayout.JAVA_BYTE), tag + ": bytes of " + e.name());
            }
        }
    }

    @Test
    void badInputNamesTheProblemAndWritesNothing() throws IOException {
        Path in = tmp.resolve("fp");
        TinyCheckpoints.writeRandom(in, 5, DType.F32);
        Path out = tmp.resolve("q");
        var e = assertThrows(IllegalArgumentException.class, () -> SequentialSmoothQuant.quantize(in, out, PTQConfig.smoothQuant(), null, List.of(new int[] {1, 99}), 1 << 20, null));
        assertTrue(e.getMessage().contains("token id 99"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SequentialSmoothQuant.quantize(in, out, PTQConfig.smoothQuant().withSkip(List.of("down_proj")), null, List.of(new int[] {1, 2}), 1 << 20, null));
        assertTrue(e.getMessage().contains("lm_head"), e.getMessage());
        // a NaN in the last decoder layer: found after earlier shards were written, and nothing is left
        var w = TinyCheckpoints.randomWeights(LlamaLayout.of(org.goldenstick.llm.LlamaConfig.parse(TinyCheckpoints.configJson(32, 64, 2, 4, 2, 50, false), "t")), 6);
        w.get("model.layers.1.mlp.up_proj.weight")[40] = Float.NaN;
        Path nan = tmp.resolve("nan");
        TinyCheckpoints.write(nan, TinyCheckpoints.configJson(32, 64, 2, 4, 2, 50, false), w, DType.F32);
        RuntimeException r = assertThrows(RuntimeException.class, () -> SequentialSmoothQuant.quantize(nan, out, PTQConfig.smoothQuant(), null, samples(1, 50), 1 << 20, null));
        assertTrue(r.getMessage().contains("model.layers.1.mlp.up_proj"), r.getMessage());
        assertFalse(Files.exists(out));
        noTemporaries();
    }

    private void noTemporaries() throws IOException {
        try (Stream<Path> s = Files.list(tmp)) {
            List<Path> left = s.filter(p -> AtomicFiles.isTemporaryName(p.getFileName().toString())).toList();
            assertTrue(left.isEmpty(), "temporaries left: " + left);
        }
    }
}
