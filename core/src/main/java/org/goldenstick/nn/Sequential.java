package org.goldenstick.nn;

import java.util.List;
import org.goldenstick.tensor.Tensor;

/** Children applied in order; they are named "0", "1", ... */
public class Sequential extends Module {
    public Sequential(Module... layers) {
        for (int i = 0; i < layers.length; i++) registerChild(Integer.toString(i), layers[i]);
    }

    public Sequential(List<? extends Module> layers) {
        this(layers.toArray(new Module[0]));
    }

    @Override
    public Tensor forward(Tensor x) {
        Module previous = null;
        for (Module m : children().values()) {
            if (previous != null) {
                // a batch norm followed by a ReLU runs as one op when that computes the same (see BatchNorm2d)
                Tensor fused = BatchNorm2d.forwardWithActivation(previous, m, x);
                x = fused != null ? fused : m.forward(previous.forward(x));
                previous = null;
            } else if (m.getClass() == BatchNorm2d.class) {
                previous = m; // held back one step: the next layer may fuse with it
            } else {
                x = m.forward(x);
            }
        }
        return previous != null ? previous.forward(x) : x;
    }

    public int size() {
        return children().size();
    }

    public Module get(int i) {
        return module(Integer.toString(i));
    }
}
