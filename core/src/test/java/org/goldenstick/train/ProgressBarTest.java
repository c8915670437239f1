package org.goldenstick.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ProgressBarTest {
    @Test
    void formatsDurations() {
        assertEquals("0:05", ProgressBar.formatSeconds(5));
        assertEquals("1:15", ProgressBar.formatSeconds(75));
        assertEquals("1:02:05", ProgressBar.formatSeconds(3725));
    }

    @Test
    void linesStylePrintsFinalLineWithRate() {
        var buf = new ByteArrayOutputStream();
        var bar = new ProgressBar(ProgressBar.Style.LINES, new PrintStream(buf, true, StandardCharsets.UTF_8), 10_000);
        bar.start("epoch 1/2", 3, "img");
        for (int i = 0; i < 3; i++) bar.advance(32, "");
        bar.finish("loss 0.1");
        String out = buf.toString(StandardCharsets.UTF_8);
        assertTrue(out.startsWith("epoch 1/2 3/3 "), out);
        assertTrue(out.contains("img/s") && out.contains("loss 0.1"), out);
        assertEquals(1, out.lines().count(), "the 10 s interval suppresses intermediate lines: " + out);
    }

    @Test
    void quietPrintsNothing() {
        var buf = new ByteArrayOutputStream();
        var bar = new ProgressBar(ProgressBar.Style.QUIET, new PrintStream(buf), 0);
        bar.start("x", 2, "it");
        bar.advance(1, "");
        bar.finish("");
        assertEquals(0, buf.size());
    }

    @Test
    void etaShownWhileRunning() {
        var bar = new ProgressBar(ProgressBar.Style.LINES, new PrintStream(new ByteArrayOutputStream()), 10_000);
        bar.start("e", 10, "img");
        bar.advance(1, "");
        assertTrue(bar.line(System.nanoTime(), "").contains("ETA"));
    }
}
