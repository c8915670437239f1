package org.goldenstick.llm;

import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.PackedIntWeights;

/**
 * A linear projection {@code y = x · W_realᵀ + b} whose weights are {@link PackedIntWeights} (the W4A16/W8A16 layers of
 * the {@code ptq} package) and whose forward is exactly {@link org.goldenstick.tensor.kernel.WNA16Kernels#gemm} plus the
 * bias. {@link LlamaSession} hands projections that read the same input (q, k, v; gate, up) to
 * {@link org.goldenstick.tensor.kernel.WNA16Kernels#gemmShared} together, which runs them in one parallel region at
 * decode: the same values as one forward each, one hand-off to the worker threads instead of three or two.
 *
 * <pre>{@code
 * if (module instanceof PackedProjection p) WNA16Kernels.gemmShared(1, x, 0, new PackedIntWeights[] {p.weights()}, new float[][] {y});
 * }</pre>
 */
public interface PackedProjection {
    /** The packed weights, {@code [out, in]}. */
    PackedIntWeights weights();

    /** The bias {@code [out]}, or null. */
    Tensor bias();

    /** Adds the bias (if any) to each of the {@code m} rows of {@code y [m, out]}: the end of the forward. */
    default void addBias(float[] y, int m) {
        Tensor bias = bias();
        if (bias == null) return;
        float[] b = bias.data();
        int out = b.length;
        for (int r = 0; r < m; r++) for (int o = 0; o < out; o++) y[r * out + o] += b[o];
    }
}
