package org.goldenstick.train;

import java.util.List;
import org.goldenstick.tensor.Tensor;

/**
 * Adam with decoupled weight decay ({@code torch.optim.AdamW}): the weights shrink by {@code lr·weightDecay}
 * each step instead of the decay entering the gradient moments.
 *
 * <pre>{@code
 * var opt = new AdamW(model.parameters(), AdamW.defaults(1e-3));   // weight decay 0.01
 * }</pre>
 */
public final class AdamW extends Adam {
    public AdamW(List<Tensor> params, Options options) {
        super(params, options, true);
    }

    /** PyTorch's AdamW defaults: β = (0.9, 0.999), eps = 1e-8, weight decay 0.01. */
    public static Options defaults(double lr) {
        return new Options(lr, 0.9, 0.999, 1e-8, 0.01);
    }
}
