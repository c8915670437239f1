package org.goldenstick.progress;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Renders progress events as text, in the one style of the project: {@code label [bar] percent, items, rate, ETA,
 * status}. {@link Style#BAR} redraws one line in place (an interactive terminal, at most every 100 ms);
 * {@link Style#LINES} prints a full line at most every {@code interval} (logs and CI, so long runs still show
 * life), plus the final line of each task. Messages print on their own line in both styles.
 *
 * <pre>{@code
 * ProgressListener p = new ProgressPrinter(ProgressPrinter.Style.LINES, System.err, 10_000);
 * Recipes.train(spec, model, data, List.of(), p);
 * }</pre>
 */
public final class ProgressPrinter implements ProgressListener {
    public enum Style { BAR, LINES }

    private static final long BAR_REDRAW_NANOS = 100_000_000L;
    private static final int WIDTH = 24;

    private final Style style;
    private final PrintStream out;
    private final long intervalNanos;
    private long lastPrintNanos = System.nanoTime();
    private boolean barDrawn;

    public ProgressPrinter(Style style, PrintStream out, long intervalMillis) {
        this.style = style;
        this.out = out;
        this.intervalNanos = intervalMillis * 1_000_000L;
    }

    /** BAR when the JVM's console is an interactive terminal, else LINES every 10 s; both on stderr. */
    public static ProgressPrinter auto() {
        var console = System.console();
        return new ProgressPrinter(console != null && console.isTerminal() ? Style.BAR : Style.LINES, System.err, 10_000);
    }

    @Override
    public synchronized void onEvent(ProgressEvent event) {
        long now = System.nanoTime();
        switch (event) {
            case ProgressEvent.Started s -> lastPrintNanos = style == Style.BAR ? now - BAR_REDRAW_NANOS : now;
            case ProgressEvent.Advanced a -> {
                if (style == Style.BAR && now - lastPrintNanos >= BAR_REDRAW_NANOS) {
                    out.print("\r" + line(a) + "\u001b[K");
                    out.flush();
                    barDrawn = true;
                    lastPrintNanos = now;
                } else if (style == Style.LINES && a.work() < a.totalWork() && now - lastPrintNanos >= intervalNanos) {
                    out.println(line(a)); // the last step is left to Finished, which prints the summary line
                    lastPrintNanos = now;
                }
            }
            case ProgressEvent.Finished f -> {
                String l = line(f);
                if (style == Style.BAR) out.print("\r" + l + "\u001b[K\n");
                else out.println(l);
                out.flush();
                barDrawn = false;
            }
            case ProgressEvent.Message m -> {
                if (barDrawn) out.print("\r\u001b[K");
                out.println(m.text());
                out.flush();
                barDrawn = false;
                lastPrintNanos = now - BAR_REDRAW_NANOS; // redraw the bar at the next step
            }
        }
    }

    /** {@code epoch 1/10 [=====     ] 42% 5,400 img 1234 img/s ETA 1:05  loss 0.31}. */
    String line(ProgressEvent.Advanced a) {
        StringBuilder sb = new StringBuilder(a.task()).append(' ');
        if (style == Style.BAR) {
            int filled = (int) Math.round(WIDTH * a.fraction());
            sb.append('[').append("=".repeat(filled)).append(" ".repeat(WIDTH - filled)).append("] ");
        }
        sb.append(String.format(Locale.ROOT, "%3.0f%% %,d %s %s %s/s", 100 * a.fraction(), a.items(), a.unit(), rate(a.itemsPerSecond()), a.unit()));
        sb.append(a.etaSeconds() < 0 ? " ETA ?" : " ETA " + formatSeconds(a.etaSeconds()));
        if (!a.status().isEmpty()) sb.append("  ").append(a.status());
        return sb.toString();
    }

    /** {@code epoch 1/10 done: 6,000 img in 0:12, 500 img/s  loss 0.29 acc 91.2%}. */
    String line(ProgressEvent.Finished f) {
        StringBuilder sb = new StringBuilder(f.task());
        sb.append(String.format(Locale.ROOT, " done: %,d %s in %s, %s %s/s", f.items(), f.unit(), formatSeconds(f.elapsedSeconds()), rate(f.itemsPerSecond()), f.unit()));
        if (!f.status().isEmpty()) sb.append("  ").append(f.status());
        return sb.toString();
    }

    private static String rate(double r) {
        return r >= 100 ? String.format(Locale.ROOT, "%,.0f", r) : String.format(Locale.ROOT, "%.3g", r);
    }

    /** {@code 75} → {@code "1:15"}, {@code 3725} → {@code "1:02:05"}. */
    public static String formatSeconds(double seconds) {
        long s = Math.round(seconds);
        if (s >= 3600) return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
        return String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
