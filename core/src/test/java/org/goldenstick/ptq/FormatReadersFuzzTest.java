package org.goldenstick.ptq;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.goldenstick.formats.gguf.GgufFile;
import org.goldenstick.formats.gguf.GgufFormatException;
import org.goldenstick.formats.onnx.OnnxFormatException;
import org.goldenstick.formats.onnx.OnnxModel;
import org.goldenstick.formats.onnx.OnnxModelReader;
import org.goldenstick.formats.safetensors.SafetensorsEntry;
import org.goldenstick.formats.safetensors.SafetensorsFile;
import org.goldenstick.formats.safetensors.SafetensorsFormatException;
import org.goldenstick.llm.LlamaConfig;
import org.goldenstick.llm.tokenizer.BpeTokenizer;
import org.goldenstick.llm.tokenizer.HfTokenizerJson;
import org.goldenstick.llm.tokenizer.TokenizerException;

/**
 * Fuzz targets (Jazzer) for the readers of untrusted files: safetensors, GGUF, ONNX, tokenizer.json and config.json
 * validation. The property: any input is either read (and its contents can be used) or rejected with the reader's
 * own exception whose message names the file; any other exception, a hang or an out-of-memory is a finding.
 *
 * <p>Without {@code JAZZER_FUZZ} (the ordinary test run) each target replays its kept inputs from
 * {@code src/test/resources/org/goldenstick/ptq/FormatReadersFuzzTestInputs/<target>/}: valid seeds and every crash
 * a fuzzing run found. The default build also fuzzes {@link #anyReader} for a short time (a surefire execution with
 * {@code JAZZER_FUZZ=1}); {@code scripts/fuzz.sh} fuzzes each target for longer. Jazzer writes a crashing input next to
 * the kept ones, so it stays a regression test.
 */
class FormatReadersFuzzTest {
    private static final Path SCRATCH = scratchDir();

    private static Path scratchDir() {
        try {
            return Files.createTempDirectory("gstick-fuzz");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path file(String name, byte[] bytes) {
        try {
            return Files.write(SCRATCH.resolve(name), bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The rejection must name the file (the reader's contract for error messages). */
    private static void namesFile(Exception e, Path f) {
        assertTrue(e.getMessage() != null && e.getMessage().contains(f.toString()), "message does not name the file: " + e.getMessage());
    }

    /** All five targets in one, chosen by the first byte: what the default build fuzzes for a short time. */
    @FuzzTest(maxDuration = "30s")
    void anyReader(byte[] data) {
        if (data.length == 0) return;
        byte[] rest = Arrays.copyOfRange(data, 1, data.length);
        switch (Math.floorMod(data[0], 5)) {
            case 0 -> safetensors(rest);
            case 1 -> gguf(rest);
            case 2 -> onnx(rest);
            case 3 -> tokenizerJson(rest);
            default -> configJson(rest);
        }
    }

    @FuzzTest(maxDuration = "5m")
    void safetensors(byte[] data) {
        Path f = file("model.safetensors", data);
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            for (SafetensorsEntry e : sf.entries()) {
                if (e.dtype().isFloatingPoint() && e.numel() <= 1 << 16) sf.floats(e.name());
            }
            sf.metadata();
        } catch (SafetensorsFormatException e) {
            namesFile(e, f);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @FuzzTest(maxDuration = "5m")
    void gguf(byte[] data) {
        Path f = file("model.gguf", data);
        try (GgufFile g = GgufFile.open(f)) {
            g.metadata();
            for (var t : g.tensors().values()) if (t.numel() <= 1 << 16) t.toFloatArray();
        } catch (GgufFormatException e) {
            namesFile(e, f);
        }
    }

    @FuzzTest(maxDuration = "5m")
    void onnx(byte[] data) {
        try {
            OnnxModel m = OnnxModelReader.parse(data, "fuzz.onnx");
            m.graph().nodes().size();
        } catch (OnnxFormatException e) {
            assertTrue(e.getMessage().contains("fuzz.onnx"), e.getMessage());
        }
    }

    @FuzzTest(maxDuration = "5m")
    void tokenizerJson(byte[] data) {
        Path f = file("tokenizer.json", data);
        try {
            BpeTokenizer t = HfTokenizerJson.load(f);
            int[] ids = t.encode("Call me Ishmael. Some years ago\u2014never mind how long", true);
            t.decode(ids);
        } catch (TokenizerException e) {
            namesFile(e, f);
        }
    }

    @FuzzTest(maxDuration = "5m")
    void configJson(byte[] data) {
        Path f = file("config.json", data);
        try {
            LlamaConfig c = LlamaConfig.load(f);
            LlamaLayout.of(c).expectedShapes();
        } catch (IllegalArgumentException e) {
            namesFile(e, f);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
