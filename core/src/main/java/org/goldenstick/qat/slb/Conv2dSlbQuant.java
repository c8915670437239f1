package org.goldenstick.qat.slb;

import java.util.Random;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Conv2dSpec;
import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;

/**
 * A convolution whose weights are searched among 2^bits levels (upstream {@code Conv2dSlbQuant}, spec §6.2): level
 * logits {@code [out, in/groups, kh, kw, K]}; initialisation, scale, preconditioning and activation quantizers as
 * described in {@link SlbQuantCell}. Deploys as a {@link PackedConv2d}.
 *
 * <pre>{@code
 * var q = new Conv2dSlbQuant(conv, SlbConfig.defaults().withWeightQuantDtype(QuantDtype.INT2), new Random(0));
 * }</pre>
 */
public final class Conv2dSlbQuant extends SlbQuantCell {
    private final Conv2dSpec spec;
    private final int inPerGroup, kH, kW;

    public Conv2dSlbQuant(Conv2d conv, SlbConfig cfg, Random rng) {
        this(conv, cfg, true, rng);
    }

    /** @param inputQuantizer false when the producing layer already fake-quantizes this layer's input */
    public Conv2dSlbQuant(Conv2d conv, SlbConfig cfg, boolean inputQuantizer, Random rng) {
        super(conv.weight(), conv.bias(), conv.kernelH() * conv.kernelW(), cfg, cfg.weightBits(), inputQuantizer, rng);
        this.spec = conv.spec();
        this.inPerGroup = conv.inChannels() / conv.groups();
        this.kH = conv.kernelH();
        this.kW = conv.kernelW();
    }

    public Conv2dSpec spec() { return spec; }

    @Override
    protected Tensor op(Tensor x, Tensor weight) {
        return Functional.conv2d(x, weight, parameter("bias"), spec);
    }

    @Override
    public PackedLayer toDeploy() {
        return withActivationGrids(PackedConv2d.of(levelIndex(), weightQuantizer().bits(), scales(), weightQuantizer().levels(), outChannels(), inPerGroup,
                kH, kW, spec, biasValues()));
    }

    @Override
    public String describe() {
        return "Conv2dSlbQuant(" + inPerGroup * spec.groups() + " -> " + outChannels() + ", kernel=" + kH + "x" + kW + ", " + weightQuantizer().describe()
                + (inputQuantizer() != null ? ", A8" : "") + ")";
    }
}
