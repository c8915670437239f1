package org.goldenstick.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainCommandTest {
    @TempDir
    Path dir;

    @Test
    void jsonModePrintsExactlyOneObjectAndWritesWeights() throws Exception {
        Path out = dir.resolve("w.safetensors");
        JsonNode j = CliRunner.json("train", "--json", "--epochs", "10", "--limit-train", "400", "--seed", "3", "--out", out.toString());
        for (String k : new String[] {"accuracy", "train_seconds", "params", "images_per_second", "epochs", "model", "dataset"}) {
            assertTrue(j.has(k), "missing " + k + " in " + j);
        }
        assertEquals("lenet", j.get("model").asText());
        assertEquals("digits", j.get("dataset").asText());
        assertEquals(10, j.get("epochs").asInt());
        assertEquals(400, j.get("train_samples").asInt());
        assertEquals(21_386, j.get("params").asLong());
        double acc = j.get("accuracy").asDouble();
        assertTrue(acc > 0.5 && acc <= 1, "ten short epochs are far above chance: " + acc);
        assertTrue(Files.size(out) > 21_386 * 4);
    }

    @Test
    void unknownModelIsAClearError() {
        String err = CliRunner.failure("train", "--model", "vgg16", "--epochs", "1");
        assertTrue(err.contains("unknown model 'vgg16'"), err);
    }
}
