package org.goldenstick.quant;

import java.util.Arrays;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.FakeQuantKernels;

/**
 * Simulated quantization (quantize, then dequantize) with a straight-through estimator, as upstream SimQAT's
 * {@code SimulatedFakeQuantizerPerLayer/PerChannel} (spec §5.3).
 *
 * <p><b>Range.</b> Buffers {@code float_min}/{@code float_max} (one value, or one per channel along {@code axis}),
 * initialised to ±6. In training every call first updates them from the batch: without EMA (what SimQAT uses) to
 * the batch min/max, with EMA to {@code old + c·(batch − old)}; then the range is widened to contain 0.
 * In eval mode the stored range is used as is.
 *
 * <p><b>Forward</b> ("nudged" quantization on the unsigned grid {@code [qmin, qmax] = [0 (1 if narrow), 2^bits − 1]}):
 * symmetric ranges become {@code [−M, M]} with {@code M = max(−min, max)}; {@code scale = (max − min)/(qmax − qmin)};
 * the zero point {@code qmin − min/scale} is clamped to the grid and rounded; then
 * {@code y = floor((clamp(x, nmin, nmax) − nmin)/scale + 0.5)·scale + nmin}. All in float32, as the CUDA kernels.
 *
 * <p><b>Backward</b>: {@code dx = dy} where {@code nmin ≤ x ≤ nmax}, else 0. Ranges get no gradient.
 *
 * <p><b>Quant delay</b>: each quantizer counts its own training calls (upstream shares one counter per kernel,
 * flagged as a quirk); while the count is below {@code quantDelay} the training forward is the identity (the range
 * is still tracked).
 *
 * <pre>{@code
 * FakeQuantize fq = FakeQuantize.perTensor(QuantSpec.uint8Asymmetric(), 0);
 * Tensor y = fq.forward(x);                       // x rounded onto a 256-level grid, STE gradient
 * QuantParams p = fq.quantParams();               // what a deploy layer uses for the same grid
 * }</pre>
 */
public final class FakeQuantize extends Module {
    private final QuantSpec spec;
    private final int axis;
    private final int channels;
    private final int quantDelay;
    private final boolean ema;
    private final float emaConstant;
    private long step;
    // calibration hooks (not state: post-training calibration sets them for a pass and clears them)
    private volatile boolean bypass;
    private volatile java.util.function.BiConsumer<Tensor, Tensor> tap;

    /**
     * @param spec bit width, symmetric and narrow range (the sign of the grid only matters for {@link #quantParams()})
     * @param axis channel axis for per-channel ranges, or -1 for per-tensor
     * @param channels number of channels (1 for per-tensor)
     * @param quantDelay training calls to pass through before quantizing (>= 0)
     * @param ema average the range over batches instead of taking the last batch's
     * @param emaConstant weight of the new batch when {@code ema} is on, in (0, 1]
     */
    public FakeQuantize(QuantSpec spec, int axis, int channels, int quantDelay, boolean ema, float emaConstant) {
        if (axis < -1) throw new IllegalArgumentException("FakeQuantize.axis must be -1 (per-tensor) or >= 0, got " + axis);
        if (axis == -1 && channels != 1) throw new IllegalArgumentException("FakeQuantize: per-tensor needs channels = 1, got " + channels);
        if (channels < 1) throw new IllegalArgumentException("FakeQuantize.channels must be > 0, got " + channels);
        if (quantDelay < 0) throw new IllegalArgumentException("FakeQuantize.quantDelay must be >= 0, got " + quantDelay);
        if (ema && !(emaConstant > 0 && emaConstant <= 1)) throw new IllegalArgumentException("FakeQuantize.emaConstant must be in (0, 1], got " + emaConstant);
        this.spec = spec;
        this.axis = axis;
        this.channels = channels;
        this.quantDelay = quantDelay;
        this.ema = ema;
        this.emaConstant = emaConstant;
        registerBuffer("float_min", Tensor.full(-6f, channels));
        registerBuffer("float_max", Tensor.full(6f, channels));
    }

    public static FakeQuantize perTensor(QuantSpec spec, int quantDelay) {
        return new FakeQuantize(spec, -1, 1, quantDelay, false, 1f);
    }

    public static FakeQuantize perChannel(QuantSpec spec, int axis, int channels, int quantDelay) {
        return new FakeQuantize(spec, axis, channels, quantDelay, false, 1f);
    }

