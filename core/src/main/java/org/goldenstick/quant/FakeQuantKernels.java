package org.goldenstick.quant;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.goldenstick.tensor.kernel.Kernels;
import org.goldenstick.tensor.kernel.Lanes;

/**
 * The element loops of {@link FakeQuantize}: batch min/max, nudged quantize-dequantize and the straight-through
 * gradient over a run of one channel, as Vector API kernels with the scalar loops as reference
 * ({@code Kernels.vector()} chooses). Both give identical bits: the vector forward does the scalar's float operations
 * in the same order, and {@code floor} of the always-positive {@code (clamp(x) − nmin)/scale + 0.5} is the
 * float → int truncation.
 */
final class FakeQuantKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();

    private FakeQuantKernels() {}

    /** {@code {min, max}} of {@code d[from, to)} (±infinity for an empty run). */
    static float[] minMax(float[] d, int from, int to) {
        float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
        int i = from;
        if (Kernels.vector() && to - from >= L) {
            FloatVector vlo = FloatVector.broadcast(F, lo), vhi = FloatVector.broadcast(F, hi);
            for (; i + L <= to; i += L) {
                FloatVector v = FloatVector.fromArray(F, d, i);
                vlo = v.min(vlo); // the fresh vector as receiver, the accumulators through Lanes.exact: no profile needed
                vhi = v.max(vhi);
            }
            lo = Lanes.exact(vlo).reduceLanes(VectorOperators.MIN);
            hi = Lanes.exact(vhi).reduceLanes(VectorOperators.MAX);
        }
        for (; i < to; i++) {
            float v = d[i];
            if (v < lo) lo = v;
            if (v > hi) hi = v;
        }
        return new float[] {lo, hi};
    }

    /**
     * {@code out[i] = floor((clamp(a, nmin, nmax) − nmin)/scale + 0.5)·scale + nmin} with {@code a = min(hi, max(lo, x[i]))}
     * (a ReLU / ReLU6 before the grid; lo −∞ and hi +∞ for none) for i in [from, to); 0 when scale is 0.
     */
    static void quantDequant(float[] x, int from, int to, float lo, float hi, float scale, float nmin, float nmax, float[] out) {
        if (scale == 0f) {
            java.util.Arrays.fill(out, from, to, 0f);
            return;
        }
        int i = from;
        if (Kernels.vector()) {
            for (; i + L <= to; i += L) {
                FloatVector c = FloatVector.fromArray(F, x, i).max(lo).min(hi).max(nmin).min(nmax);
                FloatVector t = c.sub(nmin).div(scale).add(0.5f);
                FloatVector f = (FloatVector) t.convert(VectorOperators.F2I, 0).convert(VectorOperators.I2F, 0);
                f.mul(scale).add(nmin).intoArray(out, i);
            }
        }
        for (; i < to; i++) {
            float c = Math.min(Math.max(Math.min(hi, Math.max(lo, x[i])), nmin), nmax);
            out[i] = (float) Math.floor((c - nmin) / scale + 0.5f) * scale + nmin;
        }
    }

    /**
     * The straight-through estimator's gradient: {@code gx[i] += g[i]} where {@code nmin ≤ x[i] ≤ nmax}. With an
     * activation before the grid ({@code lo}/{@code hi} not ±∞: ReLU 0/+∞, ReLU6 0/6) x is its input: the gradient
     * also needs {@code lo < x[i] < hi} and is added as ReLU adds the grid's (fresh) gradient, {@code gx + (0 + g)}.
     * With {@code accumulate} false gx is first taken as 0 and not read (a fresh gradient, {@code Tensor.claimFreshGrad}).
     */
    static void passGradient(float[] x, float[] g, int from, int to, float lo, float hi, float nmin, float nmax, float[] gx, boolean accumulate) {
        boolean activated = lo != Float.NEGATIVE_INFINITY || hi != Float.POSITIVE_INFINITY;
        int i = from;
        if (Kernels.vector()) {
            FloatVector zero = FloatVector.zero(F);
            for (; i + L <= to; i += L) {
                FloatVector v = FloatVector.fromArray(F, x, i);
                FloatVector gv = FloatVector.fromArray(F, g, i);
                VectorMask<Float> pass;
                if (activated) {
                    FloatVector a = v.max(lo).min(hi);
                    pass = v.compare(VectorOperators.GT, lo).and(v.compare(VectorOperators.LT, hi))
                            .and(a.compare(VectorOperators.GE, nmin)).and(a.compare(VectorOperators.LE, nmax));
                    gv = zero.add(gv);
                } else {
                    pass = v.compare(VectorOperators.GE, nmin).and(v.compare(VectorOperators.LE, nmax));
                }
                FloatVector base = accumulate ? FloatVector.fromArray(F, gx, i) : zero;
                base.add(gv, pass).intoArray(gx, i);
            }
        }
        for (; i < to; i++) {
            float v = x[i], base = accumulate ? gx[i] : 0f;
            boolean pass;
            float gi = g[i];
            if (activated) {
                float a = Math.min(hi, Math.max(lo, v));
                pass = v > lo && v < hi && a >= nmin && a <= nmax;
                gi = 0f + gi;
            } else {
                pass = v >= nmin && v <= nmax;
            }
            gx[i] = pass ? base + gi : base;
        }
    }
}
