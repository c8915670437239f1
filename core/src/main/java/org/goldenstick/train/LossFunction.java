package org.goldenstick.train;

import org.goldenstick.data.Batch;
import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;

/**
 * The training objective: a scalar tensor from the model output and the batch it was computed on.
 * Taking the whole batch (not just labels) lets a callback that rewrites the batch (e.g. SCOP's knockoff
 * copies) pair it with a loss that understands the rewrite.
 *
 * <pre>{@code
 * LossFunction ce = LossFunction.crossEntropy();
 * LossFunction withL2 = (out, batch) -> ce.compute(out, batch).add(penalty());
 * }</pre>
 */
@FunctionalInterface
public interface LossFunction {
    Tensor compute(Tensor output, Batch batch);

    /** Mean cross-entropy of logits {@code [N, C]} against {@code batch.labels()}. */
    static LossFunction crossEntropy() {
        return (output, batch) -> Functional.crossEntropy(output, batch.labels());
    }
}
