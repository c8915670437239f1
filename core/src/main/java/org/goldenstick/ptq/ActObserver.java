package org.goldenstick.ptq;

import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;

/**
 * Calibration wrapper around a float linear layer: records the running per-input-channel max|x| of everything that
 * flows in (SmoothQuant's activation statistics), rejects NaN/Inf, and returns the wrapped layer's output unchanged.
 * Memory: one float per input channel, whatever the calibration set size.
 */
final class ActObserver extends Module {
    private final String layer;
    private final Linear linear;
    private final float[] absMax;
    private long tokens;

    ActObserver(String layer, Linear linear) {
        this.layer = layer;
        this.linear = linear;
        this.absMax = new float[linear.inFeatures()];
    }

    Linear linear() {
        return linear;
    }

    float[] absMax() {
        return absMax;
    }

    long tokens() {
        return tokens;
    }

    /** Sets the statistics to those of an interrupted run (resume). */
    void restore(float[] savedAbsMax, long savedTokens) {
        System.arraycopy(savedAbsMax, 0, absMax, 0, absMax.length);
        tokens = savedTokens;
    }

    @Override
    public Tensor forward(Tensor x) {
        float[] d = x.data();
        int in = absMax.length;
        int rows = d.length / in;
        for (int r = 0; r < rows; r++) {
            int o = r * in;
            for (int k = 0; k < in; k++) {
                float v = d[o + k];
                if (!Float.isFinite(v)) throw new ArithmeticException("calibration: non-finite activation " + v + " at the input of " + layer + " (token " + (tokens + r) + ", channel " + k + ")");
                float a = Math.abs(v);
                if (a > absMax[k]) absMax[k] = a;
            }
        }
        tokens += rows;
        return linear.forward(x);
    }

    @Override
    public String describe() {
        return "ActObserver(" + linear.describe() + ")";
    }
}
