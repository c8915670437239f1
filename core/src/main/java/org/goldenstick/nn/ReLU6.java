package org.goldenstick.nn;

import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;

/** {@code min(max(x, 0), 6)}, element-wise (MobileNet's activation). */
public class ReLU6 extends Layer {
    @Override
    protected Tensor compute(Tensor x) {
        return Functional.relu6(x);
    }

    @Override
    public String describe() {
        return "ReLU6";
    }
}
