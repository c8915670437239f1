package org.goldenstick.nn;

/**
 * The window geometry shared by {@link MaxPool2d} and {@link AvgPool2d}: kernel, stride and symmetric padding per axis
 * (height, width), the padding at most half the window.
 */
public abstract class Pool2d extends Layer {
    private final int kernelH, kernelW, strideH, strideW, padH, padW;

    protected Pool2d(int kernelH, int kernelW, int strideH, int strideW, int padH, int padW) {
        if (kernelH <= 0 || kernelW <= 0 || strideH <= 0 || strideW <= 0 || padH < 0 || padW < 0 || padH * 2 > kernelH || padW * 2 > kernelW) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": bad geometry kernel=" + Conv2d.pair(kernelH, kernelW) + " stride="
                    + Conv2d.pair(strideH, strideW) + " padding=" + Conv2d.pair(padH, padW) + " (padding must be at most half the kernel)");
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

    /** {@code kernel=…[, stride=…][, padding=…]} for {@link #describe()}. */
    protected String geometry() {
        return "kernel=" + Conv2d.pair(kernelH, kernelW) + (strideH != kernelH || strideW != kernelW ? ", stride=" + Conv2d.pair(strideH, strideW) : "")
                + (padH != 0 || padW != 0 ? ", padding=" + Conv2d.pair(padH, padW) : "");
    }
}
