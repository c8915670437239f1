package org.goldenstick.tensor.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
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
 * <p>It is also written so that C2 compiles it well without a type profile. A kernel passes its loop-carried
 * accumulator, whose type C2 only knows as {@code FloatVector} when it parses the call; the old loop over the halving
 * shuffles then made every {@code rearrange}/{@code add}/{@code lane} a virtual call unless this method's own receiver
 * profile was already collected. Under a busy compile queue it often was not (this method still at tier 2, which does
 * not profile), and C2 compiled the caller with the accumulator boxed on every iteration: GGUF Q8_0 decode ran 3×
 * slower for the rest of the process in about half the runs (docs/results.md, issue 18). Now one class test makes the
 * vector's exact type known (C2 sharpens {@code getClass() ==} a constant) and the steps are straight-line code (no
 * loop phi that would lose the type again), so every operation is intrinsified in every compilation.
 *
 * <pre>{@code
 * float s = Lanes.sum(acc);   // instead of acc.reduceLanes(VectorOperators.ADD)
 * }</pre>
 */
public final class Lanes {
    private static final VectorSpecies<Float> PREFERRED = FloatVector.SPECIES_PREFERRED;
    /** The preferred species' vector class: the constant the class test compares with. */
    private static final Class<?> PREFERRED_CLASS = FloatVector.zero(PREFERRED).getClass();
    private static final VectorShuffle<Float>[] HALVING = halvingShuffles(PREFERRED);
    /** Halving steps (log2 of the lane count), a compile-time constant for the unrolled steps below. */
    private static final int STEPS = HALVING.length;
    private static final VectorShuffle<Float> H0 = step(0), H1 = step(1), H2 = step(2), H3 = step(3), H4 = step(4), H5 = step(5);

    private Lanes() {}

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Float>[] halvingShuffles(VectorSpecies<Float> species) {
        int n = species.length();
        int steps = Integer.numberOfTrailingZeros(n);
        if (steps > 6) throw new IllegalStateException("Lanes: " + n + " float lanes; the unrolled sum handles up to 64");
        VectorShuffle<Float>[] out = new VectorShuffle[steps];
        for (int s = 0, w = n / 2; s < steps; s++, w /= 2) {
            final int width = w;
            out[s] = VectorShuffle.fromOp(species, i -> (i + width) % n);
        }
        return out;
    }

    private static VectorShuffle<Float> step(int s) {
        return s < HALVING.length ? HALVING[s] : null;
    }

    /**
     * {@code v} itself, typed for C2 as the preferred species' exact class, for a vector that leaves a loop (an
     * accumulator) and then meets a method that dispatches on its class ({@code convert}, {@code intoArray},
     * {@code reduceLanes}, ...): C2 types such a vector as the abstract {@code FloatVector}, and those methods then need
     * a receiver profile or C2 boxes the vector (see the class comment). The class test here sharpens the type without
     * one. Kept under 35 bytes of bytecode so C2 inlines it even at a cold call site (a loop exit); a vector of another
     * species is a caller's bug. Its exception path keeps {@code v} alive as an object: where C2 already knows the
     * class (an accumulator of intrinsified operations), the test can make C2 box the vector on every call — the 4-bit
     * decode pass did, at the end of every pass (docs/results.md, issue 16); check the allocation of a compiled caller
     * ({@code W8A8BlockKernelsTest.packedInt4AllocatesNothingPerPassOnceCompiled}) before relying on it.
     *
     * <pre>{@code
     * Lanes.exact(acc).intoArray(c, at);   // after the loop that accumulated acc
     * }</pre>
     */
    public static FloatVector exact(FloatVector v) {
        if (v.getClass() != PREFERRED_CLASS) throw notPreferred(v);
        return v;
    }

    /** The int vector class of the preferred float species' shape (int8-block sums): the constant for {@link #exact(IntVector)}. */
    private static final Class<?> PREFERRED_INT_CLASS = IntVector.zero(PREFERRED.withLanes(int.class)).getClass();

    /**
     * As {@link #exact(FloatVector)} for an int vector of the preferred float species' shape (an integer block sum
     * carried out of its loop, then converted).
     *
     * <pre>{@code
     * FloatVector f = (FloatVector) Lanes.exact(blockSum).convert(VectorOperators.I2F, 0);
     * }</pre>
     */
    public static IntVector exact(IntVector v) {
        if (v.getClass() != PREFERRED_INT_CLASS) throw notPreferred(v);
        return v;
    }

