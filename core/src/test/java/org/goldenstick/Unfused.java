package org.goldenstick;

import java.util.function.Supplier;
import org.goldenstick.tensor.OpTrace;
import org.goldenstick.tensor.Tensor;

/**
 * Runs code with a trace listener installed that records nothing: layers and ops that fuse outside traces (batch norm
 * + ReLU, activation + output grid) then run as their separate parts, the reference the fused forms must equal.
 */
public final class Unfused {
    private Unfused() {}

    private static final OpTrace.Listener QUIET = new OpTrace.Listener() {
        @Override
        public void op(String op, Tensor[] inputs, Tensor output) {}

        @Override
        public void enterLayer(Object layer, Tensor input) {}

        @Override
        public void exitLayer(Object layer, Tensor input, Tensor output) {}
    };

    /** {@code body}'s result computed unfused, or fused when {@code unfused} is false. */
    public static <T> T run(boolean unfused, Supplier<T> body) {
        if (!unfused) return body.get();
        try (OpTrace.Scope s = OpTrace.record(QUIET)) {
            return body.get();
        }
    }
}
