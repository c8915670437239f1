package org.goldenstick.tensor;

/**
 * Geometry of a 2-D convolution: strides, the four paddings (asymmetric padding as ONNX allows), dilations
 * and the number of groups.
 *
 * <pre>{@code
 * Conv2dSpec same3x3 = Conv2dSpec.of(1, 1, 1, 1);          // stride 1, pad 1, no dilation, 1 group
 * Conv2dSpec depthwise = Conv2dSpec.of(2, 1, 1, channels); // stride 2, one group per channel
 * }</pre>
 *
 * @param strideH   vertical stride (&ge; 1)
 * @param strideW   horizontal stride (&ge; 1)
 * @param padTop    zero rows added above (&ge; 0)
 * @param padLeft   zero columns added on the left (&ge; 0)
 * @param padBottom zero rows added below (&ge; 0)
 * @param padRight  zero columns added on the right (&ge; 0)
 * @param dilationH vertical spacing of kernel taps (&ge; 1)
 * @param dilationW horizontal spacing of kernel taps (&ge; 1)
 * @param groups    input and output channels are split into this many independent groups (&ge; 1)
 */
public record Conv2dSpec(int strideH, int strideW, int padTop, int padLeft, int padBottom, int padRight,
                         int dilationH, int dilationW, int groups) {
    public Conv2dSpec {
        if (strideH < 1 || strideW < 1) throw new IllegalArgumentException("Conv2dSpec: strides must be >= 1, got " + strideH + "x" + strideW);
        if (padTop < 0 || padLeft < 0 || padBottom < 0 || padRight < 0) {
            throw new IllegalArgumentException("Conv2dSpec: paddings must be >= 0, got top " + padTop + ", left " + padLeft
                    + ", bottom " + padBottom + ", right " + padRight);
        }
        if (dilationH < 1 || dilationW < 1) throw new IllegalArgumentException("Conv2dSpec: dilations must be >= 1, got " + dilationH + "x" + dilationW);
        if (groups < 1) throw new IllegalArgumentException("Conv2dSpec: groups must be >= 1, got " + groups);
    }

    /** Symmetric spec: the same stride, padding and dilation in both directions. */
    public static Conv2dSpec of(int stride, int padding, int dilation, int groups) {
        return new Conv2dSpec(stride, stride, padding, padding, padding, padding, dilation, dilation, groups);
    }

    /** Output height for an input of height {@code h} and a kernel of height {@code kH}. */
    public int outHeight(int h, int kH) {
        return (h + padTop + padBottom - dilationH * (kH - 1) - 1) / strideH + 1;
    }

    /** Output width for an input of width {@code w} and a kernel of width {@code kW}. */
    public int outWidth(int w, int kW) {
        return (w + padLeft + padRight - dilationW * (kW - 1) - 1) / strideW + 1;
    }
}
