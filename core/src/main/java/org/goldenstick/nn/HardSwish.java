package org.goldenstick.nn;

import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;

/** {@code x · relu6(x + 3) / 6}, element-wise (MobileNetV3's activation; ONNX HardSwish). */
public class HardSwish extends Layer {
    @Override
    protected Tensor compute(Tensor x) {
        return Functional.hardSwish(x);
    }

    @Override
    public String describe() {
        return "HardSwish";
    }
}