    private static IllegalArgumentException notPreferred(jdk.incubator.vector.Vector<?> v) {
        return new IllegalArgumentException("Lanes.exact: a " + v.species() + " vector; the kernels that call it run on " + PREFERRED);
    }

    /** Sum of all lanes in a fixed pairwise order (see the class comment). */
    public static float sum(FloatVector v) {
        if (v.getClass() != PREFERRED_CLASS) return scalarTree(v.toArray());
        // v's exact class is known from here; each step keeps it (no loop), the STEPS tests fold at compile time
        if (STEPS > 0) v = v.add(v.rearrange(H0));
        if (STEPS > 1) v = v.add(v.rearrange(H1));
        if (STEPS > 2) v = v.add(v.rearrange(H2));
        if (STEPS > 3) v = v.add(v.rearrange(H3));
        if (STEPS > 4) v = v.add(v.rearrange(H4));
        if (STEPS > 5) v = v.add(v.rearrange(H5));
        return v.lane(0);
    }

    /** Lanes of the upper half: where {@link #sumPair} puts b's lanes next to a's. */
    private static final VectorMask<Float> UPPER = PREFERRED.indexInRange(-PREFERRED.length() / 2, PREFERRED.length() / 2), LOWER = UPPER.not();
    /** {@link #sumPair}'s steps after the first: the halving shuffles of a half, applied to both halves at once. */
    private static final VectorShuffle<Float> P1 = halfStep(1), P2 = halfStep(2), P3 = halfStep(3), P4 = halfStep(4), P5 = halfStep(5);

    /** Step s ≥ 1 of the tree inside each half: lane i meets lane i + n/2^(s+1) of its own half (wrapping there). */
    private static VectorShuffle<Float> halfStep(int s) {
        int n = PREFERRED.length(), half = n / 2, width = n >> (s + 1);
        return s < STEPS ? VectorShuffle.fromOp(PREFERRED, i -> (i / half) * half + (i % half + width) % half) : null;
    }

    /**
     * {@link #sum}(a) and {@link #sum}(b) at once, bit for bit the same values: one vector holds the first step of both
     * trees (a's in the lower half, b's in the upper: two blends, one shuffle), then each further step serves both halves
     * with one shuffle and one add — for 16 lanes 4 shuffles, 2 blends and 4 adds instead of 8 shuffles and 8 adds, and
     * half the dependent chain. A kernel that finishes two rows per pass sums them together. The two floats come packed
     * in a long (no array to allocate): {@link #first} and {@link #second} take them out.
     *
     * <pre>{@code
     * long s = Lanes.sumPair(accA, accB);
     * y[ra] = Lanes.first(s);
     * y[rb] = Lanes.second(s);
     * }</pre>
     */
    public static long sumPair(FloatVector a, FloatVector b) {
        // the other species' path is its own method: inlined here it would cost a kernel's C2 inlining budget (the 4-bit
        // pass ran out of it with two sums inlined in this method, and boxed its accumulators at every call)
        if (STEPS == 0 || a.getClass() != PREFERRED_CLASS || b.getClass() != PREFERRED_CLASS) return sumPairOther(a, b);
        // lane i < n/2: a[i] + a[i + n/2] (sum's first step); lane n/2 + i: b[n/2 + i] + b[i] (the same sum: + commutes)
        FloatVector v = a.blend(b, UPPER).add(a.blend(b, LOWER).rearrange(H0));
        if (STEPS > 1) v = v.add(v.rearrange(P1));
        if (STEPS > 2) v = v.add(v.rearrange(P2));
        if (STEPS > 3) v = v.add(v.rearrange(P3));
        if (STEPS > 4) v = v.add(v.rearrange(P4));
        if (STEPS > 5) v = v.add(v.rearrange(P5));
        return pack(v.lane(0), v.lane(PREFERRED.length() / 2));
    }

    private static long sumPairOther(FloatVector a, FloatVector b) {
        return pack(scalarTree(a.toArray()), scalarTree(b.toArray()));
    }

    private static long pack(float first, float second) {
        return (long) Float.floatToRawIntBits(first) << 32 | (Float.floatToRawIntBits(second) & 0xFFFF_FFFFL);
    }

    /** The first float of a {@link #sumPair} result. */
    public static float first(long pair) {
        return Float.intBitsToFloat((int) (pair >>> 32));
    }

    /** The second float of a {@link #sumPair} result. */
    public static float second(long pair) {
        return Float.intBitsToFloat((int) pair);
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
