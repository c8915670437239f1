package org.goldenstick.tensor.kernel;

import java.util.ArrayList;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * A fixed worker pool sized to the machine, with dynamic scheduling: workers pull task indices from a
 * shared counter, so one slow core delays only the tasks it holds (a static split stalls on it).
 *
 * <p>The thread count is {@code -Dgstick.threads=N} (default: available processors). Nested calls from
 * inside a task run serially on the calling thread.
 *
 * <pre>{@code
 * float[] out = new float[rows];
 * Parallel.forEach(rows, r -> out[r] = rowSum(r));   // rows spread over the pool
 * }</pre>
 */
public final class Parallel {
    private static final int CORES = Math.max(1, Runtime.getRuntime().availableProcessors());
    private static volatile int threads = Math.max(1, Integer.getInteger("gstick.threads", CORES));
    private static final ForkJoinPool POOL = new ForkJoinPool(CORES);
    private static final ThreadLocal<Boolean> INSIDE = ThreadLocal.withInitial(() -> false);

    private Parallel() {}

    public static int threads() {
        return threads;
    }

    /** Sets the number of threads used by kernels (1 = serial). */
    public static void setThreads(int n) {
        if (n < 1) throw new IllegalArgumentException("threads must be >= 1, got " + n);
        threads = n;
    }

    /** True while the current thread runs a task of {@link #forEach} (nested calls then run serially). */
    public static boolean insideTask() {
        return INSIDE.get();
    }

    /** Runs {@code body.accept(i)} for i in [0, tasks), spreading tasks over the pool dynamically. */
    public static void forEach(int tasks, IntConsumer body) {
        forEach(threads, tasks, body);
    }

    /** As {@link #forEach(int, IntConsumer)} with at most {@code maxThreads} workers (the caller included). */
    public static void forEach(int maxThreads, int tasks, IntConsumer body) {
        int workers = Math.min(Math.max(1, maxThreads), tasks);
        if (workers <= 1 || INSIDE.get()) {
            for (int i = 0; i < tasks; i++) body.accept(i);
            return;
        }
        AtomicInteger next = new AtomicInteger();
        Runnable worker = () -> {
            boolean was = INSIDE.get();
            INSIDE.set(true);
            try {
                for (int i; (i = next.getAndIncrement()) < tasks; ) body.accept(i);
            } finally {
                INSIDE.set(was);
            }
        };
        var futures = new ArrayList<ForkJoinTask<?>>(workers - 1);
        for (int w = 1; w < workers; w++) futures.add(POOL.submit(worker));
        worker.run();
        for (var f : futures) f.join();
    }
}