    public QuantSpec spec() {
        return spec;
    }

    public int axis() {
        return axis;
    }

    public boolean perChannel() {
        return axis >= 0;
    }

    public int channels() {
        return channels;
    }

    public int quantDelay() {
        return quantDelay;
    }

    public boolean ema() {
        return ema;
    }

    /** Training calls seen so far (the quant-delay counter). */
    public long step() {
        return step;
    }

    public float[] floatMin() {
        return buffer("float_min").data().clone();
    }

    public float[] floatMax() {
        return buffer("float_max").data().clone();
    }

    /**
     * Whether the range is still the initial {@code [-6, 6]} and no training batch was seen: such a quantizer never
     * observed data, so its scale (12/255 ≈ 0.047 on 8 bits) says nothing about the activations.
     */
    public boolean neverObserved() {
        if (step > 0) return false;
        float[] lo = buffer("float_min").data(), hi = buffer("float_max").data();
        for (int c = 0; c < channels; c++) if (lo[c] != -6f || hi[c] != 6f) return false;
        return true;
    }

    /** Overwrites the range (e.g. from a calibration observer). */
    public void setRange(float[] min, float[] max) {
        if (min.length != channels || max.length != channels) {
            throw new IllegalArgumentException("FakeQuantize.setRange: expected " + channels + " values, got " + min.length + "/" + max.length);
        }
        System.arraycopy(min, 0, buffer("float_min").data(), 0, channels);
        System.arraycopy(max, 0, buffer("float_max").data(), 0, channels);
    }

    /** The nudged grid of one channel: {@code {scale, nudgedZeroPoint, nudgedMin, nudgedMax}} on the unsigned grid. */
    static float[] nudge(float min, float max, int bits, boolean symmetric, boolean narrowRange) {
        float qmin = narrowRange ? 1f : 0f;
        float qmax = (float) ((1 << bits) - 1);
        if (symmetric) {
            float m = Math.max(-min, max);
            min = -m;
            max = m;
        }
        float scale = (max - min == 0f || qmax - qmin == 0f) ? 0f : (max - min) / (qmax - qmin);
        if (scale == 0f) return new float[] {0f, qmin, 0f, 0f};
        float zpFromMin = qmin - min / scale;
        float zp;
        if (zpFromMin <= qmin) zp = qmin;
        else if (zpFromMin >= qmax) zp = qmax;
        else zp = QuantMath.roundHalfAway(zpFromMin);
        return new float[] {scale, zp, (qmin - zp) * scale, (qmax - zp) * scale};
    }

    /**
     * Calibration switch: while on, {@link #forward} returns its input unchanged in every mode (no range update, no
     * quant-delay step), so a network whose quantizers are all bypassed computes in float. Post-training quantization
     * uses it to see float activations and to keep a layer in float while ranking layers.
     */
    public void setBypass(boolean on) {
        this.bypass = on;
    }

    public boolean bypassed() {
        return bypass;
    }

    /**
     * Calibration tap: while set (non-null), every {@link #forward} shows it the input and the output (the input itself
     * when bypassed) before returning. Observers, bias correction and per-layer error tables read activations this way.
     *
     * <pre>{@code
     * var obs = new MinMaxObserver();
     * fq.setTap((in, out) -> obs.forward(in));
     * }</pre>
     */
    public void setTap(java.util.function.BiConsumer<Tensor, Tensor> tap) {
        this.tap = tap;
    }

    @Override
    public Tensor forward(Tensor x) {
        var t = tap;
        if (bypass) {
            if (t != null) t.accept(x, x);
            return x;
        }
        Tensor y = quantize(x);
        if (t != null) t.accept(x, y);
        return y;
    }

    /**
     * {@code forward(relu(x))} (ceiling +∞) or {@code forward(relu6(x))} (ceiling 6) as one op: the same values, range
     * update and gradient, bit for bit, without the activation's own passes over memory (the range is the clamped batch
     * range, the grid is applied to the clamped input, and the gradient passes where both the activation and the grid
     * pass it). Returns null when this quantizer is bypassed or tapped (those hooks must see the activation's output) or
     * a trace records (the graph must see both layers); the caller then runs the two.
     *
     * <pre>{@code
     * Tensor y = fq.forwardAfterRelu(x, 6f);
     * if (y == null) y = fq.forward(Functional.relu6(x));
     * }</pre>
     */
    public Tensor forwardAfterRelu(Tensor x, float ceiling) {
        if (ceiling != 6f && ceiling != Float.POSITIVE_INFINITY) throw new IllegalArgumentException("FakeQuantize.forwardAfterRelu: ceiling must be 6 (ReLU6) or +infinity (ReLU), got " + ceiling);
        if (bypass || tap != null || org.goldenstick.tensor.OpTrace.active()) return null;
        return quantize(x, 0f, ceiling);
    }

