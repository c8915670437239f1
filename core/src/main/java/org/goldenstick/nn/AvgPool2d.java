package org.goldenstick.nn;

import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;

/**
 * Average pooling over {@code [N, C, H, W]}; the stride defaults to the kernel size and padded cells count
 * in the divisor ({@code count_include_pad=True}), as in PyTorch.
 *
 * <pre>{@code
 * var pool = new AvgPool2d(2);
 * }</pre>
 */
public class AvgPool2d extends Pool2d {
    private final boolean countIncludePad;

    public AvgPool2d(int kernel) {
        this(kernel, kernel, 0, true);
    }

    public AvgPool2d(int kernel, int stride, int padding, boolean countIncludePad) {
        this(kernel, kernel, stride, stride, padding, padding, countIncludePad);
    }

    /** A rectangular window: kernel, stride and padding per axis (height, width). */
    public AvgPool2d(int kernelH, int kernelW, int strideH, int strideW, int padH, int padW, boolean countIncludePad) {
        super(kernelH, kernelW, strideH, strideW, padH, padW);
        this.countIncludePad = countIncludePad;
    }

    public boolean countIncludePad() { return countIncludePad; }

    @Override
    protected Tensor compute(Tensor x) {
        return Functional.avgPool2d(x, kernelH(), kernelW(), strideH(), strideW(), paddingH(), paddingW(), countIncludePad);
    }

    @Override
    public String describe() {
        return "AvgPool2d(" + geometry() + (countIncludePad ? "" : ", count_include_pad=false") + ")";
    }
}
