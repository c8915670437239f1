package org.goldenstick.quant;

import org.goldenstick.tensor.Tensor;

/**
 * Per-tensor running min/max over every batch seen (upstream PTQ {@code MinMaxPerLayer}).
 *
 * <pre>{@code
 * var obs = new MinMaxObserver();
 * obs.forward(x);
 * float lo = obs.mins()[0];
 * }</pre>
 */
public final class MinMaxObserver extends Observer {
    public MinMaxObserver() {
        super(1);
    }

    @Override
    protected void observe(Tensor x) {
        float[] r = rangeOf(x.data());
        float[] lo = buffer("min").data(), hi = buffer("max").data();
        lo[0] = Math.min(lo[0], r[0]);
        hi[0] = Math.max(hi[0], r[1]);
    }

    @Override
    public int axis() {
        return -1;
    }
}
