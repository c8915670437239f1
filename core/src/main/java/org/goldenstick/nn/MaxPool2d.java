package org.goldenstick.nn;

import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;

/**
 * Max pooling over {@code [N, C, H, W]}; the stride defaults to the kernel size, as in PyTorch.
 *
 * <pre>{@code
 * var pool = new MaxPool2d(2);                 // 2×2, stride 2
 * var pool3 = new MaxPool2d(3, 2, 1);          // 3×3, stride 2, padding 1
 * }</pre>
 */
public class MaxPool2d extends Layer {
    private final int kernel, stride, padding;

    public MaxPool2d(int kernel) {
        this(kernel, kernel, 0);
    }

    public MaxPool2d(int kernel, int stride, int padding) {
        if (kernel <= 0 || stride <= 0 || padding < 0 || padding * 2 > kernel) {
            throw new IllegalArgumentException("MaxPool2d: bad geometry kernel=" + kernel + " stride=" + stride + " padding=" + padding + " (padding must be at most half the kernel)");
        }
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
    }

    public int kernelSize() { return kernel; }
    public int stride() { return stride; }
    public int padding() { return padding; }

    @Override
    protected Tensor compute(Tensor x) {
        return Functional.maxPool2d(x, kernel, kernel, stride, stride, padding, padding);
    }

    @Override
    public String describe() {
        return "MaxPool2d(kernel=" + kernel + (stride != kernel ? ", stride=" + stride : "") + (padding != 0 ? ", padding=" + padding : "") + ")";
    }
}
