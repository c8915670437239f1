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
    static {
        requireVectorModule();
    }

    private static volatile boolean vector = !"scalar".equalsIgnoreCase(System.getProperty("gstick.kernels", "vector"));

    private Kernels() {}

    public static boolean vector() {
        return vector;
    }

    /**
     * Fails with a message that says what to do when the JVM was started without the Vector API module: every
     * kernel (the scalar paths too) lives in classes that link against {@code jdk.incubator.vector}, so without it the
     * first tensor operation would end in a {@code NoClassDefFoundError} deep inside a kernel. {@link
     * org.goldenstick.tensor.Tensor} and this class call it when they are first used.
     */
    public static void requireVectorModule() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            throw new IllegalStateException("Golden Stick for Java needs the Vector API: start java with --add-modules jdk.incubator.vector "
                    + "(Maven tests: add it to surefire's argLine; exec: to the JVM arguments). The module jdk.incubator.vector is not in this JVM's boot layer.");
        }
    }

    /** Selects the kernel path; returns the previous setting. */
    public static boolean useVector(boolean on) {
        boolean was = vector;
        vector = on;
        return was;
    }
}
