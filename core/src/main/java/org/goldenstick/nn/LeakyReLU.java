package org.goldenstick.nn;

import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;

/**
 * {@code x} where {@code x ≥ 0}, {@code slope·x} elsewhere (ONNX LeakyRelu with {@code alpha = slope}).
 *
 * <pre>{@code
 * var act = new LeakyReLU(0.1f);
 * }</pre>
 */
public class LeakyReLU extends Layer {
    private final float slope;

    public LeakyReLU() {
        this(0.01f);
    }

    public LeakyReLU(float slope) {
        if (!Float.isFinite(slope)) throw new IllegalArgumentException("LeakyReLU: slope must be finite, got " + slope);
        this.slope = slope;
    }

    public float slope() {
        return slope;
    }

    @Override
    protected Tensor compute(Tensor x) {
        return Functional.leakyRelu(x, slope);
    }

    @Override
    public String describe() {
        return "LeakyReLU(" + slope + ")";
    }
}
