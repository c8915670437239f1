package org.goldenstick.nn;

import org.goldenstick.tensor.Tensor;

/**
 * {@code max(0, min(1, alpha·x + beta))}, element-wise (ONNX HardSigmoid; its defaults are alpha 0.2, beta 0.5,
 * PyTorch's {@code hardsigmoid} is alpha 1/6, beta 0.5).
 *
 * <pre>{@code
 * var hs = new HardSigmoid(0.2f, 0.5f);
 * }</pre>
 */
public class HardSigmoid extends Layer {
    private final float alpha, beta;

    public HardSigmoid(float alpha, float beta) {
        if (!Float.isFinite(alpha) || !Float.isFinite(beta)) throw new IllegalArgumentException("HardSigmoid: alpha and beta must be finite, got " + alpha + ", " + beta);
        this.alpha = alpha;
        this.beta = beta;
    }

    public float alpha() { return alpha; }
    public float beta() { return beta; }

    @Override
    protected Tensor compute(Tensor x) {
        return x.mul(alpha).add(beta).clamp(0f, 1f);
    }

    @Override
    public String describe() {
        return "HardSigmoid(alpha=" + alpha + ", beta=" + beta + ")";
    }
}
