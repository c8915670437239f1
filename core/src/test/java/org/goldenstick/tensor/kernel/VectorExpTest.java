package org.goldenstick.tensor.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

class VectorExpTest {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private static float[] sweep() {
        int n = 1 << 20;
        float[] x = new float[n + 16];
        for (int i = 0; i < n; i++) x[i] = -110f + 210f * i / n;
        float[] special = {Float.NaN, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, 0f, -0f, VectorExp.LO, VectorExp.HI,
                Math.nextDown(VectorExp.LO), Math.nextUp(VectorExp.HI), 1e-30f, -1e-30f, 88.72f, -103f, 0.34657359f, -0.34657359f, 1f};
        System.arraycopy(special, 0, x, n, special.length);
        return x;
    }

    @Test
    void vectorLanesEqualTheScalarFormulaBitForBit() {
        float[] x = sweep();
        float[] y = new float[x.length];
        int i = 0;
        for (int ub = S.loopBound(x.length); i < ub; i += S.length()) VectorExp.exp(FloatVector.fromArray(S, x, i)).intoArray(y, i);
        for (; i < x.length; i++) y[i] = VectorExp.scalar(x[i]);
        for (int k = 0; k < x.length; k++) {
            assertEquals(Float.floatToIntBits(VectorExp.scalar(x[k])), Float.floatToIntBits(y[k]), "x = " + x[k]);
        }
    }

    @Test
    void withinTwoUlpOfMathExpAndExactAtTheEdges() {
        double worst = 0;
        for (float x : sweep()) {
            float e = VectorExp.scalar(x);
            if (Float.isNaN(x)) {
                assertTrue(Float.isNaN(e));
            } else if (x < VectorExp.LO) {
                assertEquals(0f, e, "x = " + x);
                assertTrue(Math.exp(x) < 1.2e-38, "only subnormals are flushed: " + x);
            } else if (x > VectorExp.HI) {
                assertEquals(Float.POSITIVE_INFINITY, e, "x = " + x);
            } else {
                double ref = Math.exp(x);
                double ulps = Math.abs(e - ref) / Math.ulp((float) ref);
                worst = Math.max(worst, ulps);
                assertTrue(ulps <= 2, "x = " + x + ": " + e + " vs " + ref + " (" + ulps + " ulp)");
            }
        }
        assertTrue(Float.isFinite(VectorExp.scalar(VectorExp.HI)));
        assertEquals(1f, VectorExp.scalar(0f));
        assertTrue(worst > 0, "compared against an independent exp, not itself");
    }
}
