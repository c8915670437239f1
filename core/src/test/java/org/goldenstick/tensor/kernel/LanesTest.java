package org.goldenstick.tensor.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

class LanesTest {
    @Test
    void sumFollowsTheFixedPairwiseTreeBitForBit() {
        Random rng = new Random(7);
        int n = FloatVector.SPECIES_PREFERRED.length();
        // Many warm iterations so the check also runs after JIT compilation of Lanes.sum.
        for (int it = 0; it < 200_000; it++) {
            float[] lanes = new float[n];
            for (int i = 0; i < n; i++) lanes[i] = (float) (rng.nextGaussian() * Math.pow(10, rng.nextInt(9) - 4));
            float got = Lanes.sum(FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, lanes, 0));
            float want = Lanes.scalarTree(lanes);
            if (Float.floatToIntBits(got) != Float.floatToIntBits(want)) assertEquals(want, got, 0f, "iteration " + it);
        }
    }

    @Test
    void otherSpeciesUseTheSameTree() {
        float[] lanes = {1e8f, 1f, -1e8f, 1f, 3f, 5f, 7f, 11f};
        float got = Lanes.sum(FloatVector.fromArray(FloatVector.SPECIES_256, lanes, 0));
        assertEquals(Lanes.scalarTree(lanes), got, 0f);
        double exact = 0;
        for (float v : lanes) exact += v;
        assertEquals(exact, got, 4f);
    }
}
