package org.goldenstick.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.goldenstick.data.ImageFolder;
import org.goldenstick.train.Recipes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gstick ptq} for CNNs on the digits: the built-in set and the same images as PNG class folders ({@code --data},
 * {@code --calib DIR}), with accuracy control; JSON keys as documented; the int8 export agrees with ONNX Runtime; bad
 * image folders fail before any work, naming the folder or file, and write nothing; the encoder kind's options are kept
 * apart.
 */
class CnnPtqCommandTest {
    @TempDir
    Path dir;

    @Test
    void builtInDigitsWithEveryKeyDocumented() throws Exception {
        Path out = dir.resolve("ptq");
        String stdout = CliRunner.stdout("ptq", "--model", "lenet", "--epochs", "6", "--calibration", "entropy", "--out", out.toString(), "--json");
        JsonOutputTest.checkKeys(JsonOutputTest.documentedKeys(), "ptq --model", stdout);
        JsonNode j = new ObjectMapper().readTree(stdout);
        assertEquals("ptq", j.get("algo").asText());
        assertEquals("entropy", j.get("calibration").asText());
        assertEquals(300, j.get("calibration_samples").asInt());
        assertTrue(j.get("onnx_agreement").asDouble() >= 0.99, j.toString());
        assertTrue(j.get("accuracy_drop_points").asDouble() <= 2.0, j.toString());
        assertTrue(j.get("compressed_bytes").asLong() < 0.35 * j.get("fp32_bytes").asLong(), j.toString());
        assertEquals(5, j.get("layers").size(), j.toString());
        assertTrue(Files.isRegularFile(Path.of(j.get("onnx").asText())));
        assertTrue(Files.isRegularFile(Path.of(j.get("fp32_checkpoint").asText())));
    }

    @Test
    void imageFoldersWithAccuracyControl() throws Exception {
        Path png = digitsAsPng();
        Path calib = dir.resolve("calib");
        // flat calibration folder: 40 training images
        Files.createDirectories(calib);
        int n = 0;
        for (Path c : sorted(png.resolve("train"))) {
            for (Path f : sorted(c)) {
                if (n++ % 30 == 0) Files.copy(f, calib.resolve(c.getFileName() + "-" + f.getFileName()));
            }
        }
        Path out = dir.resolve("ptq-png");
        JsonNode j = CliRunner.json("ptq", "--data", png.toString(), "--calib", calib.toString(), "--epochs", "6", "--max-drop", "0.5",
                "--val-samples", "300", "--out", out.toString(), "--json");
        assertEquals("digits-png", j.get("dataset").asText());
        assertEquals(0.5, j.get("max_drop_points").asDouble());
        assertEquals(300, j.get("validation_samples").asInt());
        assertTrue(j.get("calibration_samples").asInt() >= 40, j.toString());
        assertTrue(j.get("drop_met").asBoolean(), j.toString());
        assertTrue(j.get("validation_accuracy").asDouble() >= j.get("validation_fp32_accuracy").asDouble() - 0.005 - 1e-9, j.toString());
        assertTrue(j.get("onnx_agreement").asDouble() >= 0.99, j.toString());
    }

    @Test
    void badImageFoldersFailBeforeAnyWorkAndWriteNothing() throws Exception {
        Path png = digitsAsPng();
        Path out = dir.resolve("never");
        Files.createDirectories(png.resolve("train").resolve("99-empty"));
        Files.createDirectories(png.resolve("test").resolve("99-empty"));
        String err = CliRunner.failure("ptq", "--data", png.toString(), "--out", out.toString());
        assertTrue(err.contains("99-empty") && err.contains("no PNG or JPEG"), err);
        Files.delete(png.resolve("train").resolve("99-empty"));
        Files.delete(png.resolve("test").resolve("99-empty"));
        Path broken = png.resolve("test").resolve("3").resolve("broken.png");
        Files.writeString(broken, "not a png");
        err = CliRunner.failure("ptq", "--data", png.toString(), "--out", out.toString());
        assertTrue(err.contains("broken.png"), err);
        Files.delete(broken);
        err = CliRunner.failure("ptq", "--data", png.toString(), "--calibration", "kl", "--out", out.toString());
        assertTrue(err.contains("unknown activation calibration 'kl'"), err);
        err = CliRunner.failure("ptq", "--model", "lenet", "--method", "int8-static", "--out", out.toString());
        assertTrue(err.contains("--tokenizer"), err);
        err = CliRunner.failure("ptq", "--model", "lenet", "--grayscale", "--out", out.toString());
        assertTrue(err.contains("--grayscale"), err);
        assertFalse(Files.exists(out));
    }

    /** The digits (8×8 grey) written as PNG class folders train/ and test/ by the recipe's split. */
    private Path digitsAsPng() throws Exception {
        Path root = dir.resolve("digits-png");
        if (Files.isDirectory(root)) return root;
        Recipes.Data d = Recipes.data(Recipes.Spec.defaults("lenet", "digits"));
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 10; i++) names.add(Integer.toString(i));
        ImageFolder.writePngs(d.train(), root.resolve("train"), names);
        ImageFolder.writePngs(d.test(), root.resolve("test"), names);
        return root;
    }

    private static List<Path> sorted(Path d) throws Exception {
        try (var s = Files.list(d)) {
            return s.sorted().toList();
        }
    }
}
