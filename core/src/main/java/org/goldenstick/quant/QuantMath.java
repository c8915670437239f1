package org.goldenstick.quant;

import java.util.Arrays;

/**
 * The shared quantization arithmetic (upstream {@code quant_utils.py}), used by QAT fake quantizers, the int8
 * deploy layers and PTQ. Every function works on plain arrays so it can be checked against a float64
 * reference.
 *
 * <pre>{@code
 * int[] r = QuantMath.quantRange(8, true, false);                        // [-128, 127]
 * QuantParams p = QuantMath.calQuantizationParams(new float[] {-1f}, new float[] {3f}, 8, false, false, false, -1);
 * byte[] q = QuantMath.quantize(x, shape, p);
 * }</pre>
 */
public final class QuantMath {
    private QuantMath() {}

    /** Round half away from zero, the rounding the upstream CUDA kernels and this spec use. */
    public static double roundHalfAway(double v) {
        return v < 0 ? -Math.floor(-v + 0.5) : Math.floor(v + 0.5);
    }

    /** Round half away from zero in float32. */
    public static float roundHalfAway(float v) {
        return v < 0 ? -(float) Math.floor(-v + 0.5f) : (float) Math.floor(v + 0.5f);
    }

    /**
     * The integer grid {@code [qmin, qmax]}: signed {@code [-2^(b-1), 2^(b-1)-1]}, unsigned {@code [0, 2^b-1]};
     * narrow range raises {@code qmin} by one.
     */
    public static int[] quantRange(int bits, boolean signed, boolean narrowRange) {
        if (bits < 1 || bits > 16) throw new IllegalArgumentException("quantRange: bits must be in [1, 16], got " + bits);
        int qmin = signed ? -(1 << (bits - 1)) : 0;
        int qmax = signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
        if (narrowRange) qmin += 1;
        return new int[] {qmin, qmax};
    }

    /**
     * Upstream {@code cal_quantization_params}: scale and zero point per element of {@code mins}/{@code maxs}.
     * If every element has {@code max == min}, the whole result is scale 1 and zero point 0. Symmetric:
     * {@code M = max(|min|, |max|)}, range {@code [-M, M]}, zero point 0. Otherwise
     * {@code scale = (max - min)/(qmax - qmin)}, {@code zp = round(qmin - min/scale)} (not clamped).
     *
     * @param axis the channel axis the arrays index, or -1 for per-tensor (one element)
     */
    public static QuantParams calQuantizationParams(float[] mins, float[] maxs, int bits, boolean signed, boolean symmetric,
                                                    boolean narrowRange, int axis) {
        if (mins.length != maxs.length) {
            throw new IllegalArgumentException("calQuantizationParams: mins has " + mins.length + " elements but maxs has " + maxs.length);
        }
        if (mins.length == 0) throw new IllegalArgumentException("calQuantizationParams: empty min/max");
        int[] r = quantRange(bits, signed, narrowRange);
        int qmin = r[0], qmax = r[1];
        int c = mins.length;
        float[] scale = new float[c];
        int[] zp = new int[c];
        boolean allEqual = true;
        for (int i = 0; i < c; i++) if (mins[i] != maxs[i]) allEqual = false;
        if (allEqual) {
            Arrays.fill(scale, 1f);
        } else {
            for (int i = 0; i < c; i++) {
                float lo = mins[i], hi = maxs[i];
                if (symmetric) {
                    float m = Math.max(Math.abs(lo), Math.abs(hi));
                    lo = -m;
                    hi = m;
                }
                scale[i] = (hi - lo) / (qmax - qmin);
                zp[i] = symmetric ? 0 : (int) roundHalfAway((double) qmin - (double) lo / scale[i]);
            }
        }
        return new QuantParams(bits, signed, symmetric, narrowRange, axis, mins.clone(), maxs.clone(), scale, zp);
    }

    /** {@code clamp(round(x/scale + zp), qmin, qmax)} for one value. */
    public static int quantizeValue(float x, float scale, int zp, int qmin, int qmax) {
        double q = roundHalfAway((double) x / scale) + zp;
        return (int) Math.max(qmin, Math.min(qmax, q));
    }

