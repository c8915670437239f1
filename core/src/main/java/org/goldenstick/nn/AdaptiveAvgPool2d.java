package org.goldenstick.nn;

import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;

/**
 * Average pooling to a fixed output size {@code [outH, outW]} whatever the input size (PyTorch's bin edges);
 * {@code new AdaptiveAvgPool2d(1)} is global average pooling.
 */
public class AdaptiveAvgPool2d extends Layer {
    private final int outH, outW;

    public AdaptiveAvgPool2d(int outSize) {
        this(outSize, outSize);
    }

    public AdaptiveAvgPool2d(int outH, int outW) {
        if (outH <= 0 || outW <= 0) throw new IllegalArgumentException("AdaptiveAvgPool2d: output size must be positive, got " + outH + "x" + outW);
        this.outH = outH;
        this.outW = outW;
    }

    public int outputH() { return outH; }
    public int outputW() { return outW; }

    @Override
    protected Tensor compute(Tensor x) {
        return Functional.adaptiveAvgPool2d(x, outH, outW);
    }

    @Override
    public String describe() {
        return "AdaptiveAvgPool2d(" + Conv2d.pair(outH, outW) + ")";
    }
}
