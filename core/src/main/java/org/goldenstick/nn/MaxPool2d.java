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
public class MaxPool2d extends Pool2d {
    public MaxPool2d(int kernel) {
        this(kernel, kernel, 0);
    }

    public MaxPool2d(int kernel, int stride, int padding) {
        this(kernel, kernel, stride, stride, padding, padding);
    }

    /** A rectangular window: kernel, stride and padding per axis (height, width). */
    public MaxPool2d(int kernelH, int kernelW, int strideH, int strideW, int padH, int padW) {
        super(kernelH, kernelW, strideH, strideW, padH, padW);
    }

    @Override
    protected Tensor compute(Tensor x) {
        return Functional.maxPool2d(x, kernelH(), kernelW(), strideH(), strideW(), paddingH(), paddingW());
    }

    @Override
    public String describe() {
        return "MaxPool2d(" + geometry() + ")";
    }
}
