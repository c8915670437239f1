package org.goldenstick.tensor.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Deterministic horizontal sum of a float vector.
 *
 * <p>{@code reduceLanes(ADD)} leaves the order of the additions unspecified, and in practice the interpreter,
 * C1 and C2 add in different orders, so the same computation gave different last bits before and after JIT
 * compilation (run-to-run differences in logits and in training). This sum always uses the same pairwise tree:
 * lane i is added to lane i + n/2, then i + n/4, ..., so every execution mode rounds identically.
 *
 * <pre>{@code
 * float s = Lanes.sum(acc);   // instead of acc.reduceLanes(VectorOperators.ADD)
 * }</pre>
 */
public final class Lanes {
    private static final VectorSpecies<Float> PREFERRED = FloatVector.SPECIES_PREFERRED;
    private static final VectorShuffle<Float>[] HALVING = halvingShuffles(PREFERRED);

    private Lanes() {}

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Float>[] halvingShuffles(VectorSpecies<Float> species) {
        int n = species.length();
        int steps = Integer.numberOfTrailingZeros(n);
        VectorShuffle<Float>[] out = new VectorShuffle[steps];
        for (int s = 0, w = n / 2; s < steps; s++, w /= 2) {
            final int width = w;
            out[s] = VectorShuffle.fromOp(species, i -> (i + width) % n);
        }
        return out;
    }

    /** Sum of all lanes in a fixed pairwise order (see the class comment). */
    public static float sum(FloatVector v) {
        if (v.species() == PREFERRED) {
            for (VectorShuffle<Float> s : HALVING) v = v.add(v.rearrange(s));
            return v.lane(0);
        }
        return scalarTree(v.toArray());
    }

    /** The same pairwise tree on an array of lanes (reference for tests and other species). */
    static float scalarTree(float[] lanes) {
        float[] a = lanes.clone();
        for (int w = a.length / 2; w >= 1; w /= 2) {
            float[] next = new float[a.length];
            for (int i = 0; i < a.length; i++) next[i] = a[i] + a[(i + w) % a.length];
            a = next;
        }
        return a[0];
    }
}
