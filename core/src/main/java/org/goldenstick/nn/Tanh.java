package org.goldenstick.nn;

import org.goldenstick.tensor.Tensor;

/** {@code tanh(x)}, element-wise (ONNX Tanh). */
public class Tanh extends Layer {
    @Override
    protected Tensor compute(Tensor x) {
        return x.tanh();
    }

    @Override
    public String describe() {
        return "Tanh";
    }
}
