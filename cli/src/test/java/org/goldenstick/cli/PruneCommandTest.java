package org.goldenstick.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PruneCommandTest {
    @TempDir
    Path dir;

    @Test
    void jsonReportsAccuracyParamsFlopsSpeedAndOnnxRuntimeAgreement() throws Exception {
        JsonNode j = CliRunner.json("prune", "--algo", "scop", "--model", "lenet", "--dataset", "digits", "--epochs", "6", "--kf-epochs", "1",
                "--ft-epochs", "2", "--prune-rate", "0.45", "--bench-seconds", "0.2", "--out", dir.toString(), "--json");
        for (String k : new String[] {"fp32_accuracy", "compressed_accuracy", "params_before", "params_after", "macs_before", "macs_after",
                "fp32_images_per_second", "compressed_images_per_second", "onnx", "onnx_runtime_accuracy", "onnx_agreement"}) {
            assertTrue(j.has(k), "missing " + k + " in " + j);
        }
        assertTrue(j.get("params_after").asLong() < j.get("params_before").asLong(), j.toString());
        assertTrue(j.get("macs_after").asLong() < 0.7 * j.get("macs_before").asLong(), j.toString());
        assertTrue(j.get("compressed_accuracy").asDouble() > 0.5, j.toString());
        assertTrue(j.get("compressed_images_per_second").asDouble() > 0, j.toString());
        assertTrue(Files.exists(Path.of(j.get("out").asText())));
        assertTrue(Files.exists(Path.of(j.get("onnx").asText())));
        assertTrue(j.get("onnx_agreement").asDouble() >= 0.99, "ONNX Runtime agrees with our pruned network: " + j);
    }

    @Test
    void badPruneRateFailsBeforeTraining() {
        String err = CliRunner.failure("prune", "--prune-rate", "1.0", "--out", dir.toString());
        assertTrue(err.contains("prune_rate"), err);
        err = CliRunner.failure("prune", "--algo", "l1", "--out", dir.toString());
        assertTrue(err.contains("unknown --algo 'l1'"), err);
        assertFalse(Files.exists(dir.resolve("resnet20-digits-fp32.safetensors")), "no training happened");
    }
}
