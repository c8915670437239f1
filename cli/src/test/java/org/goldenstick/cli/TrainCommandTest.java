package org.goldenstick.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainCommandTest {
    @TempDir
    Path dir;

    private static String run(String... args) {
        PrintStream saved = System.out;
        var buf = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            int code = Main.commandLine().execute(args);
            assertEquals(0, code, "exit code");
        } finally {
            System.setOut(saved);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Test
    void jsonModePrintsExactlyOneObjectAndWritesWeights() throws Exception {
        Path out = dir.resolve("w.safetensors");
        String stdout = run("train", "--json", "--epochs", "10", "--limit-train", "400", "--seed", "3", "--out", out.toString());
        assertEquals(1, stdout.strip().lines().count(), stdout);
        JsonNode j = new ObjectMapper().readTree(stdout);
        for (String k : new String[] {"test_accuracy", "train_seconds", "params", "images_per_second", "epochs", "model", "dataset"}) {
            assertTrue(j.has(k), "missing " + k + " in " + stdout);
        }
        assertEquals("lenet", j.get("model").asText());
        assertEquals("digits", j.get("dataset").asText());
        assertEquals(10, j.get("epochs").asInt());
        assertEquals(400, j.get("train_samples").asInt());
        assertEquals(21_386, j.get("params").asLong());
        double acc = j.get("test_accuracy").asDouble();
        assertTrue(acc > 0.5 && acc <= 1, "ten short epochs are far above chance: " + acc);
        assertTrue(Files.size(out) > 21_386 * 4);
    }

    @Test
    void unknownModelIsAClearError() {
        var err = new ByteArrayOutputStream();
        var cl = Main.commandLine();
        cl.setErr(new java.io.PrintWriter(err, true));
        int code = cl.execute("train", "--model", "vgg16", "--epochs", "1");
        assertNotEquals(0, code);
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("unknown model 'vgg16'"), err.toString(StandardCharsets.UTF_8));
    }
}
