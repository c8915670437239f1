package org.goldenstick.train;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A progress line on stderr with rate and ETA.
 *
 * <p>Three styles: {@link Style#BAR} redraws one line in place (an interactive terminal), {@link Style#LINES}
 * prints a full line at most every {@code interval} (logs and CI, so long runs still show life), and
 * {@link Style#QUIET} prints nothing (e.g. under {@code --json}). {@link #auto(boolean)} picks BAR on a
 * terminal and LINES otherwise.
 *
 * <pre>{@code
 * var bar = ProgressBar.auto(json).start("epoch 1/10", steps, "img");
 * for (...) bar.advance(batchSize, "loss 0.31");
 * bar.finish("loss 0.29");
 * }</pre>
 */
public final class ProgressBar {
    public enum Style { BAR, LINES, QUIET }

    private static final long BAR_REDRAW_NANOS = 100_000_000L;

    private final Style style;
    private final PrintStream out;
    private final long intervalNanos;
    private String label = "";
    private long total;
    private long done;
    private long items;
    private String unit = "it";
    private long startNanos;
    private long lastPrintNanos;

    public ProgressBar(Style style, PrintStream out, long intervalMillis) {
        this.style = style;
        this.out = out;
        this.intervalNanos = intervalMillis * 1_000_000L;
    }

    /** BAR on an interactive terminal, LINES every 10 s otherwise, QUIET when {@code quiet}. */
    public static ProgressBar auto(boolean quiet) {
        if (quiet) return new ProgressBar(Style.QUIET, System.err, 0);
        var console = System.console();
        boolean tty = console != null && console.isTerminal();
        return new ProgressBar(tty ? Style.BAR : Style.LINES, System.err, 10_000);
    }

    public Style style() {
        return style;
    }

    /** Begins a phase of {@code total} steps; {@code unit} names what {@link #advance(long, String)} counts. */
    public ProgressBar start(String label, long total, String unit) {
        this.label = label;
        this.total = total;
        this.unit = unit;
        this.done = 0;
        this.items = 0;
        this.startNanos = System.nanoTime();
        this.lastPrintNanos = startNanos;
        return this;
    }

    /** One step done, covering {@code items} units (e.g. images); {@code status} is appended (may be empty). */
    public void advance(long items, String status) {
        done++;
        this.items += items;
        long now = System.nanoTime();
        if (style == Style.BAR && now - lastPrintNanos >= BAR_REDRAW_NANOS) {
            out.print("\r" + line(now, status) + "\u001b[K");
            out.flush();
            lastPrintNanos = now;
        } else if (style == Style.LINES && done != total && now - lastPrintNanos >= intervalNanos) {
            // The last step is left to finish(), which prints the summary line.
            out.println(line(now, status));
            lastPrintNanos = now;
        }
    }

    /** Ends the phase with a final line. */
    public void finish(String status) {
        if (style == Style.QUIET) return;
        String l = line(System.nanoTime(), status);
        if (style == Style.BAR) out.print("\r" + l + "\u001b[K\n");
        else out.println(l);
        out.flush();
    }

    /** Seconds since {@link #start}. */
    public double elapsedSeconds() {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    String line(long now, String status) {
        double secs = Math.max(1e-9, (now - startNanos) / 1e9);
        double rate = items / secs;
        StringBuilder sb = new StringBuilder(label).append(' ');
        if (style == Style.BAR && total > 0) {
            int width = 24, filled = (int) Math.min(width, width * done / total);
            sb.append('[').append("=".repeat(filled)).append(" ".repeat(width - filled)).append("] ");
        }
        sb.append(done).append('/').append(total);
        sb.append(String.format(Locale.ROOT, " %.0f %s/s", rate, unit));
        if (done < total && done > 0) sb.append(" ETA ").append(formatSeconds(secs / done * (total - done)));
        else sb.append(" ").append(formatSeconds(secs));
        if (status != null && !status.isEmpty()) sb.append("  ").append(status);
        return sb.toString();
    }

    /** {@code 75} → {@code "1:15"}, {@code 3725} → {@code "1:02:05"}. */
    public static String formatSeconds(double seconds) {
        long s = Math.round(seconds);
        if (s >= 3600) return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
        return String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
