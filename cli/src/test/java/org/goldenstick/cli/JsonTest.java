package org.goldenstick.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class JsonTest {
    record Out(double accuracy, Float loss, Double speed, Path out) {}

    @Test
    void writesSnakeCaseFiniteNumbersAndPaths() {
        assertEquals("{\"accuracy\":0.5,\"loss\":0.25,\"speed\":null,\"out\":\"runs/a.safetensors\"}",
                Json.write(new Out(0.5, 0.25f, null, Path.of("runs/a.safetensors"))));
    }

    @Test
    void refusesNanAndInfinity() {
        var e = assertThrows(IllegalStateException.class, () -> Json.write(new Out(Double.NaN, 1f, 1.0, Path.of("x"))));
        assertTrue(e.getMessage().contains("non-finite"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> Json.write(new Out(1, Float.POSITIVE_INFINITY, 1.0, Path.of("x"))));
        assertThrows(IllegalStateException.class, () -> Json.write(new Out(1, 1f, Double.NEGATIVE_INFINITY, Path.of("x"))));
    }
}
