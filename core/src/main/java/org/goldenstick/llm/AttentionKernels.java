package org.goldenstick.llm;

import org.goldenstick.tensor.kernel.Lanes;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.goldenstick.tensor.kernel.Kernels;

/**
 * The two inner loops of cached attention, a dot product and an axpy, with a Vector API path and a scalar
 * reference chosen by {@link Kernels#vector()}.
 */
final class AttentionKernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private AttentionKernels() {}

    static float dot(float[] x, int xo, float[] y, int yo, int n) {
        if (!Kernels.vector()) return dotScalar(x, xo, y, yo, n);
        int lanes = S.length(), i = 0;
        FloatVector acc = FloatVector.zero(S);
        for (; i + lanes <= n; i += lanes) acc = FloatVector.fromArray(S, x, xo + i).fma(FloatVector.fromArray(S, y, yo + i), acc);
        float s = Lanes.sum(acc);
        for (; i < n; i++) s += x[xo + i] * y[yo + i];
        return s;
    }

    static float dotScalar(float[] x, int xo, float[] y, int yo, int n) {
        float s = 0;
        for (int i = 0; i < n; i++) s += x[xo + i] * y[yo + i];
        return s;
    }

    /** {@code y[yo..yo+n) += a · x[xo..xo+n)}. */
    static void axpy(float a, float[] x, int xo, float[] y, int yo, int n) {
        int i = 0;
        if (Kernels.vector()) {
            int lanes = S.length();
            FloatVector va = FloatVector.broadcast(S, a);
            for (; i + lanes <= n; i += lanes) {
                va.fma(FloatVector.fromArray(S, x, xo + i), FloatVector.fromArray(S, y, yo + i)).intoArray(y, yo + i);
            }
        }
        for (; i < n; i++) y[yo + i] += a * x[xo + i];
    }
}