    /** The fake quantization of {@code clamp(x, lo, hi)} as ReLU / ReLU6 compute it; (−∞, +∞) is x itself. */
    private Tensor quantize(Tensor x) {
        return quantize(x, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY);
    }

    private Tensor quantize(Tensor x, float lo, float hi) {
        boolean activated = lo != Float.NEGATIVE_INFINITY || hi != Float.POSITIVE_INFINITY;
        int inner = perChannel() ? QuantMath.channelLayout(x.shape(), axis, channels)[1] : x.numel();
        if (isTraining()) {
            updateRange(x.data(), inner, lo, hi);
            long s = step++;
            if (s < quantDelay) return !activated ? x : hi == 6f ? org.goldenstick.tensor.Functional.relu6(x) : org.goldenstick.tensor.Functional.relu(x);
        }
        float[] rlo = buffer("float_min").data(), rhi = buffer("float_max").data();
        // the nudged grid per channel: scale, nudged min, nudged max
        float[] scale = new float[channels], nmin = new float[channels], nmax = new float[channels];
        for (int c = 0; c < channels; c++) {
            float[] n = nudge(rlo[c], rhi[c], spec.bits(), spec.symmetric(), spec.narrowRange());
            scale[c] = n[0];
            nmin[c] = n[2];
            nmax[c] = n[3];
        }
        float[] in = x.data();
        float[] out = org.goldenstick.tensor.StepBuffers.uninitialized(in.length); // every run written below
        Runs.forEach(in.length, inner, channels, (c, from, to) -> FakeQuantKernels.quantDequant(in, from, to, false, 1f, 0f, lo, hi, scale[c], nmin[c], nmax[c], out));
        // straight-through estimator: the mask is recomputed from the input instead of being kept per element
        return Tensor.result(activated ? "relu_fake_quant" : "fake_quant", out, x.shape(), o -> {
            float[] g = o.gradArray();
            boolean add = !x.claimFreshGrad(); // a fresh gradient is written: the runs cover every element
            float[] gx = x.gradArray();
            Runs.forEach(in.length, inner, channels, (c, from, to) -> FakeQuantKernels.passGradient(in, g, from, to, false, 1f, 0f, lo, hi, nmin[c], nmax[c], gx, from, add));
        }, x);
    }

    /** The batch range of {@code clamp(d, lo, hi)}: clamping is monotone, so it is the clamped range of d. */
    private void updateRange(float[] d, int inner, float clampLo, float clampHi) {
        float[] bmin = new float[channels], bmax = new float[channels];
        Arrays.fill(bmin, Float.POSITIVE_INFINITY);
        Arrays.fill(bmax, Float.NEGATIVE_INFINITY);
        Runs.forEach(d.length, inner, channels, (c, from, to) -> {
            float[] mm = FakeQuantKernels.minMax(d, from, to);
            synchronized (bmin) { // min and max are exact in any order: the result does not depend on the threads
                bmin[c] = Math.min(bmin[c], mm[0]);
                bmax[c] = Math.max(bmax[c], mm[1]);
            }
        });
        for (int c = 0; c < channels; c++) {
            bmin[c] = Math.min(clampHi, Math.max(clampLo, bmin[c]));
            bmax[c] = Math.min(clampHi, Math.max(clampLo, bmax[c]));
        }
        takeBatchRange(bmin, bmax);
    }

    /** Moves the stored range to a batch's (EMA or not), widened to contain 0; an empty batch (min &gt; max) changes nothing. */
    private void takeBatchRange(float[] bmin, float[] bmax) {
        float[] lo = buffer("float_min").data(), hi = buffer("float_max").data();
        for (int c = 0; c < channels; c++) {
            if (bmin[c] > bmax[c]) continue; // empty batch
            float nlo = ema ? lo[c] + emaConstant * (bmin[c] - lo[c]) : bmin[c];
            float nhi = ema ? hi[c] + emaConstant * (bmax[c] - hi[c]) : bmax[c];
            lo[c] = Math.min(nlo, 0f);
            hi[c] = Math.max(nhi, 0f);
        }
    }

