package org.goldenstick.cli.bench;

import java.util.Arrays;

/** Warm-up then timed repetitions; reports the median. The JIT needs the warm-up (C2 swaps code mid-run). */
final class Timing {
    private Timing() {}

    /** Runs {@code body} for {@code warmSeconds}, then for about {@code seconds} (≥ 3 reps); median seconds per rep. */
    static double median(Runnable body, double warmSeconds, double seconds) {
        return medians(body, warmSeconds, seconds)[0];
    }

    /**
     * As {@link #median}, returning {wall seconds, CPU seconds of the calling thread} per rep (medians). On a
     * shared machine the CPU-time figure of a single-threaded run excludes time spent waiting for a core.
     */
    static double[] medians(Runnable body, double warmSeconds, double seconds) {
        var mx = java.lang.management.ManagementFactory.getThreadMXBean();
        long start = System.nanoTime();
        do body.run(); while (System.nanoTime() - start < warmSeconds * 1e9);
        double[] t = new double[4096], cpu = new double[4096];
        int reps = 0;
        start = System.nanoTime();
        while (reps < t.length && (reps < 3 || System.nanoTime() - start < seconds * 1e9)) {
            long c0 = mx.getCurrentThreadCpuTime(), t0 = System.nanoTime();
            body.run();
            t[reps] = (System.nanoTime() - t0) * 1e-9;
            cpu[reps++] = (mx.getCurrentThreadCpuTime() - c0) * 1e-9;
        }
        double[] used = Arrays.copyOf(t, reps), usedCpu = Arrays.copyOf(cpu, reps);
        Arrays.sort(used);
        Arrays.sort(usedCpu);
        return new double[] {used[reps / 2], usedCpu[reps / 2]};
    }

    static int[] ints(String csv, String option) {
        try {
            return Arrays.stream(csv.split(",")).map(String::trim).filter(s -> !s.isEmpty()).mapToInt(Integer::parseInt).toArray();
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + ": expected comma-separated integers, got '" + csv + "'");
        }
    }
}
