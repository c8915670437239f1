package org.goldenstick.nn;

import java.util.Arrays;
import org.goldenstick.tensor.Tensor;

/**
 * Batch normalisation over the channel axis of {@code [N, C, H, W]} ({@code torch.nn.BatchNorm2d});
 * see {@link BatchNorm} for parameters, buffers and semantics.
 *
 * <pre>{@code
 * var bn = new BatchNorm2d(16);          // momentum 0.1, eps 1e-5
 * }</pre>
 */
public class BatchNorm2d extends BatchNorm {
    public BatchNorm2d(int numFeatures) {
        this(numFeatures, DEFAULT_MOMENTUM, DEFAULT_EPS);
    }

    public BatchNorm2d(int numFeatures, double momentum, double eps) {
        super(numFeatures, momentum, eps);
    }

    @Override
    protected Tensor compute(Tensor x) {
        if (x.rank() != 4 || x.dim(1) != numFeatures()) {
            throw new IllegalArgumentException("BatchNorm2d(" + numFeatures() + "): expected [N, " + numFeatures() + ", H, W], got " + Arrays.toString(x.shape()));
        }
        return normalize4d(x);
    }
}
