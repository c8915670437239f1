package org.goldenstick.nn;

import org.goldenstick.tensor.Tensor;

/** {@code max(x, 0)}, element-wise. */
public class ReLU extends Layer {
    @Override
    protected Tensor compute(Tensor x) {
        return x.relu();
    }

    @Override
    public String describe() {
        return "ReLU";
    }
}
