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
    private final int kernel, stride, padding;
    private final boolean countIncludePad;

    public AvgPool2d(int kernel) {
        this(kernel, kernel, 0, true);
    }

    public AvgPool2d(int kernel, int stride, int padding, boolean countIncludePad) {
        if (kernel <= 0 || stride <= 0 || padding < 0 || padding * 2 > kernel) {
            throw new IllegalArgumentException("AvgPool2d: bad geometry kernel=" + kernel + " stride=" + stride + " padding=" + padding + " (padding must be at most half the kernel)");
        }
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
        this.countIncludePad = countIncludePad;
    }

    public int kernelSize() { return kernel; }
    public int stride() { return stride; }
    public int padding() { return padding; }
    public boolean countIncludePad() { return countIncludePad; }

    @Override
    protected Tensor compute(Tensor x) {
        return Functional.avgPool2d(x, kernel, kernel, stride, stride, padding, padding, countIncludePad);
    }

    @Override
    public String describe() {
        return "AvgPool2d(kernel=" + kernel + (stride != kernel ? ", stride=" + stride : "") + (padding != 0 ? ", padding=" + padding : "")
                + (countIncludePad ? "" : ", count_include_pad=false") + ")";
    }
}
