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

class PruneCommandTest {
    @TempDir
    Path dir;

    @Test
    void jsonReportsAccuracyParamsFlopsAndSpeed() throws Exception {
        PrintStream saved = System.out;
        var buf = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            int code = Main.commandLine().execute("prune", "--algo", "scop", "--model", "lenet", "--dataset", "digits", "--epochs", "6", "--kf-epochs", "1",
                    "--ft-epochs", "2", "--prune-rate", "0.45", "--bench-seconds", "0.2", "--out", dir.toString(), "--json");
            assertEquals(0, code);
        } finally {
            System.setOut(saved);
        }
        String stdout = buf.toString(StandardCharsets.UTF_8);
        assertEquals(1, stdout.strip().lines().count(), stdout);
        JsonNode j = new ObjectMapper().readTree(stdout);
        for (String k : new String[] {"fp32_accuracy", "pruned_accuracy", "params_before", "params_after", "flops_before", "flops_after",
                "images_per_second_before", "images_per_second_after"}) {
            assertTrue(j.has(k), "missing " + k + " in " + stdout);
        }
        assertTrue(j.get("params_after").asLong() < j.get("params_before").asLong(), stdout);
        assertTrue(j.get("flops_after").asLong() < 0.7 * j.get("flops_before").asLong(), stdout);
        assertTrue(j.get("pruned_accuracy").asDouble() > 0.5, stdout);
        assertTrue(j.get("images_per_second_after").asDouble() > 0, stdout);
        assertTrue(Files.exists(Path.of(j.get("pruned_path").asText())));
    }

    @Test
    void badPruneRateFailsBeforeTraining() {
        var err = new ByteArrayOutputStream();
        var cl = Main.commandLine();
        cl.setErr(new java.io.PrintWriter(err, true));
        assertNotEquals(0, cl.execute("prune", "--prune-rate", "1.0", "--out", dir.toString()));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("prune_rate"), err.toString(StandardCharsets.UTF_8));
        assertNotEquals(0, cl.execute("prune", "--algo", "l1", "--out", dir.toString()));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("unknown --algo 'l1'"), err.toString(StandardCharsets.UTF_8));
        assertFalse(Files.exists(dir.resolve("resnet20-digits-fp32.safetensors")), "no training happened");
    }
}
