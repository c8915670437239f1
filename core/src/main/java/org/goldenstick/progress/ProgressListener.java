package org.goldenstick.progress;

/**
 * Receives the progress of long work (training epochs, calibration, per-layer quantization, evaluation) and the
 * log lines of the workflows, as {@link ProgressEvent}s. The one progress mechanism of the library: every long
 * operation takes a listener, and {@link #SILENT} (the default wherever a listener is optional) drops everything.
 * The CLI passes a {@link ProgressPrinter}; a GUI or a test can pass its own.
 *
 * <pre>{@code
 * ProgressListener mine = e -> {
 *     if (e instanceof ProgressEvent.Advanced a) System.out.printf("%s %.0f%%%n", a.task(), 100 * a.fraction());
 * };
 * Recipes.train(spec, model, data, List.of(), mine);
 * }</pre>
 *
 * <p>Events of one task come from the thread that advances it or, for parallel work, from several threads; a
 * listener that keeps state should be thread-safe.
 */
@FunctionalInterface
public interface ProgressListener {
    /** Drops every event: what a library call does unless it is given a listener. */
    ProgressListener SILENT = e -> {};

    void onEvent(ProgressEvent event);

    /** Sends a log line ({@link ProgressEvent.Message}). */
    default void message(String text) {
        onEvent(new ProgressEvent.Message(text));
    }

    /** Sends a formatted log line (root locale; a trailing newline is dropped). */
    default void printf(String format, Object... args) {
        message(String.format(java.util.Locale.ROOT, format, args).stripTrailing());
    }

    /** {@code l}, or {@link #SILENT} when it is null. */
    static ProgressListener orSilent(ProgressListener l) {
        return l != null ? l : SILENT;
    }
}
