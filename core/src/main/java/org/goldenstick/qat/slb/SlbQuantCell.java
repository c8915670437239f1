package org.goldenstick.qat.slb;

import java.util.Arrays;
import java.util.Random;
import org.goldenstick.nn.Layer;
import org.goldenstick.nn.Module;
import org.goldenstick.quant.FakeQuantize;
import org.goldenstick.quant.QuantSpec;
import org.goldenstick.tensor.Tensor;

/**
 * A weight layer whose weights are searched among 2^bits levels (upstream {@code Conv2dSlbQuant}, spec §6.2): the
 * part shared by {@link Conv2dSlbQuant} and {@link LinearSlbQuant}. Parameter {@code weight} holds the level logits
 * {@code [out, ..., K]} (the layer's weight shape plus a level axis); child {@code weight_quantizer}
 * ({@link SlbWeightQuantizer}) maps them to a weight in {@code [−1, 1]}, multiplied by the fixed per-channel buffer
 * {@code scale}; the original bias is reused. With activation quantization, 8-bit asymmetric per-tensor fake
 * quantizers {@code input_quantizer} / {@code output_quantizer} wrap the layer.
 *
 * <p>Initialisation: upstream discards the float weight and draws the logits He-normal (fan_out) with scale 1.
 * With {@link SlbConfig#initFromWeights()} (our default) the logits favour the level nearest to {@code w / s}
 * ({@code A_k = −(w/s − l_k)² / (2σ²)}, σ = half the level spacing), with {@code s} = mean |w| of the output channel
 * for 1 bit (the L2-optimal binary scale) and, for 2/4 bits, the scale that minimises the squared rounding error of the
 * channel's weights to {@code s·level} (searched over 0.2–1.0 of max |w|), so fine-tuning starts from the trained
 * network; {@code s} is kept fixed and deployed.
 *
 * <p>Gradient preconditioning (ours): the logits of output channel {@code o} receive their gradient multiplied by
 * {@code 1/s_o²}. The weight is {@code s·Σ p_k l_k}, so a plain gradient step moves the logits {@code s²} times slower
 * (in units of {@code w/s}) than the same step moves a float weight; on Fashion-MNIST ResNet-20 the median {@code s} is
 * 0.040 at 1 bit (1/s² ≈ 600), 0.075 at 2 bits (≈ 180), 0.12 at 4 bits (≈ 70), and in a short fine-tune the search
 * froze (measured: 0.11 % of ResNet-20's weights changed level in 3 epochs). With the rescaling the logits move at the
 * pace the float weights would. With upstream's initialisation ({@code s = 1}) it is the identity.
 *
 * <pre>{@code
 * SlbQuantCell q = new LinearSlbQuant(linear, SlbConfig.defaults().withWeightQuantDtype(QuantDtype.INT2), 2, true, new Random(0));
 * Module deploy = q.toDeploy();
 * }</pre>
 */
public abstract sealed class SlbQuantCell extends Layer permits Conv2dSlbQuant, LinearSlbQuant {
    /** Activation fake quantizers start quantizing after this many training calls (upstream hard-codes 900; see docs/slb.md). */
    public static final int ACT_QUANT_DELAY = 0;

    private final int outChannels, levelsCount;
    private final int[] weightShape;

    /**
     * @param floatWeight the trained weight, {@code [out, ...]}
     * @param receptive   the weight's spatial size per input channel (kh·kw for a conv, 1 for a linear layer), for the He fan-out
     * @param inputQuantizer whether to fake-quantize the input (with activation quantization on); false when the producing
     *     layer already quantizes it, so each edge is quantized once
     */
    SlbQuantCell(Tensor floatWeight, Tensor bias, int receptive, SlbConfig cfg, int bits, boolean inputQuantizer, Random rng) {
        this.weightShape = floatWeight.shape();
        this.outChannels = weightShape[0];
        this.levelsCount = 1 << bits;
        SlbWeightQuantizer wq = new SlbWeightQuantizer(bits);
        float[] scale = new float[outChannels];
        int[] logitShape = Arrays.copyOf(weightShape, weightShape.length + 1);
        logitShape[weightShape.length] = levelsCount;
        Tensor logits = Tensor.zeros(logitShape);
        if (cfg.initFromWeights()) initFromWeights(floatWeight.data(), wq.levels(), bits, scale, logits.data());
        else {
            Arrays.fill(scale, 1f);
            double std = Math.sqrt(2.0 / ((double) outChannels * receptive * levelsCount));  // He-normal, fan_out over the logit shape
            float[] a = logits.data();
            for (int i = 0; i < a.length; i++) a[i] = (float) (rng.nextGaussian() * std);
        }
        if (cfg.enableActQuant() && inputQuantizer) registerChild("input_quantizer", actQuantizer());
        registerParameter("weight", logits.requiresGrad(true));
        if (bias != null) registerParameter("bias", bias);
        registerBuffer("scale", Tensor.of(scale, outChannels));
        registerChild("weight_quantizer", wq);
        if (cfg.enableActQuant()) registerChild("output_quantizer", actQuantizer());
    }

