package org.goldenstick.ptq;

import java.io.PrintStream;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A per-layer progress bar with ETA on stderr, redrawn at most every 200 ms; thread-safe. Silent when
 * {@code -Dgstick.quiet=true} (tests set it).
 */
final class Progress {
    private final String label;
    private final int total;
    private final long start = System.nanoTime();
    private final AtomicInteger done = new AtomicInteger();
    private final PrintStream out;
    private volatile long lastDraw;

    Progress(String label, int total) {
        this.label = label;
        this.total = Math.max(1, total);
        this.out = Boolean.getBoolean("gstick.quiet") ? null : System.err;
    }

    void step(String item) {
        int d = done.incrementAndGet();
        long now = System.nanoTime();
        if (out == null || (d < total && now - lastDraw < 200_000_000L)) return;
        lastDraw = now;
        double el = (now - start) / 1e9;
        double eta = d == 0 ? 0 : el / d * (total - d);
        int w = 30, fill = (int) ((long) w * d / total);
        String bar = "=".repeat(fill) + (fill < w ? ">" + " ".repeat(w - fill - 1) : "");
        synchronized (out) {
            out.printf("\r%s [%s] %d/%d  %.1fs elapsed, ETA %.1fs  %-48s", label, bar, d, total, el, eta, shorten(item));
            if (d == total) out.println();
            out.flush();
        }
    }

    private static String shorten(String s) {
        return s.length() <= 48 ? s : "…" + s.substring(s.length() - 47);
    }
}
