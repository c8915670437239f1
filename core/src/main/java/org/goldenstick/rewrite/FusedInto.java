package org.goldenstick.rewrite;

import org.goldenstick.nn.Layer;
import org.goldenstick.tensor.Tensor;

/**
 * What is left at a position whose layer was folded into a neighbour by a fusion rule (e.g. the BatchNorm2d
 * after a Conv2d): the identity, remembering where the layer went so summaries and exporters can say so.
 *
 * <pre>{@code
 * new FusedInto("conv1").forward(x) == x
 * }</pre>
 */
public final class FusedInto extends Layer {
    private final String target;
    private final String originalClass;

    public FusedInto(String target, String originalClass) {
        this.target = target;
        this.originalClass = originalClass;
    }

    /** Path of the module that absorbed this one. */
    public String target() {
        return target;
    }

    public String originalClass() {
        return originalClass;
    }

    @Override
    protected Tensor compute(Tensor x) {
        return x;
    }

    @Override
    public String describe() {
        return "FusedInto(" + target + ", was " + originalClass + ")";
    }
}
