package org.goldenstick.qat.slb;

import java.util.Arrays;
import java.util.Map;
import org.goldenstick.formats.safetensors.SafetensorsFile;
import org.goldenstick.formats.safetensors.SafetensorsWriter;
import org.goldenstick.nn.Module;
import org.goldenstick.quant.DeployLayer;
import org.goldenstick.tensor.Conv2dSpec;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.PackedBits;
import org.goldenstick.tensor.kernel.PackedBitsKernels;
import org.goldenstick.tensor.kernel.Parallel;

/**
 * The deploy form of {@link Conv2dSlbQuant}: weights held bit-packed ({@link PackedBits}, 1/2/4 bits each, one
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
public final class PackedConv2d extends Module implements DeployLayer {
    private final int bits, outChannels, inPerGroup, kH, kW;
    private final Conv2dSpec spec;
    private PackedBits[] groupWeights;
    private float[] scale, bias;
    private final float[] levels;

    private PackedConv2d(int bits, int outChannels, int inPerGroup, int kH, int kW, Conv2dSpec spec, float[] levels) {
        this.bits = bits;
        this.outChannels = outChannels;
        this.inPerGroup = inPerGroup;
        this.kH = kH;
        this.kW = kW;
        this.spec = spec;
        this.levels = levels.clone();
    }

    /** From level indices {@code [out, in/groups·kh·kw]} (row-major), per-channel scales and the level table. */
    public static PackedConv2d of(int[] index, int bits, float[] scale, float[] levels, int outChannels, int inPerGroup, int kH, int kW,
            Conv2dSpec spec, float[] bias) {
        if (outChannels % spec.groups() != 0) throw new IllegalArgumentException("PackedConv2d: out=" + outChannels + " not divisible by groups=" + spec.groups());
        if (index.length != outChannels * inPerGroup * kH * kW) {
            throw new IllegalArgumentException("PackedConv2d: " + index.length + " indices for weight [" + outChannels + ", " + inPerGroup + ", " + kH + ", " + kW + "]");
        }
        if (bias != null && bias.length != outChannels) throw new IllegalArgumentException("PackedConv2d: bias length " + bias.length + ", expected " + outChannels);
        PackedConv2d c = new PackedConv2d(bits, outChannels, inPerGroup, kH, kW, spec, levels);
        c.set(index, scale, bias);
        return c;
    }

    private void set(int[] index, float[] scale, float[] bias) {
        if (scale.length != outChannels) throw new IllegalArgumentException("PackedConv2d: " + scale.length + " scales, expected " + outChannels);
        int g = spec.groups(), rows = outChannels / g, cols = inPerGroup * kH * kW;
        PackedBits[] ws = new PackedBits[g];
        for (int i = 0; i < g; i++) {
            ws[i] = PackedBits.pack(bits, Arrays.copyOfRange(index, i * rows * cols, (i + 1) * rows * cols), rows, cols,
                    Arrays.copyOfRange(scale, i * rows, (i + 1) * rows), levels);
        }
        this.groupWeights = ws;
        this.scale = scale.clone();
        this.bias = bias == null ? null : bias.clone();
    }

    public int bits() { return bits; }

    /** The level index of every weight, {@code [out, in/groups·kh·kw]}. */
    public int[] levelIndex() {
        int rows = outChannels / spec.groups(), cols = inPerGroup * kH * kW;
        int[] idx = new int[outChannels * cols];
        for (int g = 0; g < groupWeights.length; g++)
            for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) idx[(g * rows + r) * cols + c] = groupWeights[g].index(r, c);
        return idx;
    }

    /** The real-valued weight {@code [out, in/groups, kh, kw]} (scale · level), for export and tests. */
    public Tensor dequantizedWeight() {
        int[] idx = levelIndex();
        int cols = inPerGroup * kH * kW;
        float[] w = new float[idx.length];
        for (int i = 0; i < idx.length; i++) w[i] = scale[i / cols] * levels[idx[i]];
        return Tensor.of(w, outChannels, inPerGroup, kH, kW);
    }

    public float[] biasValues() { return bias == null ? null : bias.clone(); }

    public Conv2dSpec spec() { return spec; }

    /** Bytes of the packed indices as stored on disk (bits per weight, rounded up to a byte). */
    public long packedBytes() {
        return ((long) outChannels * inPerGroup * kH * kW * bits + 7) / 8;
    }

    @Override
    public Tensor forward(Tensor x) {
        if (x.rank() != 4 || x.dim(1) != inPerGroup * spec.groups()) {
            throw new IllegalArgumentException("PackedConv2d: input " + Arrays.toString(x.shape()) + ", expected [N, " + inPerGroup * spec.groups() + ", H, W]");
        }
        int n = x.dim(0), h = x.dim(2), w = x.dim(3);
        int oh = (h + spec.padTop() + spec.padBottom() - spec.dilationH() * (kH - 1) - 1) / spec.strideH() + 1;
        int ow = (w + spec.padLeft() + spec.padRight() - spec.dilationW() * (kW - 1) - 1) / spec.strideW() + 1;
        if (oh <= 0 || ow <= 0) throw new IllegalArgumentException("PackedConv2d: input " + h + "x" + w + " too small for kernel " + kH + "x" + kW);
        int groups = spec.groups(), rows = outChannels / groups, cols = inPerGroup * kH * kW, pix = oh * ow;
        float[] xd = x.data(), out = new float[n * outChannels * pix];
        Parallel.forEach(n * groups, task -> {
            int img = task / groups, g = task % groups;
            float[] col = new float[pix * cols], y = new float[pix * rows];
            im2col(xd, (img * groups * inPerGroup + g * inPerGroup) * h * w, h, w, oh, ow, col, cols);
            PackedBitsKernels.gemm(pix, col, 0, cols, groupWeights[g], y, 0, rows, false);
            for (int r = 0; r < rows; r++) {
                int oc = g * rows + r, o = (img * outChannels + oc) * pix;
                float b = bias == null ? 0f : bias[oc];
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

    private String geometry() {
        return "bits=" + bits + ";out=" + outChannels + ";in_per_group=" + inPerGroup + ";kh=" + kH + ";kw=" + kW + ";spec=" + spec + ";levels="
                + Arrays.toString(levels);
    }

    @Override
    public void save(String prefix, SafetensorsWriter out, Map<String, String> metadata) {
        int[] idx = levelIndex();
        byte[] packed = new byte[(int) packedBytes()];
        for (int i = 0; i < idx.length; i++) {
            long bit = (long) i * bits;
            packed[(int) (bit >>> 3)] |= (byte) (idx[i] << (bit & 7));
        }
        out.addUint8(prefix + "weight_packed", packed, packed.length);
        out.addFloats(prefix + "weight_scale", scale, org.goldenstick.formats.safetensors.DType.F32, outChannels);
        if (bias != null) out.addFloats(prefix + "bias", bias, org.goldenstick.formats.safetensors.DType.F32, outChannels);
        metadata.put(prefix + "slb", geometry());
    }

    @Override
    public void load(String prefix, SafetensorsFile in) {
        String meta = in.metadata().get(prefix + "slb");
        for (int hops = 0; meta != null && meta.startsWith("@") && hops < 8; hops++) meta = in.metadata().get(meta.substring(1)); // DeployIO stores repeats once
        if (!geometry().equals(meta)) {
            throw new IllegalArgumentException(in.path() + ": packed conv '" + prefix + "' has geometry " + meta + ", this network expects " + geometry());
        }
        byte[] packed = in.uint8(prefix + "weight_packed");
        if (packed.length != packedBytes()) throw new IllegalArgumentException(in.path() + ": '" + prefix + "weight_packed' has " + packed.length + " bytes, expected " + packedBytes());
        int[] idx = new int[outChannels * inPerGroup * kH * kW];
        int mask = (1 << bits) - 1;
        for (int i = 0; i < idx.length; i++) {
            long bit = (long) i * bits;
            idx[i] = ((packed[(int) (bit >>> 3)] & 0xFF) >>> (bit & 7)) & mask;
        }
        float[] s = in.floats(prefix + "weight_scale");
        float[] b = in.contains(prefix + "bias") ? in.floats(prefix + "bias") : null;
        if ((b == null) != (bias == null)) throw new IllegalArgumentException(in.path() + ": bias presence of '" + prefix + "' differs from the network");
        set(idx, s, b);
    }

    @Override
    public String describe() {
        return "PackedConv2d(" + inPerGroup * spec.groups() + " -> " + outChannels + ", kernel=" + kH + "x" + kW + ", " + bits + "-bit packed)";
    }
}
