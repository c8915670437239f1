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
public class AvgPool2d extends Layer {
    private final int kernelH, kernelW, strideH, strideW, padH, padW;
    private final boolean countIncludePad;

    public AvgPool2d(int kernel) {
        this(kernel, kernel, 0, true);
    }

    public AvgPool2d(int kernel, int stride, int padding, boolean countIncludePad) {
        this(kernel, kernel, stride, stride, padding, padding, countIncludePad);
    }

    /** A rectangular window: kernel, stride and padding per axis (height, width). */
    public AvgPool2d(int kernelH, int kernelW, int strideH, int strideW, int padH, int padW, boolean countIncludePad) {
        if (kernelH <= 0 || kernelW <= 0 || strideH <= 0 || strideW <= 0 || padH < 0 || padW < 0 || padH * 2 > kernelH || padW * 2 > kernelW) {
            throw new IllegalArgumentException("AvgPool2d: bad geometry kernel=" + Conv2d.pair(kernelH, kernelW) + " stride=" + Conv2d.pair(strideH, strideW)
                    + " padding=" + Conv2d.pair(padH, padW) + " (padding must be at most half the kernel)");
        }
        this.kernelH = kernelH;
        this.kernelW = kernelW;
        this.strideH = strideH;
        this.strideW = strideW;
        this.padH = padH;
        this.padW = padW;
        this.countIncludePad = countIncludePad;
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
    public boolean countIncludePad() { return countIncludePad; }

    @Override
    protected Tensor compute(Tensor x) {
        return Functional.avgPool2d(x, kernelH, kernelW, strideH, strideW, padH, padW, countIncludePad);
    }

    @Override
    public String describe() {
        return "AvgPool2d(kernel=" + Conv2d.pair(kernelH, kernelW) + (strideH != kernelH || strideW != kernelW ? ", stride=" + Conv2d.pair(strideH, strideW) : "")
                + (padH != 0 || padW != 0 ? ", padding=" + Conv2d.pair(padH, padW) : "") + (countIncludePad ? "" : ", count_include_pad=false") + ")";
    }
}
