package org.goldenstick.tensor.kernel;

/**
 * Which weight rows a decode (GEMV) pass reads together when it reads {@link #WAYS} rows at once: the task's rows
 * {@code [r0, r1)} are cut into four runs of {@link #passes} rows and pass {@code p} reads row {@code p} of each run.
 *
 * <p>Why: a row-by-row GEMV kernel whose inner loop does a dozen vector instructions per 64-byte line (int8/int4
 * weights widened to float) cannot keep enough cache misses in flight on one sequential stream, and reads a
 * working set beyond the caches at about half of what a plain stream reads. Four rows from four runs lie in four
 * different 4 KB pages, four sequential streams that the hardware prefetcher follows side by side. Adjacent rows
 * (r … r+3) share pages and stream worse than one row per pass; software touches ahead (a scalar load per line,
 * 1–4 KB ahead) gained nothing. Measured on per-channel W8 (docs/results.md, "Four weight streams per decode pass").
 *
 * <p>Rows past {@code r1 − 1} (the last passes when the task's row count is not a multiple of four) are clamped to
 * {@code r1 − 1}: computed again, not stored ({@link #stored}).
 *
 * <pre>{@code
 * for (int p = 0, n = SpreadRows.passes(r0, r1); p < n; p++) {
 *     kernel(SpreadRows.row(r0, r1, p, 0), SpreadRows.row(r0, r1, p, 1), SpreadRows.row(r0, r1, p, 2), SpreadRows.row(r0, r1, p, 3), out);
 *     for (int k = 0; k < SpreadRows.WAYS; k++) if (SpreadRows.stored(r0, r1, p, k)) y[SpreadRows.row(r0, r1, p, k)] = out[k];
 * }
 * }</pre>
 */
public final class SpreadRows {
    /** Rows read per pass. */
    public static final int WAYS = 4;

    private static final ThreadLocal<float[]> OUT = ThreadLocal.withInitial(() -> new float[WAYS]);

    private SpreadRows() {}

    /**
     * The calling thread's {@code float[WAYS]} for a pass's results (the kernels' {@code out}): a decode step runs
     * about a hundred row tasks per matrix product, and a new array per task was ~0.2 MB of garbage per token.
     */
    public static float[] out() {
        return OUT.get();
    }

    /** Passes over rows {@code [r0, r1)}: the length of each run. */
    public static int passes(int r0, int r1) {
        return passes(r0, r1, WAYS);
    }

    /** Row {@code k} ({@code 0 ≤ k < WAYS}) of pass {@code p}: {@code r0 + p + k·passes}, clamped to {@code r1 − 1}. */
    public static int row(int r0, int r1, int p, int k) {
        return row(r0, r1, p, k, WAYS);
    }

    /** Whether row {@code k} of pass {@code p} is a row of its own (not a clamped repeat). */
    public static boolean stored(int r0, int r1, int p, int k) {
        return stored(r0, r1, p, k, WAYS);
    }

    /**
     * {@link #passes(int, int)} for a kernel that reads {@code ways} rows per pass (the 4-bit {@code packed4} reads
     * two: a third and fourth row in one body push C2 past its inlining budget, and four rows in a body written for
     * two, the pairs swapping each iteration, measured slower at the model level; docs/results.md).
     */
    public static int passes(int r0, int r1, int ways) {
        return (r1 - r0 + ways - 1) / ways;
    }

    /** {@link #row(int, int, int, int)} for {@code ways} rows per pass. */
    public static int row(int r0, int r1, int p, int k, int ways) {
        return Math.min(r1 - 1, r0 + p + k * passes(r0, r1, ways));
    }

    /** {@link #stored(int, int, int, int)} for {@code ways} rows per pass. */
    public static boolean stored(int r0, int r1, int p, int k, int ways) {
        return r0 + p + k * passes(r0, r1, ways) < r1;
    }
}
