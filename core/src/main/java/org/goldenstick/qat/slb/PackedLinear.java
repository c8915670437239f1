package org.goldenstick.qat.slb;

import java.util.Arrays;
import org.goldenstick.nn.Layer;
import org.goldenstick.quant.QLinear;
import org.goldenstick.quant.QuantParams;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.PackedBitsKernels;

/**
 * The deploy form of {@link LinearSlbQuant}: {@code y = x·Wᵀ + b} with {@code W [out, in]} held bit-packed
 * ({@link PackedLayer}) and multiplied by {@link PackedBitsKernels#gemm}, which decodes the levels in registers (its
 * scalar path is selected by {@code Kernels.useVector(false)}). Input {@code [..., in]}, output {@code [..., out]}.
 *
 * <pre>{@code
 * PackedLinear fc = PackedLinear.of(index, 2, scales, PackedBits.linspaceLevels(2), 84, 120, bias);
 * Tensor y = fc.forward(x);
 * }</pre>
 */
public final class PackedLinear extends PackedLayer {
    private final int in;

    private PackedLinear(int bits, int out, int in, float[] levels) {
        super(bits, out, in, 1, levels);
        this.in = in;
    }

    /** From level indices {@code [out, in]} (row-major), per-output scales, the level table and an optional bias. */
    public static PackedLinear of(int[] index, int bits, float[] scale, float[] levels, int out, int in, float[] bias) {
        PackedLinear l = new PackedLinear(bits, out, in, levels);
        l.set(index, scale, bias);
        return l;
    }

    public int inFeatures() { return in; }

    public int outFeatures() { return outChannels(); }

    @Override
    Tensor packedForward(Tensor x) {
        int[] shape = x.shape();
        if (x.rank() < 1 || shape[shape.length - 1] != in) {
            throw new IllegalArgumentException("PackedLinear: input " + Arrays.toString(shape) + ", expected [..., " + in + "]");
        }
        int m = x.numel() / in, out = outChannels();
        float[] y = new float[m * out];
        PackedBitsKernels.gemm(m, x.data(), 0, in, groupWeights(0), y, 0, out, false);
        for (int r = 0; r < m; r++) for (int o = 0; o < out; o++) y[r * out + o] += bias(o);
        int[] os = shape.clone();
        os[os.length - 1] = out;
        return Tensor.of(y, os);
    }

    @Override
    Layer integerForm(float[] weight, Tensor bias, QuantParams weightGrid, QuantParams input, QuantParams output) {
        return QLinear.quantize(Tensor.of(weight, outChannels(), in), bias, weightGrid, input, output);
    }

    @Override
    String geometry() {
        return "bits=" + bits() + ";out=" + outChannels() + ";in=" + in + ";levels=" + Arrays.toString(levels());
    }

    @Override
    public String describe() {
        return "PackedLinear(" + in + " -> " + outChannels() + ", " + bits() + "-bit packed)";
    }
}
