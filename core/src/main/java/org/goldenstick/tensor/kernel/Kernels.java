package org.goldenstick.tensor.kernel;

/**
 * Chooses between Vector API kernels and their scalar references. {@code -Dgstick.kernels=scalar} forces the
 * scalar path process-wide; tests flip it with {@link #useVector(boolean)} to check both.
 *
 * <pre>{@code
 * boolean was = Kernels.useVector(false);   // scalar references from here on
 * try {
 *     Sgemm.gemm(false, false, m, n, k, a, 0, k, b, 0, n, c, 0, n, false);
 * } finally {
 *     Kernels.useVector(was);
 * }
 * }</pre>
 */
public final class Kernels {
    private static volatile boolean vector = !"scalar".equalsIgnoreCase(System.getProperty("gstick.kernels", "vector"));

    private Kernels() {}

    public static boolean vector() {
        return vector;
    }

    /** Selects the kernel path; returns the previous setting. */
    public static boolean useVector(boolean on) {
        boolean was = vector;
        vector = on;
        return was;
    }
}