    private static FakeQuantize actQuantizer() {
        return FakeQuantize.perTensor(new QuantSpec(8, false, false, false), ACT_QUANT_DELAY);
    }

    private void initFromWeights(float[] w, float[] levels, int bits, float[] scale, float[] a) {
        int per = w.length / outChannels;
        double sigma = (levels[1] - levels[0]) / 2.0;
        for (int o = 0; o < outChannels; o++) {
            double s = bits == 1 ? meanAbs(w, o * per, per) : mseScale(w, o * per, per, levels);
            scale[o] = s > 0 ? (float) s : 1f;
            for (int i = 0; i < per; i++) {
                double u = w[o * per + i] / scale[o];
                for (int k = 0; k < levels.length; k++) {
                    double d = u - levels[k];
                    a[(o * per + i) * levels.length + k] = (float) (-d * d / (2 * sigma * sigma));
                }
            }
        }
    }

    private static double meanAbs(float[] w, int from, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) s += Math.abs(w[from + i]);
        return s / n;
    }

    /** The scale {@code s} among 0.20, 0.22, …, 1.00 of max |w| that minimises Σ (w − s·nearest level(w/s))². */
    static double mseScale(float[] w, int from, int n, float[] levels) {
        double max = 0;
        for (int i = 0; i < n; i++) max = Math.max(max, Math.abs(w[from + i]));
        if (max == 0) return 0;
        double step = (levels[levels.length - 1] - levels[0]) / (levels.length - 1);
        double best = max, bestErr = Double.POSITIVE_INFINITY;
        for (int c = 20; c <= 100; c += 2) {
            double s = max * c / 100.0, err = 0;
            for (int i = 0; i < n; i++) {
                double u = w[from + i] / s;
                int k = (int) Math.round((u - levels[0]) / step);
                k = Math.max(0, Math.min(levels.length - 1, k));
                double d = w[from + i] - s * levels[k];
                err += d * d;
            }
            if (err < bestErr) {
                bestErr = err;
                best = s;
            }
        }
        return best;
    }

    /**
     * The logits as the weight quantizer sees them: the same values, with the gradient of output channel {@code o}
     * multiplied by {@code 1/s_o²} on the way back (see the class comment).
     */
    private Tensor preconditionedLogits() {
        Tensor a = parameter("weight");
        float[] s = buffer("scale").data();
        boolean identity = true;
        for (float v : s) identity &= v == 1f;
        if (identity) return a;
        float[] factor = new float[outChannels];
        for (int o = 0; o < outChannels; o++) factor[o] = 1f / (s[o] * s[o]);
        int per = a.numel() / outChannels;
        return Tensor.result("slb_logit_precondition", a.data(), a.shape(), out -> {
            float[] g = out.gradArray(), ga = a.gradArray();
            for (int i = 0; i < g.length; i++) ga[i] += g[i] * factor[i / per];
        }, a);
    }

    public SlbWeightQuantizer weightQuantizer() { return (SlbWeightQuantizer) children().get("weight_quantizer"); }

    public FakeQuantize inputQuantizer() { return (FakeQuantize) children().get("input_quantizer"); }

    public FakeQuantize outputQuantizer() { return (FakeQuantize) children().get("output_quantizer"); }

    public int outChannels() { return outChannels; }

    /** The per-output-channel scales (a copy). */
    public float[] scales() { return buffer("scale").data().clone(); }

    /** The bias values (a copy), or null. */
    protected float[] biasValues() { return parameter("bias") == null ? null : parameter("bias").data().clone(); }

    /** The weight the layer uses now (soft or hard, by mode and flag), scaled per channel, in the layer's weight shape. */
    public Tensor effectiveWeight() {
        Tensor w = weightQuantizer().forward(preconditionedLogits());
        int[] sshape = new int[weightShape.length];
        Arrays.fill(sshape, 1);
        sshape[0] = outChannels;
        return w.mul(buffer("scale").reshape(sshape));
    }

    /** The layer's own computation on an (input-quantized) tensor with the given weight. */
    protected abstract Tensor op(Tensor x, Tensor weight);

    @Override
    protected final Tensor compute(Tensor x) {
        FakeQuantize in = inputQuantizer(), out = outputQuantizer();
        Tensor y = op(in == null ? x : in.forward(x), effectiveWeight());
        return out == null ? y : out.forward(y);
    }

    /** The argmax level index of every weight, row-major {@code [out, per-channel weights]}. */
    public int[] levelIndex() {
        return SlbWeightQuantizer.levelIndex(parameter("weight").data(), levelsCount);
    }

    /** The deploy layer: bit-packed weights, with this cell's activation grids when act quant is on. */
    public abstract PackedLayer toDeploy();

    /** {@code packed} with the activation grids of this cell's quantizers (none when absent). */
    protected final PackedLayer withActivationGrids(PackedLayer packed) {
        FakeQuantize in = inputQuantizer(), out = outputQuantizer();
        return packed.withActivationGrids(in == null ? null : in.quantParams(), out == null ? null : out.quantParams());
    }
}
