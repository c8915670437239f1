package org.goldenstick.nn;

import org.goldenstick.tensor.Tensor;

/** {@code max(x, 0)}, element-wise. */
public class ReLU extends Module {
    @Override
    public Tensor forward(Tensor x) {
        return x.relu();
    }

    @Override
    public String describe() {
        return "ReLU";
    }
}
