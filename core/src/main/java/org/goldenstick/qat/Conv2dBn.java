package org.goldenstick.qat;

import org.goldenstick.nn.BatchNorm2d;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Layer;
import org.goldenstick.tensor.Tensor;

/**
 * Conv2d followed by BatchNorm2d as one layer, produced by SimQAT's fusion rule. Unlike upstream (whose fusion
 * re-initialises the conv weights and BN), the trained conv and BN are kept as children {@code conv} and
 * {@code bn}, so fusion never loses pre-trained parameters.
 */
public final class Conv2dBn extends Layer {
    public Conv2dBn(Conv2d conv, BatchNorm2d bn) {
        if (bn.numFeatures() != conv.outChannels()) {
            throw new IllegalArgumentException("Conv2dBn: BatchNorm2d has " + bn.numFeatures() + " features but the conv has " + conv.outChannels() + " outputs");
        }
        registerChild("conv", conv);
        registerChild("bn", bn);
    }

    public Conv2d conv() {
        return (Conv2d) children().get("conv");
    }

    public BatchNorm2d bn() {
        return (BatchNorm2d) children().get("bn");
    }

    @Override
    protected Tensor compute(Tensor x) {
        return bn().forward(conv().forward(x));
    }

    @Override
    public String describe() {
        return "Conv2dBn(" + conv().describe() + ", " + bn().describe() + ")";
    }
}
