package org.goldenstick.ptq;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.progress.ProgressListener;
import org.goldenstick.tensor.kernel.Parallel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code quantize --resume}: a run interrupted part-way continues from the units it finished (RTN layers, SmoothQuant
 * calibration samples, GPTQ/AWQ decoder layers) and writes exactly the bytes an uninterrupted run writes.
 */
class QuantizeResumeTest {
    @TempDir
    Path tmp;

    @AfterEach
    void resetHooks() {
        RoundToNearest.unitDone = i -> {};
        SmoothQuant.sampleDone = i -> {};
        LayerByLayer.layerDone = i -> {};
    }

    /** Simulates a kill: the run stops after {@code after} units with the state as it was. */
    static final class Killed extends RuntimeException {
        Killed() {
            super("killed (simulated)");
        }
    }

    private static void assertSameFolders(Path a, Path b) throws IOException {
        List<String> names;
        try (Stream<Path> s = Files.list(a)) {
            names = s.map(p -> p.getFileName().toString()).sorted().toList();
        }
        try (Stream<Path> s = Files.list(b)) {
            assertEquals(names, s.map(p -> p.getFileName().toString()).sorted().toList());
        }
        for (String n : names) assertArrayEquals(Files.readAllBytes(a.resolve(n)), Files.readAllBytes(b.resolve(n)), n + " differs");
    }

