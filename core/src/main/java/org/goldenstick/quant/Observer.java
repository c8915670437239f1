package org.goldenstick.quant;

import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;

/**
 * A calibration module: its forward records range statistics of what flows through it and returns the input
 * unchanged (as upstream PTQ observers do). The range is kept in buffers {@code min}/{@code max} so it is part of
 * the state dict; {@link #quantParams(QuantSpec)} turns it into scale and zero point.
 *
 * <pre>{@code
 * Observer obs = new MinMaxObserver();
 * for (Tensor batch : calibration) obs.forward(batch);
 * QuantParams p = obs.quantParams(QuantSpec.uint8Asymmetric());
 * }</pre>
 */
public abstract sealed class Observer extends Module permits MinMaxObserver, MovingAverageMinMaxObserver, PerChannelMinMaxObserver, HistogramObserver {
    protected Observer(int channels) {
        float[] lo = new float[channels], hi = new float[channels];
        java.util.Arrays.fill(lo, Float.POSITIVE_INFINITY);
        java.util.Arrays.fill(hi, Float.NEGATIVE_INFINITY);
        registerBuffer("min", Tensor.of(lo, channels));
        registerBuffer("max", Tensor.of(hi, channels));
    }

    /** Updates the statistics with one batch. */
    protected abstract void observe(Tensor x);

    /** The channel axis of the statistics, or -1 for per-tensor. */
    public abstract int axis();

    @Override
    public final Tensor forward(Tensor x) {
        observe(x);
        return x;
    }

    /** True once at least one batch was observed. */
    public boolean hasObserved() {
        return buffer("min").data()[0] <= buffer("max").data()[0];
    }

    public float[] mins() {
        return buffer("min").data().clone();
    }

    public float[] maxs() {
        return buffer("max").data().clone();
    }

    /** Scale and zero point for the recorded range; an error if nothing was observed. */
    public QuantParams quantParams(QuantSpec spec) {
        if (!hasObserved()) throw new IllegalStateException(getClass().getSimpleName() + ": no batch observed yet; run calibration data through it first");
        return spec.params(mins(), maxs(), axis());
    }

    /** Min and max of all elements, in one pass. */
    static float[] rangeOf(float[] x) {
        float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
        for (float v : x) {
            if (v < lo) lo = v;
            if (v > hi) hi = v;
        }
        return new float[] {lo, hi};
    }
}
