package org.goldenstick.tensor.kernel;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Puts the process-wide kernel switches back after each test: the vector/scalar path ({@link Kernels#useVector}), the
 * thread count ({@link Parallel#setThreads}) and the int8-activation mode ({@link W8A8BlockKernels#setMode}). Tests
 * that run both paths flip these globals; one leaking into the next test would silently test the wrong path.
 *
 * <pre>{@code
 * @ExtendWith(KernelSettings.class)
 * class MyKernelTest {
 *     @ParameterizedTest @ValueSource(booleans = {true, false})
 *     void matchesReference(boolean vector) { Kernels.useVector(vector); ... }
 * }
 * }</pre>
 */
public final class KernelSettings implements BeforeEachCallback, AfterEachCallback {
    private record Saved(boolean vector, int threads, W8A8BlockKernels.Mode mode) {}

    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(KernelSettings.class);

    @Override
    public void beforeEach(ExtensionContext context) {
        context.getStore(NS).put(Saved.class, new Saved(Kernels.vector(), Parallel.threads(), W8A8BlockKernels.mode()));
    }

    @Override
    public void afterEach(ExtensionContext context) {
        Saved s = context.getStore(NS).remove(Saved.class, Saved.class);
        if (s == null) return;
        Kernels.useVector(s.vector());
        Parallel.setThreads(s.threads());
        W8A8BlockKernels.setMode(s.mode());
    }
}
