package org.goldenstick.nn;

import org.goldenstick.tensor.Tensor;

/** {@code 1 / (1 + e^(−x))}, element-wise. */
public class Sigmoid extends Layer {
    @Override
    protected Tensor compute(Tensor x) {
        return x.sigmoid();
    }

    @Override
    public String describe() {
        return "Sigmoid";
    }
}
