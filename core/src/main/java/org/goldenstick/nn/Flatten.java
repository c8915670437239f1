package org.goldenstick.nn;

import org.goldenstick.tensor.Tensor;

/** Flattens every axis from {@code startDim} (default 1) into one: {@code [N, C, H, W] → [N, C·H·W]}. */
public class Flatten extends Layer {
    private final int startDim;

    public Flatten() {
        this(1);
    }

    public Flatten(int startDim) {
        this.startDim = startDim;
    }

    public int startDim() {
        return startDim;
    }

    @Override
    protected Tensor compute(Tensor x) {
        return x.flatten(startDim);
    }

    @Override
    public String describe() {
        return startDim == 1 ? "Flatten" : "Flatten(start=" + startDim + ")";
    }
}
