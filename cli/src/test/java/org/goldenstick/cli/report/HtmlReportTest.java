package org.goldenstick.cli.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The page and its PNGs (the browser check is scripts/check-report.sh, run by CI). */
class HtmlReportTest {
    @TempDir
    Path tmp;

    @Test
    void writesThePageAndOneDecodablePngPerChart() throws Exception {
        Path dir = tmp.resolve("report");
        Path index = new HtmlReport("a <title> & more")
                .facts("Result", Map.of("accuracy", "98 %", "loss", Double.NaN))
                .lineChart("loss", "Loss", "epoch", "loss", Map.of("train", new double[][] {{1, 2, 3}, {1.0, Double.NaN, 0.2}}))
                .barChart("size", "Size", "kB", List.of("before", "after"), Map.of("size", new double[] {100, 25}))
                .write(dir);
        assertEquals(dir.resolve("index.html"), index);
        String html = Files.readString(index);
        assertTrue(html.contains("<title>a &lt;title&gt; &amp; more</title>"), html);
        assertTrue(html.contains("<img src=\"loss.png\"") && html.contains("<img src=\"size.png\""), html);
        assertTrue(html.contains("<td>loss</td><td>n/a</td>"), "NaN shown as n/a: " + html);
        for (String png : List.of("loss.png", "size.png")) {
            byte[] head = Files.readAllBytes(dir.resolve(png));
            assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, java.util.Arrays.copyOf(head, 4), png);
            BufferedImage img = ImageIO.read(dir.resolve(png).toFile());
            assertEquals(720, img.getWidth(), png);
            assertEquals(400, img.getHeight(), png);
        }
        try (var files = Files.list(tmp)) {
            assertEquals(List.of(dir), files.toList(), "no temporary folder left next to the report");
        }
    }

    @Test
    void refusesAnExistingFolderAndBadChartNames() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("exists"));
        var e = assertThrows(IllegalArgumentException.class, () -> new HtmlReport("t").note("x").write(dir));
        assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new HtmlReport("t").barChart("../evil", "t", "y", List.of("a"), Map.of("s", new double[] {1})));
        var mismatch = assertThrows(IllegalArgumentException.class, () -> new HtmlReport("t").barChart("ok", "t", "y", List.of("a", "b"), Map.of("s", new double[] {1})));
        assertTrue(mismatch.getMessage().contains("'s'") && mismatch.getMessage().contains("1 values for 2 categories"), mismatch.getMessage());
        assertFalse(Files.exists(tmp.resolve("evil")));
    }
}
