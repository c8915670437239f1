package org.goldenstick.tensor;

/**
 * Whether operations record the autograd graph on this thread.
 *
 * <pre>{@code
 * try (var ignored = GradMode.off()) {
 *     Tensor y = model.forward(x);   // no graph, no gradient buffers
 * }
 * }</pre>
 */
public final class GradMode {
    private static final ThreadLocal<boolean[]> ENABLED = ThreadLocal.withInitial(() -> new boolean[] {true});

    private GradMode() {}

    public static boolean isEnabled() {
        return ENABLED.get()[0];
    }

    /** Disables recording until the returned scope is closed (scopes nest). */
    public static Scope off() {
        return set(false);
    }

    /** Enables recording until the returned scope is closed. */
    public static Scope on() {
        return set(true);
    }

    private static Scope set(boolean value) {
        boolean[] cell = ENABLED.get();
        boolean previous = cell[0];
        cell[0] = value;
        return () -> cell[0] = previous;
    }

    /** A restoring scope; {@link #close()} never throws. */
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }
}
