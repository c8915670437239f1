package org.goldenstick.cli.bench;

import java.util.Arrays;

/** Warm-up then timed repetitions; reports the median. The JIT needs the warm-up (C2 swaps code mid-run). */
final class Timing {
    private Timing() {}

    /** Runs {@code body} for {@code warmSeconds}, then for about {@code seconds} (≥ 3 reps); median seconds per rep. */
    static double median(Runnable body, double warmSeconds, double seconds) {
        long start = System.nanoTime();
        do body.run(); while (System.nanoTime() - start < warmSeconds * 1e9);
        double[] t = new double[4096];
        int reps = 0;
        start = System.nanoTime();
        while (reps < t.length && (reps < 3 || System.nanoTime() - start < seconds * 1e9)) {
            long t0 = System.nanoTime();
            body.run();
            t[reps++] = (System.nanoTime() - t0) * 1e-9;
        }
        double[] used = Arrays.copyOf(t, reps);
        Arrays.sort(used);
        return used[reps / 2];
    }

    static int[] ints(String csv, String option) {
        try {
            return Arrays.stream(csv.split(",")).map(String::trim).filter(s -> !s.isEmpty()).mapToInt(Integer::parseInt).toArray();
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + ": expected comma-separated integers, got '" + csv + "'");
        }
    }

    static String num(double x) {
        return String.format(java.util.Locale.ROOT, "%.2f", x);
    }
}