    /**
     * Quantizes a tensor's values with per-tensor or per-channel parameters ({@code p.axis()} indexes
     * {@code shape}); returns integers on the grid (int[] so any bit width fits).
     */
    public static int[] quantize(float[] x, int[] shape, QuantParams p) {
        int[] out = new int[x.length];
        int qmin = p.qmin(), qmax = p.qmax();
        if (!p.perChannel()) {
            for (int i = 0; i < x.length; i++) out[i] = quantizeValue(x[i], p.scale()[0], p.zeroPoint()[0], qmin, qmax);
            return out;
        }
        int[] ci = channelLayout(shape, p.axis(), p.channels());
        int channels = ci[0], inner = ci[1];
        for (int i = 0; i < x.length; i++) {
            int c = (i / inner) % channels;
            out[i] = quantizeValue(x[i], p.scale()[c], p.zeroPoint()[c], qmin, qmax);
        }
        return out;
    }

    /** Quantizes to an int8 array (the grid must fit in a byte). */
    public static byte[] quantizeInt8(float[] x, int[] shape, QuantParams p) {
        if (p.qmin() < -128 || p.qmax() > 127) {
            throw new IllegalArgumentException("quantizeInt8: grid [" + p.qmin() + ", " + p.qmax() + "] does not fit int8");
        }
        int[] q = quantize(x, shape, p);
        byte[] b = new byte[q.length];
        for (int i = 0; i < q.length; i++) b[i] = (byte) q[i];
        return b;
    }

    /** {@code (q - zp) * scale}. */
    public static float[] dequantize(int[] q, int[] shape, QuantParams p) {
        float[] out = new float[q.length];
        if (!p.perChannel()) {
            for (int i = 0; i < q.length; i++) out[i] = (q[i] - p.zeroPoint()[0]) * p.scale()[0];
            return out;
        }
        int[] ci = channelLayout(shape, p.axis(), p.channels());
        for (int i = 0; i < q.length; i++) {
            int c = (i / ci[1]) % ci[0];
            out[i] = (q[i] - p.zeroPoint()[c]) * p.scale()[c];
        }
        return out;
    }

    /** Upstream {@code quant_bias_data}: {@code clamp(round(bias/scale), -2^31, 2^31-1)} as int32. */
    public static int[] quantizeBias(float[] bias, float[] scale) {
        if (bias.length != scale.length && scale.length != 1) {
            throw new IllegalArgumentException("quantizeBias: bias has " + bias.length + " elements but scale has " + scale.length);
        }
        int[] out = new int[bias.length];
        for (int i = 0; i < bias.length; i++) {
            double s = scale[scale.length == 1 ? 0 : i];
            double q = s == 0 ? 0 : roundHalfAway(bias[i] / s);
            out[i] = (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, q));
        }
        return out;
    }

    /** {@code [channels, inner]} for indexing a row-major tensor by channel along {@code axis}. */
    static int[] channelLayout(int[] shape, int axis, int expectedChannels) {
        if (axis < 0 || axis >= shape.length) {
            throw new IllegalArgumentException("per-channel axis " + axis + " is out of range for shape " + Arrays.toString(shape));
        }
        if (shape[axis] != expectedChannels) {
            throw new IllegalArgumentException("per-channel parameters have " + expectedChannels + " channels but axis " + axis
                    + " of shape " + Arrays.toString(shape) + " has " + shape[axis]);
        }
        int inner = 1;
        for (int i = axis + 1; i < shape.length; i++) inner *= shape[i];
        return new int[] {shape[axis], inner};
    }

    /**
     * Folds BatchNorm into a conv/linear weight (upstream {@code fold_batchnorm}): {@code σ = sqrt(var + eps)},
     * {@code w' = w·γ/σ} per output channel (axis 0) and {@code b' = β + (b - μ)·γ/σ} (b = 0 when the layer has no bias).
     *
     * @return {@code {foldedWeight, foldedBias}}
     */
    public static float[][] foldBatchNorm(float[] weight, int outChannels, float[] bias, float[] gamma, float[] beta,
                                          float[] mean, float[] var, float eps) {
        if (gamma.length != outChannels || beta.length != outChannels || mean.length != outChannels || var.length != outChannels) {
            throw new IllegalArgumentException("foldBatchNorm: BatchNorm has " + gamma.length + " channels, weight has " + outChannels + " output channels");
        }
        if (weight.length % outChannels != 0) throw new IllegalArgumentException("foldBatchNorm: weight size " + weight.length + " is not a multiple of " + outChannels);
        int per = weight.length / outChannels;
        float[] w = new float[weight.length];
        float[] b = new float[outChannels];
        for (int c = 0; c < outChannels; c++) {
            double s = gamma[c] / Math.sqrt((double) var[c] + eps);
            for (int j = 0; j < per; j++) w[c * per + j] = (float) (weight[c * per + j] * s);
            double b0 = bias == null ? 0 : bias[c];
            b[c] = (float) (beta[c] + (b0 - mean[c]) * s);
        }
        return new float[][] {w, b};
    }
}
