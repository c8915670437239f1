package org.goldenstick.nn;

import java.util.Random;
import org.goldenstick.tensor.Tensor;

/**
 * Fully connected layer {@code y = x·Wᵀ + b}, with W {@code [out, in]} (the PyTorch / Hugging Face layout).
 * Default initialisation: Kaiming-uniform weights with a = √5 and a uniform bias in ±1/√in, as PyTorch does.
 */
public class Linear extends Layer {
    private final int inFeatures;
    private final int outFeatures;

    public Linear(int inFeatures, int outFeatures, boolean bias, Random rng) {
        if (inFeatures <= 0 || outFeatures <= 0) throw new IllegalArgumentException("Linear: features must be positive, got in=" + inFeatures + " out=" + outFeatures);
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        float bound = (float) (1.0 / Math.sqrt(inFeatures));
        registerParameter("weight", Tensor.uniform(rng, -bound, bound, outFeatures, inFeatures));
        if (bias) registerParameter("bias", Tensor.uniform(rng, -bound, bound, outFeatures));
    }

    public Linear(int inFeatures, int outFeatures, Random rng) {
        this(inFeatures, outFeatures, true, rng);
    }

    public Tensor weight() {
        return parameter("weight");
    }

    /** The bias, or null. */
    public Tensor bias() {
        return parameter("bias");
    }

    public int inFeatures() {
        return inFeatures;
    }

    public int outFeatures() {
        return outFeatures;
    }

    @Override
    protected Tensor compute(Tensor x) {
        return x.linear(weight(), bias());
    }

    @Override
    public String describe() {
        return "Linear(" + inFeatures + " -> " + outFeatures + (bias() == null ? ", no bias" : "") + ")";
    }
}
