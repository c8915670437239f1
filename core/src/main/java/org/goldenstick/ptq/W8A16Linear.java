package org.goldenstick.ptq;

import java.util.Arrays;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.Int8Weights;

/**
 * Weight-only int8 linear layer (W8A16): {@code y = x · (q ⊙ scale)ᵀ + b} with int8 weights {@code q [out, in]}
 * and one float scale per output channel. Same forward contract as {@link Linear} (input {@code [..., in]},
 * output {@code [..., out]}); inference only (no gradients).
 *
 * <p>State names follow compressed-tensors: {@code weight} (int8, held here, not a float parameter),
 * {@code weight_scale [out, 1]} (buffer) and {@code bias} if present.
 *
 * <pre>{@code
 * W8A16Linear q = W8A16Linear.quantize(linear);      // round-to-nearest, per output channel
 * Tensor y = q.forward(x);
 * }</pre>
 */
public final class W8A16Linear extends Module implements org.goldenstick.llm.StoredWeights {
    private final int inFeatures;
    private final int outFeatures;
    private final float[] scale;
    private final Int8Weights kernelWeights;

    /** Wraps already-quantized weights ({@code weight [out·in]}, {@code scale [out]}); bias may be null. */
    public W8A16Linear(int inFeatures, int outFeatures, byte[] weight, float[] scale, Tensor bias) {
        this(checkedPerChannel("W8A16Linear", inFeatures, outFeatures, weight, scale), bias);
    }

    /** Per-channel int8 weights {@code [out, in]}, e.g. read in place from a mapped checkpoint. */
    public W8A16Linear(Int8Weights weights, Tensor bias) {
        int inFeatures = weights.cols(), outFeatures = weights.rows();
        float[] scale = weights.scales();
        if (!weights.perChannel()) throw new IllegalArgumentException("W8A16Linear: weights must have one scale per output channel");
        if (scale.length != outFeatures) throw new IllegalArgumentException("W8A16Linear: scale has " + scale.length + " values, expected " + outFeatures);
        if (bias != null && !Arrays.equals(bias.shape(), new int[] {outFeatures})) throw new IllegalArgumentException("W8A16Linear: bias shape " + Arrays.toString(bias.shape()) + ", expected [" + outFeatures + "]");
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        this.scale = scale;
        this.kernelWeights = weights;
        registerBuffer("weight_scale", Tensor.of(scale, outFeatures, 1));
        if (bias != null) registerBuffer("bias", bias.detach());
    }

    /** A DEPLOY-mode placeholder (zero weights, unit scales) to be filled from a quantized checkpoint. */
    public static W8A16Linear placeholder(int inFeatures, int outFeatures, boolean bias) {
        float[] s = new float[outFeatures];
        Arrays.fill(s, 1f);
        return new W8A16Linear(inFeatures, outFeatures, new byte[inFeatures * outFeatures], s, bias ? Tensor.zeros(outFeatures) : null);
    }

    /** Round-to-nearest per-channel symmetric int8 quantization of a float layer. */
    public static W8A16Linear quantize(Linear linear) {
        int in = linear.inFeatures(), out = linear.outFeatures();
        byte[] q = new byte[in * out];
        float[] s = new float[out];
        Int8.quantizeRows(linear.weight().data(), 0, out, in, q, 0, s, 0, "W8A16Linear.quantize weight");
        return new W8A16Linear(in, out, q, s, linear.bias() == null ? null : linear.bias().copy());
    }

    public int inFeatures() {
        return inFeatures;
    }

    public int outFeatures() {
        return outFeatures;
    }

    /** A copy of the int8 weights {@code [out·in]}, row-major. */
    public byte[] int8Weight() {
        return bytes(kernelWeights);
    }

    /** The weights as the kernels read them (native memory; writable unless read in place from a mapped file). */
    public Int8Weights int8Weights() {
        return kernelWeights;
    }

    /** A copy of the codes of per-channel weights. */
    static byte[] bytes(Int8Weights w) {
        return w.data().asSlice(w.offset(), (long) w.rows() * w.cols()).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }

    /** Heap codes and scales checked against the shape, as per-channel weights. */
    static Int8Weights checkedPerChannel(String what, int inFeatures, int outFeatures, byte[] weight, float[] scale) {
        if (weight.length != (long) inFeatures * outFeatures) throw new IllegalArgumentException(what + ": weight has " + weight.length + " values, expected " + outFeatures + "x" + inFeatures);
        if (scale.length != outFeatures) throw new IllegalArgumentException(what + ": scale has " + scale.length + " values, expected " + outFeatures);
        return Int8Weights.perChannel(weight, outFeatures, inFeatures, scale);
    }

    @Override
    public long weightCount() {
        return (long) inFeatures * outFeatures;
    }

    @Override
    public long weightBytes() {
        return weightCount() + 4L * outFeatures;
    }

    /** Per-output-channel scales (live array). */
    public float[] weightScale() {
        return scale;
    }

    public Tensor bias() {
        return buffer("bias");
    }

    @Override
    public Tensor forward(Tensor x) {
        int[] shape = x.shape();
        if (shape.length == 0 || shape[shape.length - 1] != inFeatures) throw new IllegalArgumentException("W8A16Linear: input shape " + Arrays.toString(shape) + " does not end in " + inFeatures);
        int m = x.numel() / inFeatures;
        float[] y = new float[m * outFeatures];
        Tensor b = bias();
        QuantKernels.w8a16(x.data(), m, kernelWeights, b == null ? null : b.data(), y);
        shape[shape.length - 1] = outFeatures;
        return Tensor.of(y, shape);
    }

    @Override
    public String describe() {
        return "W8A16Linear(" + inFeatures + " -> " + outFeatures + (bias() == null ? ", no bias" : "") + ")";
    }
}
