package org.goldenstick.tensor.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The worker set behind every parallel kernel: each task once, results visible, failures rethrown, nesting serial. */
class ParallelTest {
    private final int threadsBefore = Parallel.threads();

    @AfterEach
    void restore() {
        Parallel.setThreads(threadsBefore);
    }

    /** Every index runs exactly once and its write is visible to the caller, for task counts around the thread count. */
    @Test
    void everyTaskRunsOnceAndItsWritesAreVisible() {
        for (int threads : new int[] {1, 2, 8}) {
            Parallel.setThreads(threads);
            for (int tasks : new int[] {0, 1, 2, 3, 7, 1000}) {
                for (int rep = 0; rep < 50; rep++) {
                    int[] out = new int[tasks];
                    AtomicIntegerArray runs = new AtomicIntegerArray(Math.max(1, tasks));
                    Parallel.forEach(tasks, i -> {
                        runs.incrementAndGet(i);
                        out[i] = 3 * i + 1;
                    });
                    for (int i = 0; i < tasks; i++) {
                        assertEquals(1, runs.get(i), "task " + i + " of " + tasks + " on " + threads + " threads");
                        assertEquals(3 * i + 1, out[i], "task " + i + "'s write");
                    }
                }
            }
        }
    }

    /**
     * Four threads calling at once (the workers serve one call at a time; the others run theirs themselves): every call
     * still runs each of its tasks once, and tasks of one call see only that call's body.
     */
    @Test
    void concurrentCallersEachGetAllTheirTasks() throws Exception {
        Parallel.setThreads(2);
        Thread[] callers = new Thread[4];
        AtomicInteger bad = new AtomicInteger();
        for (int c = 0; c < callers.length; c++) {
            final int id = c;
            callers[c] = new Thread(() -> {
                for (int rep = 0; rep < 300; rep++) {
                    int tasks = 1 + (rep * 7 + id) % 40;
                    long[] out = new long[tasks];
                    Parallel.forEach(tasks, i -> out[i] += 1000L * id + i);
                    for (int i = 0; i < tasks; i++) if (out[i] != 1000L * id + i) bad.incrementAndGet();
                }
            });
            callers[c].start();
        }
        for (Thread t : callers) t.join();
        assertEquals(0, bad.get(), "tasks lost, repeated or run with another call's body");
    }

    /** A task's exception reaches the caller as the same object, after the call's other started tasks finished. */
    @Test
    void aFailingTaskIsRethrownToTheCaller() {
        Parallel.setThreads(2);
        for (int failing : new int[] {0, 5, 63}) {
            IllegalStateException boom = new IllegalStateException("task " + failing);
            AtomicInteger running = new AtomicInteger();
            var e = assertThrows(IllegalStateException.class, () -> Parallel.forEach(64, i -> {
                running.incrementAndGet();
                try {
                    if (i == failing) throw boom;
                    busy(20_000);
                } finally {
                    running.decrementAndGet();
                }
            }));
            assertSame(boom, e);
            assertEquals(0, running.get(), "a task was still running when forEach threw");
        }
        int[] after = new int[10];
        Parallel.forEach(10, i -> after[i] = i + 1);
        for (int i = 0; i < 10; i++) assertEquals(i + 1, after[i], "the workers serve the next call after a failure");
    }

    /** A call from inside a task runs serially on that task's thread (insideTask), and outside tasks insideTask is false. */
    @Test
    void nestedCallsRunSeriallyOnTheTasksThread() {
        Parallel.setThreads(2);
        assertFalse(Parallel.insideTask());
        ConcurrentHashMap<Integer, Boolean> ok = new ConcurrentHashMap<>();
        Parallel.forEach(8, i -> {
            Thread outer = Thread.currentThread();
            boolean[] same = {true};
            Parallel.forEach(16, j -> same[0] &= Thread.currentThread() == outer && Parallel.insideTask());
            ok.put(i, same[0] && Parallel.insideTask());
        });
        assertEquals(8, ok.size());
        assertTrue(ok.values().stream().allMatch(b -> b), "a nested call left its task's thread");
        assertFalse(Parallel.insideTask(), "insideTask left set on the caller");
    }

    /** With two threads and tasks long enough, a worker thread (not the caller) runs some of them. */
    @Test
    void aWorkerTakesPartWhenTasksAreLong() {
        Parallel.setThreads(2);
        Thread caller = Thread.currentThread();
        AtomicInteger byWorker = new AtomicInteger();
        for (int rep = 0; rep < 20 && byWorker.get() == 0; rep++)
            Parallel.forEach(16, i -> {
                if (Thread.currentThread() != caller) byWorker.incrementAndGet();
                busy(2_000_000);
            });
        assertTrue(byWorker.get() > 0, "no task ran on a worker in 20 calls of 16 tasks of 2 ms");
    }

    private static void busy(long nanos) {
        for (long t0 = System.nanoTime(); System.nanoTime() - t0 < nanos; ) Thread.onSpinWait();
    }
}
