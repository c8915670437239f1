package org.goldenstick.tensor.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The element loops of fake quantization ({@code quant.FakeQuantize}, and batch norm with its output grid fused in,
 * {@code tensor.Functional.batchNormGrid}): batch min/max, nudged quantize-dequantize and the straight-through gradient
 * over a run of one channel, as Vector API kernels with the scalar loops as reference ({@code Kernels.vector()}
 * chooses). Both give identical bits: the vector forward does the scalar's float operations in the same order, and
 * {@code floor} of the always-positive {@code (clamp(x) − nmin)/scale + 0.5} is the float → int truncation.
 *
 * <p>The value put on the grid is {@code a = min(hi, max(lo, t))}: {@code t} is x itself, or with {@code affine}
 * {@code fma(x, mul, add)} (a batch norm's output formed from its input, as {@code Functional.batchNorm} forms it);
 * lo/hi are a ReLU's (0, +∞) or ReLU6's (0, 6) clamp, or −∞/+∞ for none.
 */
public final class FakeQuantKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();

    private FakeQuantKernels() {}

    /** {@code {min, max}} of {@code d[from, to)} (±infinity for an empty run). */
    public static float[] minMax(float[] d, int from, int to) {
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
     * {@code out[i] = floor((clamp(a, nmin, nmax) − nmin)/scale + 0.5)·scale + nmin} for i in [from, to), with a as in
     * the class comment; 0 when scale is 0.
     */
    public static void quantDequant(float[] x, int from, int to, boolean affine, float mul, float add, float lo, float hi,
                                    float scale, float nmin, float nmax, float[] out) {
        if (scale == 0f) {
            java.util.Arrays.fill(out, from, to, 0f);
            return;
        }
        int i = from;
        if (Kernels.vector()) {
            FloatVector mv = FloatVector.broadcast(F, mul), av = FloatVector.broadcast(F, add);
            for (; i + L <= to; i += L) {
                FloatVector t = FloatVector.fromArray(F, x, i);
                if (affine) t = t.fma(mv, av);
                FloatVector c = t.max(lo).min(hi).max(nmin).min(nmax);
                FloatVector q = c.sub(nmin).div(scale).add(0.5f);
                FloatVector f = (FloatVector) q.convert(VectorOperators.F2I, 0).convert(VectorOperators.I2F, 0);
                f.mul(scale).add(nmin).intoArray(out, i);
            }
        }
        for (; i < to; i++) {
            float t = affine ? Math.fma(x[i], mul, add) : x[i];
            float c = Math.min(Math.max(Math.min(hi, Math.max(lo, t)), nmin), nmax);
            out[i] = (float) Math.floor((c - nmin) / scale + 0.5f) * scale + nmin;
        }
    }

    /**
     * The straight-through estimator's gradient: {@code gx[i + dst − from] += g[i]} where {@code nmin ≤ t ≤ nmax}
     * (t as in the class comment), for i in [from, to). With a clamp (lo/hi not ±∞) the gradient also needs
     * {@code lo < t < hi} and is added as ReLU adds the grid's fresh gradient, {@code gx + (0 + g)}; with {@code affine}
     * likewise {@code gx + (0 + g)}, as batch norm receives the grid's fresh gradient. With {@code accumulate} false gx is
     * first taken as 0 and not read (a fresh gradient, {@code Tensor.claimFreshGrad}).
     */
    public static void passGradient(float[] x, float[] g, int from, int to, boolean affine, float mul, float add, float lo, float hi,
                                    float nmin, float nmax, float[] gx, int dst, boolean accumulate) {
        boolean clamped = lo != Float.NEGATIVE_INFINITY || hi != Float.POSITIVE_INFINITY;
        boolean gridded = nmin != Float.NEGATIVE_INFINITY || nmax != Float.POSITIVE_INFINITY; // ±∞: a clamp alone
        boolean fresh = clamped || affine; // the gradient goes through one more op's fresh gradient: 0 + g
        int shift = dst - from;
        int i = from;
        if (Kernels.vector()) {
            FloatVector zero = FloatVector.zero(F), mv = FloatVector.broadcast(F, mul), av = FloatVector.broadcast(F, add);
            for (; i + L <= to; i += L) {
                FloatVector v = FloatVector.fromArray(F, x, i);
                if (affine) v = v.fma(mv, av);
                FloatVector gv = FloatVector.fromArray(F, g, i);
                VectorMask<Float> pass;
                if (clamped) {
                    pass = v.compare(VectorOperators.GT, lo).and(v.compare(VectorOperators.LT, hi));
                    if (gridded) {
                        FloatVector a = v.max(lo).min(hi);
                        pass = pass.and(a.compare(VectorOperators.GE, nmin)).and(a.compare(VectorOperators.LE, nmax));
                    }
                } else {
                    pass = v.compare(VectorOperators.GE, nmin).and(v.compare(VectorOperators.LE, nmax));
                }
                if (fresh) gv = zero.add(gv);
                FloatVector base = accumulate ? FloatVector.fromArray(F, gx, i + shift) : zero;
                base.add(gv, pass).intoArray(gx, i + shift);
            }
        }
        for (; i < to; i++) {
            float v = affine ? Math.fma(x[i], mul, add) : x[i], base = accumulate ? gx[i + shift] : 0f;
            boolean pass;
            if (clamped) {
                float a = Math.min(hi, Math.max(lo, v));
                pass = v > lo && v < hi && a >= nmin && a <= nmax;
            } else {
                pass = v >= nmin && v <= nmax;
            }
            float gi = fresh ? 0f + g[i] : g[i];
            gx[i + shift] = pass ? base + gi : base;
        }
    }
}
