package org.goldenstick.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.goldenstick.formats.onnx.OnnxDataType;
import org.goldenstick.formats.onnx.OnnxModelWriter;
import org.goldenstick.nn.models.LeNet5;
import org.goldenstick.quant.OnnxQdqExporter;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gstick train|qat|prune --onnx FILE}: a CNN given as ONNX (here a LeNet-5 written by our exporter, then trained
 * through {@code train --onnx}) in place of {@code --model}; the compressed network is written as safetensors and ONNX
 * (QDQ for int8) and checked in ONNX Runtime; bad files fail before any work, writing nothing.
 */
class OnnxInputCommandsTest {
    @TempDir
    Path dir;

    Path untrained;

    @BeforeEach
    void writeOnnx() throws Exception {
        untrained = dir.resolve("lenet-digits.onnx");
        OnnxQdqExporter.export(new LeNet5(1, 8, 10, new Random(1)), new int[] {1, 8, 8}, untrained);
    }

    @Test
    void trainQatAndPruneTakeAnOnnxNetwork() throws Exception {
        Path weights = dir.resolve("trained.safetensors");
        JsonNode t = CliRunner.json("train", "--onnx", untrained.toString(), "--dataset", "digits", "--epochs", "8", "--out", weights.toString(), "--json");
        assertEquals("lenet-digits", t.get("model").asText(), t.toString());
        assertTrue(t.get("accuracy").asDouble() > 0.85, "the imported network trains: " + t);
        Path trained = Path.of(t.get("onnx").asText());
        assertEquals(dir.resolve("trained.onnx"), trained);
        assertTrue(Files.exists(weights) && Files.exists(trained));

        JsonNode q = CliRunner.json("qat", "--onnx", trained.toString(), "--dataset", "digits", "--qat-epochs", "2", "--bench-seconds", "0",
                "--out", dir.resolve("qat").toString(), "--json");
        assertEquals("trained", q.get("model").asText());
        assertEquals(0, q.get("epochs").asInt(), "no FP32 training: " + q);
        assertEquals(t.get("accuracy").asDouble(), q.get("fp32_accuracy").asDouble(), 1e-9, "the FP32 network is the file's, not retrained: " + q);
        assertTrue(q.get("compressed_accuracy").asDouble() > q.get("fp32_accuracy").asDouble() - 0.03, q.toString());
        assertTrue(q.get("onnx_agreement").asDouble() >= 0.99, q.toString());
        assertTrue(q.get("compressed_bytes").asLong() < q.get("fp32_bytes").asLong() / 2, q.toString());
        assertTrue(q.get("onnx").asText().endsWith("trained-digits-simqat-w8a8.onnx"), q.toString());
        assertTrue(Files.exists(Path.of(q.get("out").asText())));

        JsonNode p = CliRunner.json("prune", "--onnx", trained.toString(), "--dataset", "digits", "--kf-epochs", "1", "--ft-epochs", "2",
                "--prune-rate", "0.45", "--bench-seconds", "0", "--out", dir.resolve("prune").toString(), "--json");
        assertEquals(t.get("accuracy").asDouble(), p.get("fp32_accuracy").asDouble(), 1e-9, p.toString());
        assertTrue(p.get("macs_after").asLong() < 0.7 * p.get("macs_before").asLong(), p.toString());
        assertTrue(p.get("onnx_agreement").asDouble() >= 0.99, p.toString());
        assertTrue(Files.exists(Path.of(p.get("out").asText())) && Files.exists(Path.of(p.get("onnx").asText())));
    }

    @Test
    void badOnnxInputFailsBeforeAnyWorkAndWritesNothing() throws Exception {
        byte[] all = Files.readAllBytes(untrained);
        Path cut = dir.resolve("cut.onnx");
        Files.write(cut, Arrays.copyOf(all, all.length - 100));
        Path out = dir.resolve("out");
        String err = CliRunner.failure("prune", "--onnx", cut.toString(), "--dataset", "digits", "--out", out.toString());
        assertTrue(err.contains(cut.toString()) && err.contains("byte offset"), err);

        OnnxModelWriter w = new OnnxModelWriter("erf").opset("", 17);
        w.addInput("x", OnnxDataType.FLOAT, "N", 1, 8, 8);
        w.addNode("odd", "Erf", "", List.of("x"), List.of("y"));
        w.addOutput("y", OnnxDataType.FLOAT, "N", 1, 8, 8);
        Path erf = dir.resolve("erf.onnx");
        w.write(erf);
        err = CliRunner.failure("qat", "--onnx", erf.toString(), "--dataset", "digits", "--out", out.toString());
        assertTrue(err.contains("node 'odd' (Erf)") && err.contains("not supported"), err);

        err = CliRunner.failure("train", "--onnx", untrained.toString(), "--model", "resnet8", "--dataset", "digits");
        assertTrue(err.contains("--onnx and --model"), err);
        err = CliRunner.failure("train", "--onnx", untrained.toString(), "--dataset", "fashion-mnist", "--limit-train", "10", "--limit-test", "10");
        assertTrue(err.contains("[1, 8, 8]") && err.contains("[1, 28, 28]"), err);
        assertFalse(Files.exists(out), "nothing written");
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(3, s.count(), "only the test's own files: " + dir);
        }
    }
}
