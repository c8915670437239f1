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
        for (Module m : children().values()) x = m.forward(x);
        return x;
    }

    public int size() {
        return children().size();
    }

    public Module get(int i) {
        return module(Integer.toString(i));
    }
}
