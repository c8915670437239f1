package org.goldenstick.qat;

import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.quant.FakeQuantize;
import org.goldenstick.quant.QLinear;
import org.goldenstick.quant.QuantParams;
import org.goldenstick.tensor.Tensor;

/**
 * A fully connected layer with fake-quantized weights (upstream {@code DenseQuant}): {@code y = x·FQw(W)ᵀ + b}.
 * The weight quantizer is per output channel (axis 0 of {@code [out, in]}) when configured.
 *
 * <pre>{@code
 * var q = new LinearQuant(linear, SimQATConfig.defaults(), true);
 * }</pre>
 */
public final class LinearQuant extends QuantCell {
    private final int in, out;

    public LinearQuant(Linear linear, SimQATConfig cfg, boolean inputQuantizer) {
        super(inputQuantizer ? QuantizerFactory.activation(cfg) : null, QuantizerFactory.activation(cfg));
        this.in = linear.inFeatures();
        this.out = linear.outFeatures();
        registerParameter("weight", linear.weight());
        if (linear.bias() != null) registerParameter("bias", linear.bias());
        registerChild("weight_quantizer", QuantizerFactory.weight(cfg, out));
    }

    @Override
    protected Tensor core(Tensor x) {
        return x.linear(weightQuantizer().forward(parameter("weight")), parameter("bias"));
    }

    @Override
    public Module toDeploy(QuantParams inputParams) {
        return QLinear.quantize(parameter("weight"), parameter("bias"), weightQuantizer().quantParams(), inputParams, outputParams());
    }

    @Override
    public String describe() {
        FakeQuantize w = weightQuantizer();
        return "LinearQuant(" + in + " -> " + out + ", weight " + w.describe() + (inputQuantizer() == null ? ", no input FQ" : "") + ")";
    }
}
