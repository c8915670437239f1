package org.goldenstick.nn;

import java.util.Arrays;
import org.goldenstick.tensor.Tensor;

/**
 * Batch normalisation of {@code [N, C]} or {@code [N, C, L]} over the channel axis ({@code torch.nn.BatchNorm1d});
 * see {@link BatchNorm} for parameters, buffers and semantics.
 *
 * <pre>{@code
 * var bn = new BatchNorm1d(128);
 * }</pre>
 */
public class BatchNorm1d extends BatchNorm {
    public BatchNorm1d(int numFeatures) {
        this(numFeatures, DEFAULT_MOMENTUM, DEFAULT_EPS);
    }

    public BatchNorm1d(int numFeatures, double momentum, double eps) {
        super(numFeatures, momentum, eps);
    }

    @Override
    protected Tensor compute(Tensor x) {
        if ((x.rank() != 2 && x.rank() != 3) || x.dim(1) != numFeatures()) {
            throw new IllegalArgumentException("BatchNorm1d(" + numFeatures() + "): expected [N, " + numFeatures() + "] or [N, " + numFeatures() + ", L], got " + Arrays.toString(x.shape()));
        }
        // Viewed as [N, C, L, 1] so that one batch-norm op serves both layers.
        int[] shape = x.shape();
        int l = x.rank() == 3 ? shape[2] : 1;
        return normalize4d(x.reshape(shape[0], shape[1], l, 1)).reshape(shape);
    }
}
