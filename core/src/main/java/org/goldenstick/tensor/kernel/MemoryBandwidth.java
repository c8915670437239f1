package org.goldenstick.tensor.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * Streaming read bandwidth of this machine: the median GB/s of summing a large {@code float[]} with
 * Vector API loads, spread over a given number of threads. LLM decode is bandwidth-bound, so its
 * benchmarks report tokens/s next to this ceiling.
 *
 * <pre>{@code
 * double gbs = MemoryBandwidth.measure(2, 1L << 30, 3.0);   // 1 GiB, 2 threads, ~3 s of passes
 * }</pre>
 */
public final class MemoryBandwidth {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int CHUNK = 1 << 20; // floats per task (4 MiB)

    private MemoryBandwidth() {}

    /**
     * Measures read bandwidth in GB/s (10^9 bytes per second): one untimed warm-up pass, then timed passes
     * for about {@code seconds} (at least three), reporting the median pass.
     *
     * @param threads workers reading concurrently (≥ 1)
     * @param bytes   size of the array to stream; well above the last-level cache for a DRAM figure
     * @param seconds measuring time
     */
    public static double measure(int threads, long bytes, double seconds) {
        if (threads < 1) throw new IllegalArgumentException("MemoryBandwidth: threads must be >= 1, got " + threads);
        long floats = bytes / Float.BYTES;
        if (floats < CHUNK || floats > Integer.MAX_VALUE - 64) {
            throw new IllegalArgumentException("MemoryBandwidth: bytes must be in [4 MiB, 8 GiB), got " + bytes);
        }
        float[] data = new float[(int) floats];
        Arrays.fill(data, 1f); // touch every page before timing
        int tasks = (int) ((floats + CHUNK - 1) / CHUNK);
        double[] partial = new double[tasks];
        Runnable pass = () -> Parallel.forEach(threads, tasks, t -> {
            int from = t * CHUNK, to = (int) Math.min(floats, (long) from + CHUNK);
            partial[t] = sum(data, from, to);
        });
        pass.run();
        double[] times = new double[1024];
        int reps = 0;
        long start = System.nanoTime();
        while (reps < times.length && (reps < 3 || (System.nanoTime() - start) < seconds * 1e9)) {
            long t0 = System.nanoTime();
            pass.run();
            times[reps++] = (System.nanoTime() - t0) * 1e-9;
        }
        double total = 0;
        for (double p : partial) total += p;
        if (total != (double) floats) throw new IllegalStateException("MemoryBandwidth: wrong sum " + total);
        double[] used = Arrays.copyOf(times, reps);
        Arrays.sort(used);
        return floats * (double) Float.BYTES / used[reps / 2] / 1e9;
    }

    static float sum(float[] x, int from, int to) {
        int lanes = S.length(), i = from;
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S), a2 = FloatVector.zero(S), a3 = FloatVector.zero(S);
        for (; i + 4 * lanes <= to; i += 4 * lanes) {
            a0 = a0.add(FloatVector.fromArray(S, x, i));
            a1 = a1.add(FloatVector.fromArray(S, x, i + lanes));
            a2 = a2.add(FloatVector.fromArray(S, x, i + 2 * lanes));
            a3 = a3.add(FloatVector.fromArray(S, x, i + 3 * lanes));
        }
        float s = a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
        for (; i < to; i++) s += x[i];
        return s;
    }
}
