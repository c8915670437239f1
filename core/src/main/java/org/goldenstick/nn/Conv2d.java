package org.goldenstick.nn;

import java.util.Random;
import org.goldenstick.tensor.Conv2dSpec;
import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;

/**
 * 2-D convolution over {@code [N, C, H, W]} with weight {@code [out, in/groups, kH, kW]} and optional bias
 * {@code [out]}. Initialised as PyTorch does: Kaiming-uniform (a = √5, fan-in) weights and a uniform bias
 * in ±1/√fanIn.
 *
 * <pre>{@code
 * var conv = new Conv2d(3, 16, 3, 1, 1, rng);               // 3×3, stride 1, padding 1, with bias
 * var dw = new Conv2d(32, 32, 3, 1, 1, 1, 32, false, rng);   // depthwise, no bias
 * }</pre>
 */
public class Conv2d extends Layer {
    private final int inChannels, outChannels, kernelH, kernelW, strideH, strideW, padH, padW, dilationH, dilationW, groups;

    /** Square kernel, stride, padding and dilation. */
    public Conv2d(int inChannels, int outChannels, int kernel, int stride, int padding, int dilation, int groups, boolean bias, Random rng) {
        this(inChannels, outChannels, kernel, kernel, stride, stride, padding, padding, dilation, dilation, groups, bias, rng);
    }

    public Conv2d(int inChannels, int outChannels, int kernel, int stride, int padding, boolean bias, Random rng) {
        this(inChannels, outChannels, kernel, stride, padding, 1, 1, bias, rng);
    }

    public Conv2d(int inChannels, int outChannels, int kernel, int stride, int padding, Random rng) {
        this(inChannels, outChannels, kernel, stride, padding, 1, 1, true, rng);
    }

    public Conv2d(int inChannels, int outChannels, int kernelH, int kernelW, int strideH, int strideW, int padH, int padW,
            int dilationH, int dilationW, int groups, boolean bias, Random rng) {
        if (inChannels <= 0 || outChannels <= 0) throw new IllegalArgumentException("Conv2d: channels must be positive, got in=" + inChannels + " out=" + outChannels);
        if (groups <= 0 || inChannels % groups != 0 || outChannels % groups != 0) {
            throw new IllegalArgumentException("Conv2d: groups=" + groups + " must divide in=" + inChannels + " and out=" + outChannels);
        }
        if (kernelH <= 0 || kernelW <= 0 || strideH <= 0 || strideW <= 0 || dilationH <= 0 || dilationW <= 0 || padH < 0 || padW < 0) {
            throw new IllegalArgumentException("Conv2d: bad geometry kernel=" + kernelH + "x" + kernelW + " stride=" + strideH + "x" + strideW
                    + " padding=" + padH + "x" + padW + " dilation=" + dilationH + "x" + dilationW);
        }
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kernelH = kernelH;
        this.kernelW = kernelW;
        this.strideH = strideH;
        this.strideW = strideW;
        this.padH = padH;
        this.padW = padW;
        this.dilationH = dilationH;
        this.dilationW = dilationW;
        this.groups = groups;
        Tensor w = Tensor.zeros(outChannels, inChannels / groups, kernelH, kernelW);
        Init.kaimingUniform(w, Math.sqrt(5), Init.Fan.IN, rng);
        registerParameter("weight", w);
        if (bias) {
            double bound = 1.0 / Math.sqrt(Init.fans(w)[0]);
            registerParameter("bias", Init.uniform(Tensor.zeros(outChannels), -bound, bound, rng));
        }
    }

    public Tensor weight() {
        return parameter("weight");
    }

    /** The bias, or null. */
    public Tensor bias() {
        return parameter("bias");
    }

    public boolean hasBias() {
        return bias() != null;
    }

    public int inChannels() { return inChannels; }
    public int outChannels() { return outChannels; }
    public int kernelH() { return kernelH; }
    public int kernelW() { return kernelW; }
    public int strideH() { return strideH; }
    public int strideW() { return strideW; }
    public int paddingH() { return padH; }
    public int paddingW() { return padW; }
    public int dilationH() { return dilationH; }
    public int dilationW() { return dilationW; }
    public int groups() { return groups; }

    /** The op-level description of this layer's geometry (symmetric padding). */
    public Conv2dSpec spec() {
        return new Conv2dSpec(strideH, strideW, padH, padW, padH, padW, dilationH, dilationW, groups);
    }

    /** Output spatial size {@code [outH, outW]} for an input of {@code h × w}. */
    public int[] outputSize(int h, int w) {
        return new int[] {
            (h + 2 * padH - dilationH * (kernelH - 1) - 1) / strideH + 1,
            (w + 2 * padW - dilationW * (kernelW - 1) - 1) / strideW + 1};
    }

    @Override
    protected Tensor compute(Tensor x) {
        return Functional.conv2d(x, weight(), bias(), spec());
    }

    @Override
    public String describe() {
        StringBuilder sb = new StringBuilder("Conv2d(").append(inChannels).append(" -> ").append(outChannels)
                .append(", kernel=").append(pair(kernelH, kernelW));
        if (strideH != 1 || strideW != 1) sb.append(", stride=").append(pair(strideH, strideW));
        if (padH != 0 || padW != 0) sb.append(", padding=").append(pair(padH, padW));
        if (dilationH != 1 || dilationW != 1) sb.append(", dilation=").append(pair(dilationH, dilationW));
        if (groups != 1) sb.append(", groups=").append(groups);
        if (!hasBias()) sb.append(", no bias");
        return sb.append(')').toString();
    }

    static String pair(int a, int b) {
        return a == b ? Integer.toString(a) : a + "x" + b;
    }
}
