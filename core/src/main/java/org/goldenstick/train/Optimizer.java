package org.goldenstick.train;

import java.util.List;
import org.goldenstick.tensor.Tensor;

/**
 * Updates parameters in place from their accumulated gradients.
 *
 * <pre>{@code
 * Optimizer opt = new SGD(model.parameters(), SGD.Options.momentum(0.1, 0.9).withWeightDecay(5e-4));
 * opt.zeroGrad();
 * loss.backward();
 * opt.step();
 * }</pre>
 *
 * <p>Parameters whose gradient was never computed in this step are skipped (as in PyTorch, where
 * {@code p.grad is None}).
 */
public interface Optimizer {
    /** Applies one update to every parameter that has a gradient. */
    void step();

    /** Clears the gradients of all managed parameters. */
    default void zeroGrad() {
        for (Tensor p : parameters()) p.zeroGrad();
    }

    /** The managed parameters, in update order. */
    List<Tensor> parameters();

    /** The learning rate used by the next {@link #step()}. */
    double learningRate();

    /** Sets the learning rate (schedules call this before each step). */
    void setLearningRate(double lr);

    /** Number of {@link #step()} calls so far. */
    long stepCount();
}
