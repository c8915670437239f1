package org.goldenstick.tensor.kernel;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * A fixed set of worker threads sized to the machine, with dynamic scheduling: the caller and the workers pull task
 * indices from a shared counter, so one slow core delays only the tasks it holds (a static split stalls on it).
 *
 * <p>The thread count is {@code -Dgstick.threads=N} (default: available processors). Nested calls from
 * inside a task run serially on the calling thread.
 *
 * <p>An idle worker spins for {@code -Dgstick.parallel.spin-us} microseconds (default 100; 0 parks at once) before it parks. A decode
 * step is about a hundred and fifty parallel matrix products of tens to hundreds of microseconds each, with a few
 * microseconds of serial work between them; a parked worker can take tens of microseconds to wake (a futex wake-up,
 * and on a VM the idle virtual CPU's own wake-up), so with a pool whose idle workers park within microseconds (the {@code ForkJoinPool} used
 * before) the caller can run most small products alone (docs/results.md, issue 16: not yet measured on a quiet machine). Spinning between back-to-back calls is what llama.cpp's threads
 * do too; a worker idle for longer parks and costs nothing.
 *
 * <pre>{@code
 * float[] out = new float[rows];
 * Parallel.forEach(rows, r -> out[r] = rowSum(r));   // rows spread over the workers
 * }</pre>
 */
public final class Parallel {
    private static final int CORES = Math.max(1, Runtime.getRuntime().availableProcessors());
    private static volatile int threads = Math.max(1, Integer.getInteger("gstick.threads", CORES));
    private static final long SPIN_NANOS = Math.max(0, Long.getLong("gstick.parallel.spin-us", 100)) * 1000;
    private static final ThreadLocal<Boolean> INSIDE = ThreadLocal.withInitial(() -> false);
    private static final Worker[] WORKERS = new Worker[CORES - 1];

    static {
        for (int i = 0; i < WORKERS.length; i++) {
            WORKERS[i] = new Worker(i);
            WORKERS[i].start();
        }
    }

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

    /** Runs {@code body.accept(i)} for i in [0, tasks), spreading tasks over the workers dynamically. */
    public static void forEach(int tasks, IntConsumer body) {
        forEach(threads, tasks, body);
    }

    /**
     * As {@link #forEach(int, IntConsumer)} with at most {@code maxThreads} threads (the caller included). The first
     * exception a task throws is rethrown here once every started task has finished; tasks not yet started then do not
     * run.
     */
    public static void forEach(int maxThreads, int tasks, IntConsumer body) {
        int helpers = Math.min(Math.min(Math.max(1, maxThreads), tasks) - 1, WORKERS.length);
        if (helpers <= 0 || INSIDE.get()) {
            for (int i = 0; i < tasks; i++) body.accept(i);
            return;
        }
        Job job = new Job(body, tasks);
        for (int w = 0; w < helpers; w++) WORKERS[w].offer(job);
        INSIDE.set(true);
        try {
            job.work();
        } finally {
            INSIDE.set(false);
        }
        // tasks still running on workers: spin briefly, then yield the core (on a busy machine the worker may be waiting for it)
        for (long t0 = System.nanoTime(); job.done.get() < tasks; ) {
            if (System.nanoTime() - t0 < 50_000) Thread.onSpinWait();
            else Thread.yield();
        }
        Throwable f = job.failure.get();
        if (f instanceof RuntimeException e) throw e;
        if (f instanceof Error e) throw e;
        if (f != null) throw new RuntimeException(f);
    }

    /** One call's tasks: claimed through {@code next}, counted in {@code done} when finished (or skipped after a failure). */
    private static final class Job {
        final IntConsumer body;
        final int tasks;
        final AtomicInteger next = new AtomicInteger(), done = new AtomicInteger();
        final AtomicReference<Throwable> failure = new AtomicReference<>();

        Job(IntConsumer body, int tasks) {
            this.body = body;
            this.tasks = tasks;
        }

        boolean claimedOut() {
            return next.get() >= tasks;
        }

        void work() {
            for (int i; (i = next.getAndIncrement()) < tasks; ) {
                try {
                    if (failure.get() == null) body.accept(i);
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                } finally {
                    done.incrementAndGet();
                }
            }
        }
    }

    /** A daemon thread that runs the job in its slot, spins for the next one, then parks. */
    private static final class Worker extends Thread {
        private final AtomicReference<Job> slot = new AtomicReference<>();
        private volatile boolean parked;

        Worker(int i) {
            super("gstick-parallel-" + (i + 1));
            setDaemon(true);
        }

        /** Hands the worker a job unless it holds another caller's job with tasks left (then the caller works without it). */
        void offer(Job job) {
            Job held = slot.get();
            if (held == null ? slot.compareAndSet(null, job) : held.claimedOut() && slot.compareAndSet(held, job)) {
                if (parked) LockSupport.unpark(this);
            }
        }

        @Override
        public void run() {
            INSIDE.set(true);
            long idleSince = System.nanoTime();
            while (true) {
                Job j = slot.get();
                if (j != null) {
                    j.work();
                    slot.compareAndSet(j, null);
                    idleSince = System.nanoTime();
                } else if (System.nanoTime() - idleSince < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    parked = true;
                    if (slot.get() == null) LockSupport.park(this);
                    parked = false;
                    idleSince = System.nanoTime();
                }
            }
        }
    }
}
