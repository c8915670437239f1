package org.goldenstick.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QatCommandTest {
    @TempDir
    Path dir;

    @Test
    void jsonReportsAccuraciesSizesOnnxRuntimeAndSpeed() throws Exception {
        PrintStream saved = System.out;
        var buf = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            int code = Main.commandLine().execute("qat", "--algo", "simqat", "--model", "lenet", "--dataset", "digits", "--epochs", "6",
                    "--qat-epochs", "1", "--limit-train", "600", "--bench-seconds", "0.2", "--out", dir.toString(), "--json");
            assertEquals(0, code);
        } finally {
            System.setOut(saved);
        }
        String stdout = buf.toString(StandardCharsets.UTF_8);
        assertEquals(1, stdout.strip().lines().count(), stdout);
        JsonNode j = new ObjectMapper().readTree(stdout);
        for (String k : new String[] {"fp32_accuracy", "quant_accuracy", "fp32_bytes", "deploy_bytes", "onnx_path", "onnx_runtime_accuracy", "onnx_agreement",
                "fp32_images_per_second", "int8_images_per_second"}) {
            assertTrue(j.has(k), "missing " + k + " in " + stdout);
        }
        assertTrue(Files.exists(Path.of(j.get("onnx_path").asText())));
        assertTrue(j.get("deploy_bytes").asLong() < j.get("fp32_bytes").asLong() * 0.35);
        assertTrue(j.get("onnx_agreement").asDouble() >= 0.99, stdout);
        assertTrue(j.get("quant_accuracy").asDouble() > 0.5, stdout);
        assertTrue(j.get("int8_images_per_second").asDouble() > 0);
    }

    @Test
    void unknownAlgorithmAndBadConfigFailBeforeTraining() {
        var err = new ByteArrayOutputStream();
        var cl = Main.commandLine();
        cl.setErr(new java.io.PrintWriter(err, true));
        assertNotEquals(0, cl.execute("qat", "--algo", "lsq", "--out", dir.toString()));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("unknown --algo 'lsq'"), err.toString(StandardCharsets.UTF_8));
        assertNotEquals(0, cl.execute("qat", "--quant-delay", "-3", "--out", dir.toString()));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("quant_delay"), err.toString(StandardCharsets.UTF_8));
        assertFalse(Files.exists(dir.resolve("lenet-digits-fp32.safetensors")), "no training happened");
    }
}
