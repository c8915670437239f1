package org.goldenstick.nn;

import org.goldenstick.tensor.Tensor;

/** Returns its input: a placeholder (e.g. a ResNet shortcut without projection, or a removed layer). */
public class Identity extends Module {
    @Override
    public Tensor forward(Tensor x) {
        return x;
    }

    @Override
    public String describe() {
        return "Identity";
    }
}
