package org.goldenstick.qat.slb;

import java.util.Arrays;
import org.goldenstick.nn.Layer;
import org.goldenstick.quant.QConv2d;
import org.goldenstick.quant.QuantParams;
import org.goldenstick.tensor.Conv2dSpec;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.PackedBitsKernels;
import org.goldenstick.tensor.kernel.Parallel;

/**
 * The deploy form of {@link Conv2dSlbQuant}: weights held bit-packed ({@link org.goldenstick.tensor.kernel.PackedBits}, 1/2/4 bits each, one
 * {@code PackedBits} per group with the per-channel scales) and computed on the packed form: each image is unfolded
 * (im2col, rows = output pixels) and multiplied by {@link PackedBitsKernels#gemm}, which decodes the levels in
 * registers (its scalar path is selected by {@code Kernels.useVector(false)}).
 *
 * <p>On disk ({@link #save}): {@code <prefix>weight_packed} U8, the level indices of {@code [out, in/groups·kh·kw]}
 * densely packed LSB-first ({@code bits} per weight); {@code <prefix>weight_scale} F32 {@code [out]};
 * {@code <prefix>bias} F32; geometry and levels in metadata {@code <prefix>slb}.
 *
 * <pre>{@code
 * PackedConv2d c = PackedConv2d.of(index, 2, scales, PackedBits.linspaceLevels(2), 8, 3, 3, 3, Conv2dSpec.of(1, 1, 1, 1), null);
 * Tensor y = c.forward(x);
 * }</pre>
 */
public final class PackedConv2d extends PackedLayer {
    private final int inPerGroup, kH, kW;
    private final Conv2dSpec spec;

    private PackedConv2d(int bits, int outChannels, int inPerGroup, int kH, int kW, Conv2dSpec spec, float[] levels) {
        super(bits, outChannels, inPerGroup * kH * kW, spec.groups(), levels);
        this.inPerGroup = inPerGroup;
        this.kH = kH;
        this.kW = kW;
        this.spec = spec;
    }

    /** From level indices {@code [out, in/groups·kh·kw]} (row-major), per-channel scales and the level table. */
    public static PackedConv2d of(int[] index, int bits, float[] scale, float[] levels, int outChannels, int inPerGroup, int kH, int kW,
            Conv2dSpec spec, float[] bias) {
        PackedConv2d c = new PackedConv2d(bits, outChannels, inPerGroup, kH, kW, spec, levels);
        c.set(index, scale, bias);
        return c;
    }

    /** The real-valued weight {@code [out, in/groups, kh, kw]} (scale · level), for export and tests. */
    public Tensor dequantizedWeight() {
        return Tensor.of(dequantizedValues(), outChannels(), inPerGroup, kH, kW);
    }

    public Conv2dSpec spec() { return spec; }

    public int kernelH() { return kH; }

    public int kernelW() { return kW; }

    @Override
    Tensor packedForward(Tensor x) {
        if (x.rank() != 4 || x.dim(1) != inPerGroup * spec.groups()) {
            throw new IllegalArgumentException("PackedConv2d: input " + Arrays.toString(x.shape()) + ", expected [N, " + inPerGroup * spec.groups() + ", H, W]");
        }
        int n = x.dim(0), h = x.dim(2), w = x.dim(3);
        int oh = (h + spec.padTop() + spec.padBottom() - spec.dilationH() * (kH - 1) - 1) / spec.strideH() + 1;
        int ow = (w + spec.padLeft() + spec.padRight() - spec.dilationW() * (kW - 1) - 1) / spec.strideW() + 1;
        if (oh <= 0 || ow <= 0) throw new IllegalArgumentException("PackedConv2d: input " + h + "x" + w + " too small for kernel " + kH + "x" + kW);
        int outChannels = outChannels(), groups = spec.groups(), rows = outChannels / groups, cols = inPerGroup * kH * kW, pix = oh * ow;
        float[] xd = x.data(), out = new float[n * outChannels * pix];
        Parallel.forEach(n * groups, task -> {
            int img = task / groups, g = task % groups;
            float[] col = new float[pix * cols], y = new float[pix * rows];
            im2col(xd, (img * groups * inPerGroup + g * inPerGroup) * h * w, h, w, oh, ow, col, cols);
            PackedBitsKernels.gemm(pix, col, 0, cols, groupWeights(g), y, 0, rows, false);
            for (int r = 0; r < rows; r++) {
                int oc = g * rows + r, o = (img * outChannels + oc) * pix;
                float b = bias(oc);
                for (int p = 0; p < pix; p++) out[o + p] = y[p * rows + r] + b;
            }
        });
        return Tensor.of(out, n, outChannels, oh, ow);
    }

    /** Row p of {@code col} = the receptive field of output pixel p, ordered (channel, ky, kx) like the weight. */
    private void im2col(float[] x, int xOff, int h, int w, int oh, int ow, float[] col, int cols) {
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                int row = (oy * ow + ox) * cols, c = 0;
                for (int ic = 0; ic < inPerGroup; ic++)
                    for (int ky = 0; ky < kH; ky++) {
                        int iy = oy * spec.strideH() - spec.padTop() + ky * spec.dilationH();
                        for (int kx = 0; kx < kW; kx++, c++) {
                            int ix = ox * spec.strideW() - spec.padLeft() + kx * spec.dilationW();
                            col[row + c] = iy < 0 || iy >= h || ix < 0 || ix >= w ? 0f : x[xOff + (ic * h + iy) * w + ix];
                        }
                    }
            }
    }

    @Override
    Layer integerForm(float[] weight, Tensor bias, QuantParams weightGrid, QuantParams input, QuantParams output) {
        return QConv2d.quantize(Tensor.of(weight, outChannels(), inPerGroup, kH, kW), bias, spec, weightGrid, input, output);
    }

    @Override
    String geometry() {
        return "bits=" + bits() + ";out=" + outChannels() + ";in_per_group=" + inPerGroup + ";kh=" + kH + ";kw=" + kW + ";spec=" + spec + ";levels="
                + Arrays.toString(levels());
    }

    @Override
    public String describe() {
        return "PackedConv2d(" + inPerGroup * spec.groups() + " -> " + outChannels() + ", kernel=" + kH + "x" + kW + ", " + bits() + "-bit packed)";
    }
}
