package org.goldenstick.qat;

import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Module;
import org.goldenstick.quant.QConv2d;
import org.goldenstick.quant.QuantParams;
import org.goldenstick.tensor.Conv2dSpec;
import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;

/**
 * A convolution with fake-quantized weights: {@code y = conv(x, FQw(W)) + b}; the layer's own weight and bias
 * tensors are reused (not copied). Per-channel weight quantization is along the output channels (axis 0).
 *
 * <pre>{@code
 * var q = new Conv2dQuant(conv, SimQATConfig.defaults(), true);
 * }</pre>
 */
public final class Conv2dQuant extends QuantCell {
    private final Conv2d conv;

    public Conv2dQuant(Conv2d conv, SimQATConfig cfg, boolean inputQuantizer) {
        super(inputQuantizer ? QuantizerFactory.activation(cfg) : null, QuantizerFactory.activation(cfg));
        this.conv = conv;
        registerParameter("weight", conv.weight());
        if (conv.bias() != null) registerParameter("bias", conv.bias());
        registerChild("weight_quantizer", QuantizerFactory.weight(cfg, conv.outChannels()));
    }

    /** The original layer (its geometry; its tensors are this cell's). */
    public Conv2d conv() {
        return conv;
    }

    public Conv2dSpec spec() {
        return conv.spec();
    }

    @Override
    protected Tensor core(Tensor x) {
        return Functional.conv2d(x, weightQuantizer().forward(parameter("weight")), parameter("bias"), conv.spec());
    }

    @Override
    public Module toDeploy(QuantParams inputParams) {
        return QConv2d.quantize(parameter("weight"), parameter("bias"), conv.spec(), weightQuantizer().quantParams(), inputParams, outputParams());
    }

    @Override
    public String describe() {
        return "Conv2dQuant(" + conv.describe() + ", weight " + weightQuantizer().describe() + (inputQuantizer() == null ? ", no input FQ" : "") + ")";
    }
}
