package org.goldenstick.ptq;

import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.Sgemm;

/**
 * Calibration wrapper around a float linear layer that accumulates the GPTQ Hessian of its inputs,
 * {@code H = 2/n · Σ x xᵀ} over the n tokens seen (each forward adds {@code XᵀX} through the SGEMM in float, summed
 * into float64), rejects NaN/Inf and returns the wrapped layer's output unchanged. Memory: {@code in²} doubles.
 */
final class HessianObserver extends Module {
    private final String layer;
    private final Linear linear;
    private final double[] sum;
    private long tokens;

    HessianObserver(String layer, Linear linear) {
        this.layer = layer;
        this.linear = linear;
        this.sum = new double[linear.inFeatures() * linear.inFeatures()];
    }

    Linear linear() {
        return linear;
    }

    long tokens() {
        return tokens;
    }

    /** {@code 2/n · Σ x xᵀ} (row-major in × in). */
    double[] hessian() {
        double[] h = new double[sum.length];
        if (tokens == 0) return h;
        for (int i = 0; i < h.length; i++) h[i] = 2 * sum[i] / tokens;
        return h;
    }

    @Override
    public Tensor forward(Tensor x) {
        float[] d = x.data();
        int in = linear.inFeatures(), rows = d.length / in;
        for (int i = 0; i < d.length; i++) {
            if (!Float.isFinite(d[i])) throw new ArithmeticException("calibration: non-finite activation " + d[i] + " at the input of " + layer + " (token " + (tokens + i / in) + ", channel " + i % in + ")");
        }
        float[] xtx = new float[in * in];
        Sgemm.gemm(true, false, in, in, rows, d, 0, in, d, 0, in, xtx, 0, in, false);
        for (int i = 0; i < xtx.length; i++) sum[i] += xtx[i];
        tokens += rows;
        return linear.forward(x);
    }

    @Override
    public String describe() {
        return "HessianObserver(" + linear.describe() + ")";
    }
}
