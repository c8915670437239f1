package org.goldenstick.qat;

import org.goldenstick.nn.Layer;
import org.goldenstick.nn.Module;
import org.goldenstick.quant.FakeQuantize;
import org.goldenstick.quant.QuantParams;
import org.goldenstick.tensor.Tensor;

/**
 * A layer wrapped for quantization-aware training (upstream {@code QuantCell}): an optional input fake
 * quantizer, the layer's computation ({@link #core}) with its weight fake-quantized, and an output fake
 * quantizer. Quantizers are children named {@code input_quantizer}, {@code weight_quantizer},
 * {@code output_quantizer}; the wrapped layer's own tensors keep their names ({@code weight}, {@code bias}), so a
 * float checkpoint of the original network loads into the wrapped one (BN-fused cells keep their BN under {@code bn}).
 *
 * <p>The input quantizer is left out when the producing layer already quantizes its output (upstream's rule
 * that the producer's output quantizer wins at a producer→consumer edge).
 */
public abstract class QuantCell extends Layer {
    protected QuantCell(FakeQuantize input, FakeQuantize output) {
        if (input != null) registerChild("input_quantizer", input);
        if (output != null) registerChild("output_quantizer", output);
    }

    /** The input quantizer, or null when the producer's output quantizer covers this edge. */
    public FakeQuantize inputQuantizer() {
        return (FakeQuantize) children().get("input_quantizer");
    }

    public FakeQuantize outputQuantizer() {
        return (FakeQuantize) children().get("output_quantizer");
    }

    /** The weight quantizer, or null for activation cells. */
    public FakeQuantize weightQuantizer() {
        return (FakeQuantize) children().get("weight_quantizer");
    }

    /** The wrapped computation on an already input-quantized tensor. */
    protected abstract Tensor core(Tensor x);

    @Override
    protected final Tensor compute(Tensor x) {
        FakeQuantize in = inputQuantizer();
        return coreThenOutput(in == null ? x : in.forward(x), outputQuantizer());
    }

    /**
     * {@link #core} followed by the output quantizer (null: none). A cell may override this to run the two as one op
     * where that computes the same bits (an activation's clamp and the grid: {@link ActQuant}).
     */
    protected Tensor coreThenOutput(Tensor x, FakeQuantize out) {
        Tensor y = core(x);
        return out == null ? y : out.forward(y);
    }

    /**
     * The integer deploy module of this cell.
     *
     * @param inputParams the grid of the values arriving: this cell's input quantizer, or the producer's output quantizer
     */
    public abstract Module toDeploy(QuantParams inputParams);

    protected QuantParams outputParams() {
        return outputQuantizer() == null ? null : outputQuantizer().quantParams();
    }
}
