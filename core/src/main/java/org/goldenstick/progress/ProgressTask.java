package org.goldenstick.progress;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The producer side of a task: counts work and items, computes rate and ETA, and sends the events, so every long
 * operation reports alike. Thread-safe: parallel workers may call {@link #advance} concurrently.
 *
 * <pre>{@code
 * ProgressTask t = ProgressTask.start(listener, "rtn", totalWeightBytes, "layer");
 * for (Layer l : layers) { quantize(l); t.advance(l.bytes(), 1, l.name()); }
 * t.finish("");
 * }</pre>
 */
public final class ProgressTask {
    private final ProgressListener listener;
    private final String task;
    private final double totalWork;
    private final String unit;
    private final long startNanos = System.nanoTime();
    private final AtomicLong workMicros = new AtomicLong(); // work in millionths, so that concurrent adds stay exact
    private final AtomicLong items = new AtomicLong();

    private ProgressTask(ProgressListener listener, String task, double totalWork, String unit) {
        this.listener = ProgressListener.orSilent(listener);
        this.task = task;
        this.totalWork = totalWork;
        this.unit = unit;
    }

    /** Begins a task of {@code totalWork} work units; the rate is shown in {@code unit}s per second. */
    public static ProgressTask start(ProgressListener listener, String task, double totalWork, String unit) {
        ProgressTask t = new ProgressTask(listener, task, totalWork, unit);
        t.listener.onEvent(new ProgressEvent.Started(task, totalWork, unit));
        return t;
    }

    /** {@code work} more units done, covering {@code items} more items; {@code status} may be empty. */
    public void advance(double work, long items, String status) {
        double done = workMicros.addAndGet(Math.round(work * 1e6)) / 1e6;
        long n = this.items.addAndGet(items);
        double secs = elapsedSeconds();
        double eta = done <= 0 ? -1 : done >= totalWork ? 0 : secs / done * (totalWork - done);
        listener.onEvent(new ProgressEvent.Advanced(task, done, totalWork, n, unit, secs, n / Math.max(1e-9, secs), eta, status == null ? "" : status));
    }

    /** Ends the task. */
    public void finish(String status) {
        double secs = elapsedSeconds();
        long n = items.get();
        listener.onEvent(new ProgressEvent.Finished(task, n, unit, secs, n / Math.max(1e-9, secs), status == null ? "" : status));
    }

    /** Seconds since the start. */
    public double elapsedSeconds() {
        return (System.nanoTime() - startNanos) / 1e9;
    }
}
