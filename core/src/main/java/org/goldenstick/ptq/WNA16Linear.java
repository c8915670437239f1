package org.goldenstick.ptq;

import java.util.Arrays;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.PackedIntWeights;
import org.goldenstick.tensor.kernel.WNA16Kernels;

/**
 * Weight-only 4- or 8-bit linear layer (W4A16 / W8A16) in compressed-tensors' {@code pack-quantized} layout:
 * {@code y = x · W_realᵀ + b}, {@code W_real[o, c] = (q[o, c] − zp[o, g]) · scale[o, g]}, on {@link WNA16Kernels}.
 * Same forward contract as {@link Linear}; inference only.
 *
 * <p>Checkpoint names (compressed-tensors): {@code weight_packed} int32 {@code [out, ceil(in·bits/32)]},
 * {@code weight_scale [out, groups]}, {@code weight_shape} int64 {@code [2]}, {@code weight_zero_point} int32
 * {@code [ceil(out·bits/32), groups]} (asymmetric only, packed along the output dimension), {@code bias} if any.
 *
 * <pre>{@code
 * WNA16Linear q = WNA16Linear.quantize(linear, WeightScheme.of(4, 128, true), DType.F32);   // RTN W4 g128
 * Tensor y = q.forward(x);
 * }</pre>
 */
public final class WNA16Linear extends Module implements org.goldenstick.llm.StoredWeights, org.goldenstick.llm.PackedProjection {
    private final PackedIntWeights weights;
    private final Tensor bias;

    public WNA16Linear(PackedIntWeights weights, Tensor bias) {
        if (bias != null && !Arrays.equals(bias.shape(), new int[] {weights.rows()})) throw new IllegalArgumentException("WNA16Linear: bias shape " + Arrays.toString(bias.shape()) + ", expected [" + weights.rows() + "]");
        this.weights = weights;
        this.bias = bias == null ? null : bias.detach();
        if (this.bias != null) registerBuffer("bias", this.bias);
    }

    /** Round-to-nearest quantization of a float layer's weights with {@code scheme}, scales rounded to {@code scaleDtype}. */
    public static WNA16Linear quantize(Linear linear, WeightScheme scheme, DType scaleDtype, String name) {
        return fromFloat(linear.weight().data(), linear.outFeatures(), linear.inFeatures(), linear.bias(), scheme, scaleDtype, name);
    }

    /** Quantizes float weights {@code w [out·in]} (already processed by GPTQ/AWQ or not) to a deploy layer. */
    public static WNA16Linear fromFloat(float[] w, int out, int in, Tensor bias, WeightScheme scheme, DType scaleDtype, String name) {
        int gs = scheme.groupFor(in, name), groups = in / gs;
        byte[] q = new byte[out * in];
        float[] s = new float[out * groups];
        byte[] z = scheme.symmetric() ? null : new byte[out * groups];
        scheme.quantize(w, out, in, scaleDtype, q, s, z, name);
        return new WNA16Linear(PackedIntWeights.pack(q, out, in, scheme.bits(), gs, s, z), bias == null ? null : bias.copy());
    }

    @Override
    public long weightCount() {
        return (long) weights.rows() * weights.cols();
    }

    @Override
    public long weightBytes() {
        return weights.byteSize();
    }

    @Override
    public PackedIntWeights weights() {
        return weights;
    }

    public int inFeatures() {
        return weights.cols();
    }

    public int outFeatures() {
        return weights.rows();
    }

    @Override
    public Tensor bias() {
        return bias;
    }

    @Override
    public Tensor forward(Tensor x) {
        int[] shape = x.shape();
        int in = weights.cols(), out = weights.rows();
        if (shape.length == 0 || shape[shape.length - 1] != in) throw new IllegalArgumentException("WNA16Linear: input shape " + Arrays.toString(shape) + " does not end in " + in);
        int m = x.numel() / in;
        float[] y = new float[m * out];
        WNA16Kernels.gemm(m, x.data(), 0, in, weights, y, 0, out, false);
        addBias(y, m);
        shape[shape.length - 1] = out;
        return Tensor.of(y, shape);
    }

    @Override
    public String describe() {
        return "WNA16Linear(" + weights.cols() + " -> " + weights.rows() + ", " + weights.bits() + " bits, group " + weights.groupSize()
                + (weights.symmetric() ? ", symmetric" : ", asymmetric") + (bias == null ? ", no bias" : "") + ")";
    }
}
