package org.goldenstick.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QatCommandTest {
    @TempDir
    Path dir;

    @Test
    void jsonReportsAccuraciesSizesOnnxRuntimeAndSpeed() throws Exception {
        JsonNode j = CliRunner.json("qat", "--algo", "simqat", "--model", "lenet", "--dataset", "digits", "--epochs", "6",
                "--qat-epochs", "1", "--limit-train", "600", "--bench-seconds", "0.2", "--out", dir.toString(), "--json");
        for (String k : new String[] {"fp32_accuracy", "compressed_accuracy", "fp32_bytes", "compressed_bytes", "onnx", "onnx_runtime_accuracy", "onnx_agreement",
                "fp32_images_per_second", "compressed_images_per_second"}) {
            assertTrue(j.has(k), "missing " + k + " in " + j);
        }
        assertTrue(Files.exists(Path.of(j.get("onnx").asText())));
        assertTrue(j.get("compressed_bytes").asLong() < j.get("fp32_bytes").asLong() * 0.35);
        assertTrue(j.get("onnx_agreement").asDouble() >= 0.99, j.toString());
        assertTrue(j.get("compressed_accuracy").asDouble() > 0.5, j.toString());
        assertTrue(j.get("compressed_images_per_second").asDouble() > 0);
    }

    @Test
    void unknownAlgorithmAndBadConfigFailBeforeTraining() {
        String err = CliRunner.failure("qat", "--algo", "lsq", "--out", dir.toString());
        assertTrue(err.contains("unknown --algo 'lsq'"), err);
        err = CliRunner.failure("qat", "--quant-delay", "-3", "--out", dir.toString());
        assertTrue(err.contains("quant_delay"), err);
        assertFalse(Files.exists(dir.resolve("lenet-digits-fp32.safetensors")), "no training happened");
    }
}