    /**
     * This quantizer as the output grid of a training-mode op that finds its output's range itself
     * ({@code Functional.batchNormGrid}): the returned chooser does what {@link #forward} does in training — takes the
     * batch range, counts the call, and during the quant delay leaves the output as it is (returns null) — and gives the
     * grid. Null when the quantizer cannot be fused so: not training, per-channel, bypassed or tapped (those hooks must
     * see the op's float output), or a trace records (the graph must see both). Call the chooser at most once.
     *
     * <pre>{@code
     * Functional.OutputGrid grid = fq.trainingGrid();
     * Tensor y = grid != null ? Functional.batchNormGrid(x, g, b, rm, rv, 0.1f, 1e-5f, grid) : fq.forward(bn.forward(x));
     * }</pre>
     */
    public org.goldenstick.tensor.Functional.OutputGrid trainingGrid() {
        if (!isTraining() || perChannel() || bypass || tap != null || org.goldenstick.tensor.OpTrace.active()) return null;
        return (outMin, outMax) -> {
            takeBatchRange(new float[] {outMin}, new float[] {outMax});
            if (step++ < quantDelay) return null;
            float[] n = nudge(buffer("float_min").data()[0], buffer("float_max").data()[0], spec.bits(), spec.symmetric(), spec.narrowRange());
            return new float[] {n[0], n[2], n[3]};
        };
    }

    /** Element ranges of one channel each, spread over the kernel threads in chunks. */
    private static final class Runs {
        /** Elements per task: below this a tensor is handled on the calling thread. */
        static final int CHUNK = 1 << 15;

        interface Body {
            void run(int channel, int from, int to);
        }

        /** Calls {@code body} on runs covering [0, n), where element i belongs to channel {@code (i / inner) % channels}. */
        static void forEach(int n, int inner, int channels, Body body) {
            int tasks = (n + CHUNK - 1) / CHUNK;
            org.goldenstick.tensor.kernel.Parallel.forEach(tasks, t -> {
                int end = Math.min(n, (t + 1) * CHUNK);
                for (int i = t * CHUNK; i < end; ) {
                    int row = i / inner, to = Math.min(end, (row + 1) * inner);
                    body.run(channels == 1 ? 0 : row % channels, i, to);
                    i = to;
                }
            });
        }
    }

    /**
     * The deploy parameters of the grid this quantizer simulates. Symmetric quantizers give a signed grid with
     * zero point 0 (e.g. int8 {@code [-128, 127]}, scale {@code 2M/255}); asymmetric ones an unsigned grid
     * ({@code [0, 255]}, {@code zp = round(−min/scale)}), as upstream's {@code quant_params()}. The values are taken
     * from the nudged grid, so dequantized deploy values equal this quantizer's eval-mode outputs exactly; for a
     * range that contains 0 they coincide with {@link QuantMath#calQuantizationParams}.
     */
    public QuantParams quantParams() {
        float[] lo = floatMin(), hi = floatMax();
        float[] scale = new float[channels];
        int[] zp = new int[channels];
        int half = 1 << (spec.bits() - 1);
        for (int c = 0; c < channels; c++) {
            float[] n = nudge(lo[c], hi[c], spec.bits(), spec.symmetric(), spec.narrowRange());
            if (n[0] == 0f) { // empty range: upstream's all-equal rule, scale 1 and zero point 0
                scale[c] = 1f;
                zp[c] = 0;
                continue;
            }
            scale[c] = n[0];
            zp[c] = spec.symmetric() ? (int) n[1] - half : (int) n[1];
        }
        return new QuantParams(spec.bits(), spec.symmetric(), spec.symmetric(), spec.narrowRange(), axis, lo, hi, scale, zp);
    }

    @Override
    public String describe() {
        return "FakeQuantize(" + spec.bits() + "bit, " + (spec.symmetric() ? "symmetric" : "asymmetric") + (spec.narrowRange() ? ", narrow" : "")
                + (perChannel() ? ", per-channel axis " + axis + " x" + channels : ", per-tensor") + (quantDelay > 0 ? ", delay " + quantDelay : "")
                + (ema ? ", ema" : "") + ")";
    }
}
