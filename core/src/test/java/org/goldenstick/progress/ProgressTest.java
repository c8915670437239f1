package org.goldenstick.progress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.goldenstick.nn.models.LeNet5;
import org.goldenstick.qat.SimQAT;
import org.goldenstick.qat.SimQATConfig;
import org.junit.jupiter.api.Test;

class ProgressTest {
    @Test
    void formatsDurations() {
        assertEquals("0:05", ProgressPrinter.formatSeconds(5));
        assertEquals("1:15", ProgressPrinter.formatSeconds(75));
        assertEquals("1:02:05", ProgressPrinter.formatSeconds(3725));
    }

    @Test
    void fractionAndEtaFollowTheWorkNotTheStepCount() throws Exception {
        List<ProgressEvent> events = new ArrayList<>();
        ProgressTask t = ProgressTask.start(events::add, "rtn", 100, "tensor");
        t.advance(90, 1, "big layer"); // one step of two, but 90% of the work
        Thread.sleep(20);
        t.advance(5, 1, "small layer");
        t.finish("");
        assertInstanceOf(ProgressEvent.Started.class, events.get(0));
        var first = (ProgressEvent.Advanced) events.get(1);
        assertEquals(0.9, first.fraction(), 1e-12);
        assertEquals(first.elapsedSeconds() / 90 * 10, first.etaSeconds(), 1e-9, "ETA from work done: elapsed / 90 * 10 left");
        var second = (ProgressEvent.Advanced) events.get(2);
        assertEquals(0.95, second.fraction(), 1e-12);
        assertEquals(2, second.items());
        assertEquals(second.items() / second.elapsedSeconds(), second.itemsPerSecond(), 1e-6 * second.itemsPerSecond());
        assertInstanceOf(ProgressEvent.Finished.class, events.get(3));
    }

    @Test
    void concurrentAdvancesAddUpExactly() throws Exception {
        List<ProgressEvent> events = java.util.Collections.synchronizedList(new ArrayList<>());
        ProgressTask t = ProgressTask.start(events::add, "par", 4000, "x");
        Thread[] ts = new Thread[4];
        for (int i = 0; i < ts.length; i++) {
            ts[i] = new Thread(() -> {
                for (int k = 0; k < 1000; k++) t.advance(1, 1, "");
            });
            ts[i].start();
        }
        for (Thread th : ts) th.join();
        double max = events.stream().filter(e -> e instanceof ProgressEvent.Advanced).mapToDouble(e -> ((ProgressEvent.Advanced) e).work()).max().orElse(0);
        assertEquals(4000, max, 0);
    }

    private static String render(ProgressPrinter.Style style, long intervalMillis, java.util.function.Consumer<ProgressListener> work) {
        var buf = new ByteArrayOutputStream();
        work.accept(new ProgressPrinter(style, new PrintStream(buf, true, StandardCharsets.UTF_8), intervalMillis));
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Test
    void linesStylePrintsOnlyTheFinalLineWithinTheInterval() {
        String out = render(ProgressPrinter.Style.LINES, 10_000, p -> {
            ProgressTask t = ProgressTask.start(p, "epoch 1/2", 3, "img");
            for (int i = 0; i < 3; i++) t.advance(1, 32, "loss 0.5");
            t.finish("loss 0.1");
        });
        assertEquals(1, out.lines().count(), out);
        assertTrue(out.startsWith("epoch 1/2 done: 96 img in 0:00, ") && out.contains("img/s") && out.strip().endsWith("loss 0.1"), out);
    }

    @Test
    void barStyleRedrawsInPlaceAndMessagesClearTheBar() {
        String out = render(ProgressPrinter.Style.BAR, 0, p -> {
            ProgressTask t = ProgressTask.start(p, "eval", 4, "tok");
            t.advance(1, 128, "ppl 9.1");
            p.message("a log line");
            t.advance(1, 128, "ppl 9.0");
            t.finish("ppl 9.0");
        });
        assertTrue(out.startsWith("\reval [======                  ]  25% 128 tok "), out);
        assertTrue(out.contains("ETA") && out.contains("ppl 9.1"), out);
        assertTrue(out.contains("\r\u001b[Ka log line\n"), "the message replaces the drawn bar line: " + out);
        assertTrue(out.endsWith("ppl 9.0\u001b[K\n"), out);
    }

    @Test
    void libraryAlgorithmsPrintNothingByDefault() {
        PrintStream saved = System.err;
        var buf = new ByteArrayOutputStream();
        try {
            System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
            SimQAT algo = new SimQAT(SimQATConfig.defaults());
            algo.apply(new LeNet5(1, 8, 10, new Random(1)));
            assertTrue(algo.report().table().contains("Conv2d") || !algo.report().table().isEmpty(), "the report is kept for whoever asks");
        } finally {
            System.setErr(saved);
        }
        assertFalse(buf.size() > 0, "stderr: " + buf.toString(StandardCharsets.UTF_8));
    }
}
