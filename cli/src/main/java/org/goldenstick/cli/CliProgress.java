package org.goldenstick.cli;

import org.goldenstick.progress.ProgressListener;
import org.goldenstick.progress.ProgressPrinter;

/** The progress every command shows: a redrawn bar when stderr is a terminal, a line every 10 s otherwise, nothing under {@code --json}. */
final class CliProgress {
    private CliProgress() {}

    static ProgressListener of(boolean json) {
        if (json) return ProgressListener.SILENT;
        return new ProgressPrinter(Stderr.isTerminal() ? ProgressPrinter.Style.BAR : ProgressPrinter.Style.LINES, System.err, 10_000);
    }
}
