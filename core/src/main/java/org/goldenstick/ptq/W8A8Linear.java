package org.goldenstick.ptq;

import java.util.Arrays;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.Int8Weights;

/**
 * Int8 weights × int8 activations (W8A8). Each call quantizes the input rows to int8 — per token with its own
 * absmax scale (dynamic, default) or with one calibrated {@code input_scale} (static per-tensor) — multiplies
 * exactly in int32, and rescales: {@code y[m,o] = a[m] · scale[o] · Σ_k qx[m,k]·q[o,k] + b[o]}.
 *
 * <p>SmoothQuant's smoothing factors are folded into the preceding norm and into these weights before
 * quantization, so the layer itself needs no smoothing vector. State names follow compressed-tensors:
 * {@code weight} (int8), {@code weight_scale [out, 1]}, {@code input_scale [1]} (static only), {@code bias}.
 *
 * <pre>{@code
 * W8A8Linear q = W8A8Linear.quantize(linear, ActGranularity.PER_TOKEN, 0f);
 * Tensor y = q.forward(x);
 * }</pre>
 */
public final class W8A8Linear extends Module implements org.goldenstick.llm.StoredWeights {
    private final int inFeatures;
    private final int outFeatures;
    private final float[] scale;
    private final Int8Weights kernelWeights;
    private final ActGranularity granularity;
    private final float[] inputScale;
    private final String name;

    /**
     * @param inputScale the static activation scale (PER_TENSOR; must be positive), ignored for PER_TOKEN
     */
    public W8A8Linear(int inFeatures, int outFeatures, byte[] weight, float[] scale, Tensor bias, ActGranularity granularity, float inputScale) {
        this(W8A16Linear.checkedPerChannel("W8A8Linear", inFeatures, outFeatures, weight, scale), bias, granularity, inputScale);
    }

    /** Per-channel int8 weights {@code [out, in]}, e.g. read in place from a mapped checkpoint. */
    public W8A8Linear(Int8Weights weights, Tensor bias, ActGranularity granularity, float inputScale) {
        int inFeatures = weights.cols(), outFeatures = weights.rows();
        float[] scale = weights.scales();
        if (!weights.perChannel()) throw new IllegalArgumentException("W8A8Linear: weights must have one scale per output channel");
        if (scale.length != outFeatures) throw new IllegalArgumentException("W8A8Linear: scale has " + scale.length + " values, expected " + outFeatures);
        if (bias != null && !Arrays.equals(bias.shape(), new int[] {outFeatures})) throw new IllegalArgumentException("W8A8Linear: bias shape " + Arrays.toString(bias.shape()) + ", expected [" + outFeatures + "]");
        if (granularity == ActGranularity.PER_TENSOR && !(inputScale > 0 && Float.isFinite(inputScale))) throw new IllegalArgumentException("W8A8Linear: static per-tensor activations need a positive finite input scale, got " + inputScale);
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        this.scale = scale;
        this.kernelWeights = weights;
        this.granularity = granularity;
        this.inputScale = new float[] {inputScale};
        this.name = "W8A8Linear(" + inFeatures + " -> " + outFeatures + ")";
        registerBuffer("weight_scale", Tensor.of(scale, outFeatures, 1));
        if (granularity == ActGranularity.PER_TENSOR) registerBuffer("input_scale", Tensor.of(this.inputScale, 1));
        if (bias != null) registerBuffer("bias", bias.detach());
    }

    /** A DEPLOY-mode placeholder (zero weights, unit scales) to be filled from a quantized checkpoint. */
    public static W8A8Linear placeholder(int inFeatures, int outFeatures, boolean bias, ActGranularity granularity) {
        float[] s = new float[outFeatures];
        Arrays.fill(s, 1f);
        return new W8A8Linear(inFeatures, outFeatures, new byte[inFeatures * outFeatures], s, bias ? Tensor.zeros(outFeatures) : null, granularity, 1f);
    }

    /**
     * Per-channel symmetric int8 quantization of a float layer's weights.
     *
     * @param actAbsMax for PER_TENSOR the calibrated max|x| of this layer's input; ignored for PER_TOKEN
     */
    public static W8A8Linear quantize(Linear linear, ActGranularity granularity, double actAbsMax) {
        int in = linear.inFeatures(), out = linear.outFeatures();
        byte[] q = new byte[in * out];
        float[] s = new float[out];
        Int8.quantizeRows(linear.weight().data(), 0, out, in, q, 0, s, 0, "W8A8Linear.quantize weight");
        float inScale = granularity == ActGranularity.PER_TENSOR ? Int8.scale(actAbsMax) : 1f;
        return new W8A8Linear(in, out, q, s, linear.bias() == null ? null : linear.bias().copy(), granularity, inScale);
    }

    public int inFeatures() {
        return inFeatures;
    }

    public int outFeatures() {
        return outFeatures;
    }

    @Override
    public long weightCount() {
        return (long) inFeatures * outFeatures;
    }

    @Override
    public long weightBytes() {
        return weightCount() + 4L * outFeatures;
    }

    public ActGranularity granularity() {
        return granularity;
    }

    /** A copy of the int8 weights {@code [out·in]}, row-major. */
    public byte[] int8Weight() {
        return W8A16Linear.bytes(kernelWeights);
    }

    /** The weights as the kernels read them (native memory; writable unless read in place from a mapped file). */
    public Int8Weights int8Weights() {
        return kernelWeights;
    }

    public float[] weightScale() {
        return scale;
    }

    /** The static activation scale (PER_TENSOR), live. */
    public float inputScale() {
        return inputScale[0];
    }

    public Tensor bias() {
        return buffer("bias");
    }

    @Override
    public Tensor forward(Tensor x) {
        int[] shape = x.shape();
        if (shape.length == 0 || shape[shape.length - 1] != inFeatures) throw new IllegalArgumentException("W8A8Linear: input shape " + Arrays.toString(shape) + " does not end in " + inFeatures);
        int m = x.numel() / inFeatures;
        byte[] qx = new byte[m * inFeatures];
        float[] rowScale = new float[m];
        QuantKernels.quantizeActivations(x.data(), m, inFeatures, granularity == ActGranularity.PER_TENSOR ? inputScale[0] : 0f, qx, rowScale, name);
        float[] y = new float[m * outFeatures];
        Tensor b = bias();
        QuantKernels.w8a8(qx, rowScale, m, kernelWeights, b == null ? null : b.data(), y);
        shape[shape.length - 1] = outFeatures;
        return Tensor.of(y, shape);
    }

    @Override
    public String describe() {
        return "W8A8Linear(" + inFeatures + " -> " + outFeatures + ", act " + granularity + (bias() == null ? ", no bias" : "") + ")";
    }
}
