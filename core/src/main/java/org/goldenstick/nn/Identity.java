package org.goldenstick.nn;

import org.goldenstick.tensor.Tensor;

/** Returns its input: a placeholder (e.g. a ResNet shortcut without projection, or a removed layer). */
public class Identity extends Layer {
    @Override
    protected Tensor compute(Tensor x) {
        return x;
    }

    @Override
    public String describe() {
        return "Identity";
    }
}
