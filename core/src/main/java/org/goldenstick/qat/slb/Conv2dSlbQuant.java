package org.goldenstick.qat.slb;

import java.util.Random;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.Sequential;
import org.goldenstick.quant.FakeQuantize;
import org.goldenstick.quant.QuantDequant;
import org.goldenstick.quant.QuantSpec;
import org.goldenstick.tensor.Conv2dSpec;
import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;

/**
 * A convolution whose weights are searched among 2^bits levels (upstream {@code Conv2dSlbQuant}, spec §6.2).
 * Parameter {@code weight} holds the level logits {@code [out, in/groups, kh, kw, K]}; child {@code weight_quantizer}
 * ({@link SlbWeightQuantizer}) maps them to a 4-D weight in {@code [−1, 1]}, multiplied by the fixed per-channel
 * buffer {@code scale}; the original bias is reused. With activation quantization, 8-bit asymmetric per-tensor
 * fake quantizers {@code input_quantizer} / {@code output_quantizer} wrap the convolution.
 *
 * <p>Initialisation: upstream discards the float weight and draws the logits He-normal (fan_out) with scale 1.
 * With {@link SlbConfig#initFromWeights()} (our default) the logits favour the level nearest to {@code w / s}
 * ({@code A_k = −(w/s − l_k)² / (2σ²)}, σ = half the level spacing), with {@code s} = mean |w| of the output channel
 * for 1 bit and max |w| for 2/4 bits, so fine-tuning starts from the trained network; {@code s} is kept fixed and deployed.
 *
 * <pre>{@code
 * var q = new Conv2dSlbQuant(conv, SlbConfig.defaults().withWeightQuantDtype(QuantDtype.INT2), new Random(0));
 * }</pre>
 */
public final class Conv2dSlbQuant extends Module {
    /** Activation fake quantizers start quantizing after this many training calls (upstream hard-codes 900; see docs/slb.md). */
    public static final int ACT_QUANT_DELAY = 0;

    private final Conv2dSpec spec;
    private final int outChannels, inPerGroup, kH, kW, levelsCount;

    public Conv2dSlbQuant(Conv2d conv, SlbConfig cfg, Random rng) {
        this.spec = conv.spec();
        this.outChannels = conv.outChannels();
        this.inPerGroup = conv.inChannels() / conv.groups();
        this.kH = conv.kernelH();
        this.kW = conv.kernelW();
        int bits = cfg.weightBits();
        this.levelsCount = 1 << bits;
        SlbWeightQuantizer wq = new SlbWeightQuantizer(bits);
        float[] scale = new float[outChannels];
        Tensor logits = Tensor.zeros(outChannels, inPerGroup, kH, kW, levelsCount);
        if (cfg.initFromWeights()) initFromWeights(conv.weight().data(), wq.levels(), bits, scale, logits.data());
        else {
            java.util.Arrays.fill(scale, 1f);
            double std = Math.sqrt(2.0 / ((double) outChannels * kH * kW * levelsCount));  // He-normal, fan_out over the 5-D shape
            float[] a = logits.data();
            for (int i = 0; i < a.length; i++) a[i] = (float) (rng.nextGaussian() * std);
        }
        if (cfg.enableActQuant()) registerChild("input_quantizer", actQuantizer());
        registerParameter("weight", logits.requiresGrad(true));
        if (conv.bias() != null) registerParameter("bias", conv.bias());
        registerBuffer("scale", Tensor.of(scale, outChannels));
        registerChild("weight_quantizer", wq);
        if (cfg.enableActQuant()) registerChild("output_quantizer", actQuantizer());
    }

    private static FakeQuantize actQuantizer() {
        return FakeQuantize.perTensor(new QuantSpec(8, false, false, false), ACT_QUANT_DELAY);
    }

    private void initFromWeights(float[] w, float[] levels, int bits, float[] scale, float[] a) {
        int per = inPerGroup * kH * kW;
        double sigma = (levels[1] - levels[0]) / 2.0;
        for (int o = 0; o < outChannels; o++) {
            double s = 0;
            for (int i = 0; i < per; i++) s = bits == 1 ? s + Math.abs(w[o * per + i]) : Math.max(s, Math.abs(w[o * per + i]));
            if (bits == 1) s /= per;
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

    public SlbWeightQuantizer weightQuantizer() { return (SlbWeightQuantizer) children().get("weight_quantizer"); }

    public FakeQuantize inputQuantizer() { return (FakeQuantize) children().get("input_quantizer"); }

    public FakeQuantize outputQuantizer() { return (FakeQuantize) children().get("output_quantizer"); }

    public Conv2dSpec spec() { return spec; }

    public int outChannels() { return outChannels; }

    /** The weight the convolution uses now (soft or hard, by mode and flag), scaled per channel. */
    public Tensor effectiveWeight() {
        Tensor w = weightQuantizer().forward(parameter("weight"));
        return w.mul(buffer("scale").reshape(outChannels, 1, 1, 1));
    }

    @Override
    public Tensor forward(Tensor x) {
        FakeQuantize in = inputQuantizer(), out = outputQuantizer();
        Tensor y = Functional.conv2d(in == null ? x : in.forward(x), effectiveWeight(), parameter("bias"), spec);
        return out == null ? y : out.forward(y);
    }

    /** The argmax level index of every weight, row-major {@code [out, in/groups·kh·kw]}. */
    public int[] levelIndex() {
        return SlbWeightQuantizer.levelIndex(parameter("weight").data(), levelsCount);
    }

    /** The deploy module: bit-packed weights, wrapped in activation quant-dequant steps when act quant is on. */
    public Module toDeploy() {
        PackedConv2d conv = PackedConv2d.of(levelIndex(), weightQuantizer().bits(), buffer("scale").data().clone(), weightQuantizer().levels(),
                outChannels, inPerGroup, kH, kW, spec, parameter("bias") == null ? null : parameter("bias").data().clone());
        FakeQuantize in = inputQuantizer(), out = outputQuantizer();
        if (in == null && out == null) return conv;
        return new Sequential(new QuantDequant(null, in.quantParams()), conv, new QuantDequant(null, out.quantParams()));
    }

    @Override
    public String describe() {
        return "Conv2dSlbQuant(" + inPerGroup * spec.groups() + " -> " + outChannels + ", kernel=" + kH + "x" + kW + ", " + weightQuantizer().describe()
                + (inputQuantizer() != null ? ", A8" : "") + ")";
    }
}
