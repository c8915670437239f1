package org.goldenstick.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.formats.safetensors.SafetensorsFile;
import org.goldenstick.nn.models.LeNet5;
import org.goldenstick.nn.models.ResNet;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointsTest {
    @TempDir
    Path dir;

    @Test
    void saveAndLoadRoundTripsStateAndMetadata() throws IOException {
        ResNet a = ResNet.resnet8(1, 10, 4, new Random(0));
        a.forward(Tensor.randn(new Random(1), 4, 1, 8, 8));
        a.forward(Tensor.randn(new Random(2), 4, 1, 8, 8));
        Path file = dir.resolve("r8.safetensors");
        Checkpoints.save(a, file, Map.of("model", "resnet8", "note", "test"));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary file is left behind");
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(DType.I64, f.entry("bn1.num_batches_tracked").dtype());
            assertEquals(0, f.entry("bn1.num_batches_tracked").shape().length);
            assertEquals(DType.F32, f.entry("layer1.0.conv1.weight").dtype());
            assertEquals(a.stateDict().size(), f.names().size());
        }
        ResNet b = ResNet.resnet8(1, 10, 4, new Random(7));
        Map<String, String> meta = Checkpoints.load(b, file);
        assertEquals("resnet8", meta.get("model"));
        assertEquals(2f, b.module("bn1").buffer("num_batches_tracked").item());
        for (var e : a.stateDict().entrySet()) assertArrayEquals(e.getValue().data(), b.stateDict().get(e.getKey()).data(), e.getKey());
    }

    @Test
    void loadingIntoTheWrongModelNamesFileAndKey() throws IOException {
        Path file = dir.resolve("lenet.safetensors");
        Checkpoints.save(new LeNet5(1, 8, 10, new Random(0)), file, Map.of());
        var ex = assertThrows(IllegalArgumentException.class, () -> Checkpoints.load(new LeNet5(1, 28, 10, new Random(0)), file));
        assertTrue(ex.getMessage().contains("lenet.safetensors") && ex.getMessage().contains("fc1.weight"), ex.getMessage());
        var ex2 = assertThrows(IllegalArgumentException.class, () -> Checkpoints.load(ResNet.resnet8(1, 10, 4, new Random(0)), file));
        assertTrue(ex2.getMessage().contains("missing keys"), ex2.getMessage());
    }
}
