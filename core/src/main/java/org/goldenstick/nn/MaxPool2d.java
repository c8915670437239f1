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
    private final int kernelH, kernelW, strideH, strideW, padH, padW;

    public MaxPool2d(int kernel) {
        this(kernel, kernel, 0);
    }

    public MaxPool2d(int kernel, int stride, int padding) {
        this(kernel, kernel, stride, stride, padding, padding);
    }

    /** A rectangular window: kernel, stride and padding per axis (height, width). */
    public MaxPool2d(int kernelH, int kernelW, int strideH, int strideW, int padH, int padW) {
        if (kernelH <= 0 || kernelW <= 0 || strideH <= 0 || strideW <= 0 || padH < 0 || padW < 0 || padH * 2 > kernelH || padW * 2 > kernelW) {
            throw new IllegalArgumentException("MaxPool2d: bad geometry kernel=" + Conv2d.pair(kernelH, kernelW) + " stride=" + Conv2d.pair(strideH, strideW)
                    + " padding=" + Conv2d.pair(padH, padW) + " (padding must be at most half the kernel)");
        }
        this.kernelH = kernelH;
        this.kernelW = kernelW;
        this.strideH = strideH;
        this.strideW = strideW;
        this.padH = padH;
        this.padW = padW;
    }

    /** The window's height (its size, for a square window). */
    public int kernelSize() { return kernelH; }
    /** The vertical stride (the stride, for equal strides). */
    public int stride() { return strideH; }
    /** The vertical padding (the padding, for equal paddings). */
    public int padding() { return padH; }
    public int kernelH() { return kernelH; }
    public int kernelW() { return kernelW; }
    public int strideH() { return strideH; }
    public int strideW() { return strideW; }
    public int paddingH() { return padH; }
    public int paddingW() { return padW; }

    @Override
    protected Tensor compute(Tensor x) {
        return Functional.maxPool2d(x, kernelH, kernelW, strideH, strideW, padH, padW);
    }

    @Override
    public String describe() {
        return "MaxPool2d(kernel=" + Conv2d.pair(kernelH, kernelW) + (strideH != kernelH || strideW != kernelW ? ", stride=" + Conv2d.pair(strideH, strideW) : "")
                + (padH != 0 || padW != 0 ? ", padding=" + Conv2d.pair(padH, padW) : "") + ")";
    }
}
