package org.goldenstick.qat.slb;

import java.util.Random;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;

/**
 * A fully connected layer whose weights are searched among 2^bits levels: level logits {@code [out, in, K]};
 * initialisation, scale, preconditioning and activation quantizers as described in {@link SlbQuantCell}. Upstream
 * SLB leaves Linear layers in float; this lets a LeNet, whose parameters sit mostly in its Linear layers, really
 * shrink. Deploys as a {@link PackedLinear}.
 *
 * <pre>{@code
 * var q = new LinearSlbQuant(linear, SlbConfig.defaults().withWeightQuantDtype(QuantDtype.INT2), 2, true, new Random(0));
 * }</pre>
 */
public final class LinearSlbQuant extends SlbQuantCell {
    private final int in;

    /**
     * @param bits 1, 2 or 4 (the network's weight bits, or the classifier's when that is low-bit)
     * @param inputQuantizer false when the producing layer already fake-quantizes this layer's input
     */
    public LinearSlbQuant(Linear linear, SlbConfig cfg, int bits, boolean inputQuantizer, Random rng) {
        super(linear.weight(), linear.bias(), 1, cfg, bits, inputQuantizer, rng);
        this.in = linear.inFeatures();
    }

    @Override
    protected Tensor op(Tensor x, Tensor weight) {
        return x.linear(weight, parameter("bias"));
    }

    @Override
    public PackedLayer toDeploy() {
        return withActivationGrids(PackedLinear.of(levelIndex(), weightQuantizer().bits(), scales(), weightQuantizer().levels(), outChannels(), in,
                biasValues()));
    }

    @Override
    public String describe() {
        return "LinearSlbQuant(" + in + " -> " + outChannels() + ", " + weightQuantizer().describe() + (inputQuantizer() != null ? ", A8" : "") + ")";
    }
}
