package org.goldenstick.progress;

/**
 * What a {@link ProgressListener} receives. A task is a phase of work with a known total, measured in work units
 * (images, tokens, weight bytes: whatever makes equal units take about equal time), so the fraction done and the
 * ETA follow the work and not the count of steps: a step over a large layer moves the bar further than one over a
 * small layer. {@code items} counts what the rate is shown in ({@code unit}, e.g. images or tokens).
 */
public sealed interface ProgressEvent {
    /** A task began. */
    record Started(String task, double totalWork, String unit) implements ProgressEvent {}

    /**
     * The task advanced.
     *
     * @param work           work units done so far
     * @param items          items processed so far (the rate's numerator)
     * @param itemsPerSecond items per second of wall time since the start
     * @param etaSeconds     estimated seconds left, from the work done so far (0 when done, -1 before any work is done)
     * @param status         a short status (e.g. {@code loss 0.31}), possibly empty
     */
    record Advanced(String task, double work, double totalWork, long items, String unit, double elapsedSeconds, double itemsPerSecond,
                    double etaSeconds, String status) implements ProgressEvent {
        /** Fraction of the work done, in [0, 1]. */
        public double fraction() {
            return totalWork > 0 ? Math.min(1, work / totalWork) : 1;
        }
    }

    /** The task ended. */
    record Finished(String task, long items, String unit, double elapsedSeconds, double itemsPerSecond, String status) implements ProgressEvent {}

    /** A log line of a workflow (what it measured or decided), outside any task's progress. */
    record Message(String text) implements ProgressEvent {}
}