    private List<String> hidden() throws IOException {
        try (Stream<Path> s = Files.list(tmp)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".")).toList();
        }
    }

    @Test
    void rtnResumesFromTheLastFinishedLayerAndWritesTheSameBytes() throws IOException {
        Path in = tmp.resolve("fp");
        TinyCheckpoints.writeRandom(in, 11, DType.BF16);
        Path whole = tmp.resolve("whole"), resumed = tmp.resolve("resumed");
        Quantizer.quantize(in, whole, PTQConfig.rtn(), null, 1, 2, null);

        int saved = Parallel.threads();
        Parallel.setThreads(1); // a deterministic interruption point
        try {
            AtomicInteger done = new AtomicInteger();
            RoundToNearest.unitDone = i -> {
                if (done.incrementAndGet() == 5) throw new Killed();
            };
            assertThrows(Killed.class, () -> Quantizer.quantize(in, resumed, PTQConfig.rtn(), SmoothingMapping.LLAMA, null, 1, 2, null, ProgressListener.SILENT, ResumeState.Mode.SAVE));
            assertFalse(Files.exists(resumed), "no output until complete");
            assertEquals(List.of(".resumed.gstick-resume"), hidden());
            // the resumed run quantizes only what was not finished
            AtomicInteger computed = new AtomicInteger();
            RoundToNearest.unitDone = i -> computed.incrementAndGet();
            Quantizer.quantize(in, resumed, PTQConfig.rtn(), SmoothingMapping.LLAMA, null, 1, 2, null, ProgressListener.SILENT, ResumeState.Mode.CONTINUE);
            int layers = LlamaLayout.read(in).linearLayers().size() - 1; // lm_head skipped
            assertEquals(layers - 5, computed.get());
        } finally {
            Parallel.setThreads(saved);
        }
        assertSameFolders(whole, resumed);
        assertEquals(List.of(), hidden(), "the saved progress is removed with the output complete");
    }

    @Test
    void smoothQuantResumesCalibrationAndWritesTheSameBytes() throws IOException {
        Path in = tmp.resolve("fp");
        TinyCheckpoints.writeRandom(in, 12, DType.F32);
        Path calib = Files.writeString(tmp.resolve("calib.txt"), "x".repeat(400));
        NetworkHelper.TextEncoder enc = text -> {
            int[] ids = new int[text.length()];
            for (int i = 0; i < ids.length; i++) ids[i] = (i * 7 + 3) % 50;
            return ids;
        };
        Path whole = tmp.resolve("whole"), resumed = tmp.resolve("resumed");
        Quantizer.quantize(in, whole, PTQConfig.smoothQuant(), calib, 6, 32, enc);
        SmoothQuant.sampleDone = i -> {
            if (i == 2) throw new Killed();
        };
        assertThrows(Killed.class, () -> Quantizer.quantize(in, resumed, PTQConfig.smoothQuant(), SmoothingMapping.LLAMA, calib, 6, 32, enc, ProgressListener.SILENT, ResumeState.Mode.SAVE));
        AtomicInteger computed = new AtomicInteger();
        SmoothQuant.sampleDone = i -> computed.incrementAndGet();
        Quantizer.quantize(in, resumed, PTQConfig.smoothQuant(), SmoothingMapping.LLAMA, calib, 6, 32, enc, ProgressListener.SILENT, ResumeState.Mode.CONTINUE);
        assertEquals(3, computed.get(), "samples 4-6 only");
        assertSameFolders(whole, resumed);
        assertEquals(List.of(), hidden());

        // progress of a different recipe is never used
        SmoothQuant.sampleDone = i -> {
            if (i == 1) throw new Killed();
        };
        Path other = tmp.resolve("other");
        assertThrows(Killed.class, () -> Quantizer.quantize(in, other, PTQConfig.smoothQuant(), SmoothingMapping.LLAMA, calib, 6, 32, enc, ProgressListener.SILENT, ResumeState.Mode.SAVE));
        SmoothQuant.sampleDone = i -> {};
        var e = assertThrows(IllegalArgumentException.class,
                () -> Quantizer.quantize(in, other, PTQConfig.smoothQuant().withAlpha(0.3), SmoothingMapping.LLAMA, calib, 6, 32, enc, ProgressListener.SILENT, ResumeState.Mode.CONTINUE));
        assertTrue(e.getMessage().contains("different input, recipe"), e.getMessage());
    }

    /**
     * GPTQ (act-order), AWQ then RTN and AWQ then GPTQ, W4 groups of 32, on a 3-layer bf16 model: killed after decoder
     * layer 1 (of 0..2), the resumed run calibrates layer 2 only — from the saved inputs, with layers 0-1's processed
     * weights, packed codes and AWQ scales put back — and writes the same bytes as an uninterrupted run.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"gptq", "awq", "awq-gptq"})
    void calibratedWeightOnlyRunsResumeAfterTheLastFinishedDecoderLayer(String name) throws IOException {
        Path in = tmp.resolve("fp");
        String cfg = TinyCheckpoints.configJson(32, 64, 3, 4, 2, 50, false);
        TinyCheckpoints.write(in, cfg, TinyCheckpoints.randomWeights(LlamaLayout.of(org.goldenstick.llm.LlamaConfig.parse(cfg, "test")), 21), DType.BF16);
        Path calib = Files.writeString(tmp.resolve("calib.txt"), "y".repeat(300));
        NetworkHelper.TextEncoder enc = text -> {
            int[] ids = new int[text.length()];
            for (int i = 0; i < ids.length; i++) ids[i] = (i * 13 + 5) % 50;
            return ids;
        };
        WeightMethod method = switch (name) {
            case "gptq" -> new WeightMethod.Gptq(0.01, 16, true);
            case "awq" -> WeightMethod.Awq.defaults();
            default -> WeightMethod.Awq.defaults(WeightMethod.Gptq.defaults());
        };
        // one thread: under load, a two-thread AWQ-then-RTN run once differed from another by one bf16 code (a
        // scheduling-dependent summation somewhere in the forward, not found yet), which no resume can reproduce
        PTQConfig config = PTQConfig.rtn().withWeights(WeightScheme.of(4, 32, true));
        int saved = Parallel.threads();
        Parallel.setThreads(1);
        try {
            Path whole = tmp.resolve("whole"), resumed = tmp.resolve("resumed");
            Quantizer.quantizeWeights(in, whole, config, method, null, calib, 6, 32, enc);
            LayerByLayer.layerDone = i -> {
                if (i == 1) throw new Killed();
            };
            assertThrows(Killed.class, () -> Quantizer.quantizeWeights(in, resumed, config, method, null, calib, 6, 32, enc, ProgressListener.SILENT, ResumeState.Mode.SAVE));
            assertFalse(Files.exists(resumed), "no output until complete");
            assertEquals(List.of(".resumed.gstick-resume"), hidden());
            List<Integer> computed = new java.util.ArrayList<>();
            LayerByLayer.layerDone = computed::add;
            Quantizer.quantizeWeights(in, resumed, config, method, null, calib, 6, 32, enc, ProgressListener.SILENT, ResumeState.Mode.CONTINUE);
            assertEquals(List.of(2), computed, "only the layer after the last finished one");
            assertSameFolders(whole, resumed);
            assertEquals(List.of(), hidden(), "the saved progress is removed with the output complete");
        } finally {
            Parallel.setThreads(saved);
        }
        // another calibration setting never uses that progress
        LayerByLayer.layerDone = i -> {
            throw new Killed();
        };
        Path other = tmp.resolve("other");
        assertThrows(Killed.class, () -> Quantizer.quantizeWeights(in, other, config, method, null, calib, 6, 32, enc, ProgressListener.SILENT, ResumeState.Mode.SAVE));
        LayerByLayer.layerDone = i -> {};
        var e = assertThrows(IllegalArgumentException.class,
                () -> Quantizer.quantizeWeights(in, other, config, method, null, calib, 5, 32, enc, ProgressListener.SILENT, ResumeState.Mode.CONTINUE));
        assertTrue(e.getMessage().contains("different input, recipe"), e.getMessage());
    }
}
