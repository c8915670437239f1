package org.goldenstick.nn;

import java.util.Random;
import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;

/**
 * Inverted dropout: in training, zeroes each element with probability {@code p} and scales the rest by
 * {@code 1/(1-p)}; in eval it is the identity. The mask comes from a seeded {@link Random}, so runs repeat.
 *
 * <pre>{@code
 * var drop = new Dropout(0.5, new Random(0));
 * }</pre>
 */
public class Dropout extends Layer {
    private final double p;
    private final Random rng;

    public Dropout(double p, Random rng) {
        if (p < 0 || p >= 1) throw new IllegalArgumentException("Dropout: p must be in [0, 1), got " + p);
        this.p = p;
        this.rng = rng;
    }

    public double p() {
        return p;
    }

    @Override
    protected Tensor compute(Tensor x) {
        if (!isTraining() || p == 0) return x;
        return Functional.dropout(x, (float) p, true, rng);
    }

    @Override
    public String describe() {
        return "Dropout(p=" + p + ")";
    }
}
