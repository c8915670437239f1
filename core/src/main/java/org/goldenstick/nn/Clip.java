package org.goldenstick.nn;

import org.goldenstick.tensor.Tensor;

/**
 * {@code min(max(x, min), max)}, element-wise (ONNX Clip with constant bounds; either bound may be infinite). The
 * gradient passes where {@code min ≤ x ≤ max}. {@link ReLU6} and {@link ReLU} are the common special cases and are
 * kept as their own layers (the compression algorithms know them); this is for other bounds.
 *
 * <pre>{@code
 * var clip = new Clip(-1f, 1f);
 * }</pre>
 */
public class Clip extends Layer {
    private final float min, max;

    public Clip(float min, float max) {
        if (Float.isNaN(min) || Float.isNaN(max) || min > max) throw new IllegalArgumentException("Clip: need min <= max, got [" + min + ", " + max + "]");
        this.min = min;
        this.max = max;
    }

    public float min() { return min; }
    public float max() { return max; }

    @Override
    protected Tensor compute(Tensor x) {
        return x.clamp(min, max);
    }

    @Override
    public String describe() {
        return "Clip(" + min + ", " + max + ")";
    }
}
