package org.goldenstick.qat;

import org.goldenstick.nn.BatchNorm2d;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Module;
import org.goldenstick.quant.QConv2d;
import org.goldenstick.quant.QuantMath;
import org.goldenstick.quant.QuantParams;
import org.goldenstick.tensor.Conv2dSpec;
import org.goldenstick.tensor.Tensor;

/**
 * Shared parts of the three Conv2d+BN quant cells: the conv's weight/bias are this cell's parameters, the
 * original BN is child {@code bn}, and deployment folds BN into an int8 conv with
 * {@code W' = W·γ/σ}, {@code b' = β + (b − μ)·γ/σ}, {@code σ = sqrt(running_var + eps)} (the v0.3.0 form the spec
 * recommends: folded weight and bias, no BN left).
 */
abstract class ConvBnQuant extends QuantCell {
    protected final Conv2d conv;

    ConvBnQuant(Conv2dBn fused, SimQATConfig cfg, boolean inputQuantizer) {
        super(inputQuantizer ? QuantizerFactory.activation(cfg) : null, QuantizerFactory.activation(cfg));
        this.conv = fused.conv();
        registerParameter("weight", conv.weight());
        if (conv.bias() != null) registerParameter("bias", conv.bias());
        registerChild("bn", fused.bn());
        registerChild("weight_quantizer", QuantizerFactory.weight(cfg, conv.outChannels()));
    }

    public Conv2d conv() {
        return conv;
    }

    public BatchNorm2d bn() {
        return (BatchNorm2d) children().get("bn");
    }

    public Conv2dSpec spec() {
        return conv.spec();
    }

    /** γ/σ per output channel, from the running variance. */
    protected float[] foldScale() {
        BatchNorm2d bn = bn();
        float[] g = bn.weight().data(), v = bn.runningVar().data();
        float[] s = new float[g.length];
        for (int c = 0; c < s.length; c++) s[c] = (float) (g[c] / Math.sqrt((double) v[c] + bn.eps()));
        return s;
    }

    /** {@code {W·γ/σ, β + (b − μ)·γ/σ}} from the current statistics. */
    protected float[][] folded() {
        BatchNorm2d bn = bn();
        Tensor b = parameter("bias");
        return QuantMath.foldBatchNorm(parameter("weight").data(), conv.outChannels(), b == null ? null : b.data(), bn.weight().data(),
                bn.bias().data(), bn.runningMean().data(), bn.runningVar().data(), (float) bn.eps());
    }

    /** Deploys the folded weight quantized with the weight quantizer's grid (it was trained on the folded weight). */
    protected Module deployFolded(QuantParams inputParams) {
        float[][] f = folded();
        Tensor w = Tensor.of(f[0], parameter("weight").shape());
        return QConv2d.quantize(w, Tensor.of(f[1], f[1].length), conv.spec(), weightQuantizer().quantParams(), inputParams, outputParams());
    }

    /** Reshapes a per-channel vector to {@code [1, C, 1, 1]} for broadcasting over NCHW. */
    static Tensor channelView(Tensor v) {
        return v.reshape(1, v.numel(), 1, 1);
    }

    /** Reshapes a per-channel vector to {@code [C, 1, 1, 1]} for broadcasting over a conv weight. */
    static Tensor weightView(Tensor v) {
        return v.reshape(v.numel(), 1, 1, 1);
    }
}
