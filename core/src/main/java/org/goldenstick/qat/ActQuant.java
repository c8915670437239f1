package org.goldenstick.qat;

import org.goldenstick.nn.Module;
import org.goldenstick.nn.ReLU;
import org.goldenstick.nn.ReLU6;
import org.goldenstick.quant.FakeQuantize;
import org.goldenstick.nn.Sequential;
import org.goldenstick.quant.QuantDequant;
import org.goldenstick.quant.QuantParams;
import org.goldenstick.tensor.Tensor;

/**
 * An activation (ReLU, ReLU6, ...) whose output is fake-quantized: {@code y = FQout(act(FQin(x)))}. The activation
 * module is kept as child {@code act}.
 */
public final class ActQuant extends QuantCell {
    public ActQuant(Module activation, SimQATConfig cfg, boolean inputQuantizer) {
        super(inputQuantizer ? QuantizerFactory.activation(cfg) : null, QuantizerFactory.activation(cfg));
        registerChild("act", activation);
    }

    public Module activation() {
        return children().get("act");
    }

    @Override
    protected Tensor core(Tensor x) {
        return activation().forward(x);
    }

    /** ReLU / ReLU6 and the output grid in one op ({@link FakeQuantize#forwardAfterRelu}) when it can; else the two. */
    @Override
    protected Tensor coreThenOutput(Tensor x, FakeQuantize out) {
        Class<?> act = activation().getClass();
        Tensor y = out == null || (act != ReLU.class && act != ReLU6.class) ? null : out.forwardAfterRelu(x, act == ReLU6.class ? 6f : Float.POSITIVE_INFINITY);
        return y != null ? y : super.coreThenOutput(x, out);
    }

    @Override
    public Module toDeploy(QuantParams inputParams) {
        QuantDequant outQ = new QuantDequant(activation(), outputParams());
        return inputQuantizer() == null ? outQ : new Sequential(new QuantDequant(null, inputParams), outQ);
    }

    @Override
    public String describe() {
        return "ActQuant(" + activation().describe() + (inputQuantizer() == null ? ", no input FQ" : "") + ")";
    }
}
