package org.goldenstick.tensor;

import org.goldenstick.tensor.kernel.Lanes;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.goldenstick.tensor.kernel.Kernels;
import org.goldenstick.tensor.kernel.VectorExp;

/**
 * Small Vector API loops for the ops in this package, each with a plain scalar reference chosen by
 * {@link Kernels#vector()}. They exist where the JIT cannot help by itself: masked gradient updates (a data-dependent
 * branch per element mispredicts about half the time on real activations) and float reductions (which it will not
 * reorder). Vector reductions sum in float lanes over one row/plane and are returned in double for the caller to
 * accumulate across rows.
 */
final class VectorKernels {
    private VectorKernels() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    /** Σ a[off..off+len). */
    static double sum(float[] a, int off, int len) {
        if (!Kernels.vector()) {
            double s = 0;
            for (int i = 0; i < len; i++) s += a[off + i];
            return s;
        }
        FloatVector acc = FloatVector.zero(S);
        int i = 0, ub = S.loopBound(len);
        for (; i < ub; i += S.length()) acc = FloatVector.fromArray(S, a, off + i).add(acc); // the fresh vector as receiver: no profile needed (Lanes.exact)
        double s = Lanes.sum(acc);
        for (; i < len; i++) s += a[off + i];
        return s;
    }

    /**
     * {@link #sum} (the same value, summed in the same order) and, in the same pass, {@code range} = {min, max} widened to
     * cover the values: batch norm's first statistics pass when its output range is needed.
     */
    static double sumAndRange(float[] a, int off, int len, float[] range) {
        if (!Kernels.vector()) {
            widen(a, off, off + len, range);
            return sum(a, off, len);
        }
        FloatVector acc = FloatVector.zero(S);
        FloatVector lo = FloatVector.broadcast(S, range[0]), hi = FloatVector.broadcast(S, range[1]);
        int i = 0, ub = S.loopBound(len);
        for (; i < ub; i += S.length()) {
            FloatVector v = FloatVector.fromArray(S, a, off + i);
            acc = v.add(acc); // the fresh vector as receiver, the accumulators through Lanes.exact: no profile needed
            lo = v.min(lo);
            hi = v.max(hi);
        }
        range[0] = Lanes.exact(lo).reduceLanes(VectorOperators.MIN);
        range[1] = Lanes.exact(hi).reduceLanes(VectorOperators.MAX);
        widen(a, off + i, off + len, range);
        double s = Lanes.sum(acc);
        for (; i < len; i++) s += a[off + i];
        return s;
    }

    private static void widen(float[] a, int from, int to, float[] range) {
        for (int i = from; i < to; i++) {
            range[0] = Math.min(range[0], a[i]);
            range[1] = Math.max(range[1], a[i]);
        }
    }

    /** Σ (a[i] − mean)² over a[off..off+len). */
    static double sumSquaredDeviation(float[] a, int off, int len, float mean) {
        if (!Kernels.vector()) {
            double s = 0;
            for (int i = 0; i < len; i++) {
                double d = a[off + i] - (double) mean;
                s += d * d;
            }
            return s;
        }
        FloatVector acc = FloatVector.zero(S);
        int i = 0, ub = S.loopBound(len);
        for (; i < ub; i += S.length()) {
            FloatVector d = FloatVector.fromArray(S, a, off + i).sub(mean);
            acc = d.fma(d, acc);
        }
        double s = Lanes.sum(acc);
        for (; i < len; i++) {
            double d = a[off + i] - (double) mean;
            s += d * d;
        }
        return s;
    }

    /** Σ g[gOff + i]·(x[xOff + i] − mean) over i in [0, len). */
    static double dotCentered(float[] g, float[] x, int gOff, int xOff, int len, float mean) {
        if (!Kernels.vector()) {
            double s = 0;
            for (int i = 0; i < len; i++) s += (double) g[gOff + i] * (x[xOff + i] - mean);
            return s;
        }
        FloatVector acc = FloatVector.zero(S);
        int i = 0, ub = S.loopBound(len);
        for (; i < ub; i += S.length()) {
            FloatVector d = FloatVector.fromArray(S, x, xOff + i).sub(mean);
            acc = d.fma(FloatVector.fromArray(S, g, gOff + i), acc);
        }
        double s = Lanes.sum(acc);
        for (; i < len; i++) s += (double) g[gOff + i] * (x[xOff + i] - mean);
        return s;
    }

    /**
     * gx[i] += scale·g[i] where lo &lt; x[i] &lt; hi, for i in [from, to); with {@code accumulate} false gx[i] is first
     * taken as 0 (not read: a fresh gradient, {@link Tensor#claimFreshGrad()}).
     */
    static void maskedAccumulate(float[] x, float[] g, float[] gx, int from, int to, float lo, float hi, float scale, boolean accumulate) {
        if (!Kernels.vector()) {
            for (int i = from; i < to; i++) {
                float base = accumulate ? gx[i] : 0f;
                gx[i] = x[i] > lo && x[i] < hi ? base + scale * g[i] : base;
            }
            return;
        }
        int i = from, ub = from + S.loopBound(to - from);
        FloatVector zero = FloatVector.zero(S);
        for (; i < ub; i += S.length()) {
            FloatVector xv = FloatVector.fromArray(S, x, i);
            VectorMask<Float> m = xv.compare(VectorOperators.GT, lo).and(xv.compare(VectorOperators.LT, hi));
            FloatVector gv = FloatVector.fromArray(S, g, i);
            FloatVector base = accumulate ? FloatVector.fromArray(S, gx, i) : zero;
            base.lanewise(VectorOperators.ADD, gv.mul(scale), m).intoArray(gx, i);
        }
        for (; i < to; i++) {
            float base = accumulate ? gx[i] : 0f;
            gx[i] = x[i] > lo && x[i] < hi ? base + scale * g[i] : base;
        }
    }

    /** Leaky ReLU forward: y = x for x &gt; 0, slope·x otherwise. */
    static void leakyForward(float[] x, float[] y, int from, int to, float slope) {
        if (!Kernels.vector()) {
            for (int i = from; i < to; i++) y[i] = x[i] > 0f ? x[i] : slope * x[i];
            return;
        }
        int i = from, ub = from + S.loopBound(to - from);
        for (; i < ub; i += S.length()) {
            FloatVector xv = FloatVector.fromArray(S, x, i);
            xv.mul(slope).blend(xv, xv.compare(VectorOperators.GT, 0f)).intoArray(y, i);
        }
        for (; i < to; i++) y[i] = x[i] > 0f ? x[i] : slope * x[i];
    }

    /** Leaky ReLU backward: gx += g for x &gt; 0, slope·g otherwise. */
    static void leakyBackward(float[] x, float[] g, float[] gx, int from, int to, float slope) {
        if (!Kernels.vector()) {
            for (int i = from; i < to; i++) gx[i] += x[i] > 0f ? g[i] : slope * g[i];
            return;
        }
        int i = from, ub = from + S.loopBound(to - from);
        for (; i < ub; i += S.length()) {
            FloatVector gv = FloatVector.fromArray(S, g, i);
            FloatVector d = gv.mul(slope).blend(gv, FloatVector.fromArray(S, x, i).compare(VectorOperators.GT, 0f));
            FloatVector.fromArray(S, gx, i).add(d).intoArray(gx, i);
        }
        for (; i < to; i++) gx[i] += x[i] > 0f ? g[i] : slope * g[i];
    }

    /** max of a[off..off+len) (NaN if any is NaN). */
    static float max(float[] a, int off, int len) {
        float m = Float.NEGATIVE_INFINITY;
        if (!Kernels.vector()) {
            for (int i = 0; i < len; i++) m = Math.max(m, a[off + i]);
            return m;
        }
        FloatVector acc = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int i = 0, ub = S.loopBound(len);
        for (; i < ub; i += S.length()) acc = FloatVector.fromArray(S, a, off + i).max(acc);
        m = Lanes.exact(acc).reduceLanes(VectorOperators.MAX);
        for (; i < len; i++) m = Math.max(m, a[off + i]);
        return m;
    }

    /** Σ exp(a[i] − shift) over a[off..off+len); callers pass the maximum as shift, so every term is ≤ 1. */
    static double sumExp(float[] a, int off, int len, float shift) {
        if (!Kernels.vector()) {
            double s = 0;
            for (int i = 0; i < len; i++) s += Math.exp(a[off + i] - shift);
            return s;
        }
        FloatVector acc = FloatVector.zero(S);
        int i = 0, ub = S.loopBound(len);
        for (; i < ub; i += S.length()) acc = VectorExp.exp(FloatVector.fromArray(S, a, off + i).sub(shift)).add(acc);
        double s = Lanes.sum(acc);
        for (; i < len; i++) s += VectorExp.scalar(a[off + i] - shift);
        return s;
    }

    /**
     * dst[dOff+i] = scale·exp((a[off+i] − shift1) − shift2), or += when {@code accumulate}. Two shifts (maximum, then
     * log-sum) keep the subtraction exact for large logits.
     */
    static void scaledExp(float[] a, int off, int len, float shift1, float shift2, float scale, float[] dst, int dOff, boolean accumulate) {
        if (!Kernels.vector()) {
            for (int i = 0; i < len; i++) {
                float e = scale * (float) Math.exp((a[off + i] - shift1) - shift2);
                dst[dOff + i] = accumulate ? dst[dOff + i] + e : e;
            }
            return;
        }
        int i = 0, ub = S.loopBound(len);
        for (; i < ub; i += S.length()) {
            FloatVector e = VectorExp.exp(FloatVector.fromArray(S, a, off + i).sub(shift1).sub(shift2)).mul(scale);
            if (accumulate) e = e.add(FloatVector.fromArray(S, dst, dOff + i));
            e.intoArray(dst, dOff + i);
        }
        for (; i < len; i++) {
            float e = scale * VectorExp.scalar((a[off + i] - shift1) - shift2);
            dst[dOff + i] = accumulate ? dst[dOff + i] + e : e;
        }
    }

    /** SiLU forward y = x·σ(x) on [from, to). */
    static void siluForward(float[] x, float[] y, int from, int to) {
        int i = from;
        if (Kernels.vector()) {
            for (int ub = from + S.loopBound(to - from); i < ub; i += S.length()) {
                FloatVector xv = FloatVector.fromArray(S, x, i);
                xv.div(VectorExp.exp(xv.neg()).add(1f)).intoArray(y, i);
            }
            for (; i < to; i++) y[i] = x[i] / (1f + VectorExp.scalar(-x[i]));
            return;
        }
        for (; i < to; i++) y[i] = x[i] / (1f + (float) Math.exp(-x[i]));
    }

    /** SiLU backward gx += g·σ(x)·(1 + x·(1 − σ(x))) on [from, to). */
    static void siluBackward(float[] x, float[] g, float[] gx, int from, int to) {
        int i = from;
        if (Kernels.vector()) {
            for (int ub = from + S.loopBound(to - from); i < ub; i += S.length()) {
                FloatVector xv = FloatVector.fromArray(S, x, i);
                FloatVector sig = FloatVector.broadcast(S, 1f).div(VectorExp.exp(xv.neg()).add(1f));
                FloatVector d = sig.mul(xv.mul(sig.neg().add(1f)).add(1f));
                FloatVector.fromArray(S, g, i).fma(d, FloatVector.fromArray(S, gx, i)).intoArray(gx, i);
            }
        }
        for (; i < to; i++) {
            float sig = 1f / (1f + (float) Math.exp(-x[i]));
            gx[i] += g[i] * sig * (1f + x[i] * (1f - sig));
        }
    }

    /** dst[dOff..dOff+len) += src[sOff..sOff+len). */
    static void addInto(float[] src, int sOff, float[] dst, int dOff, int len) {
        int i = 0;
        if (Kernels.vector()) {
            for (int ub = S.loopBound(len); i < ub; i += S.length()) {
                FloatVector.fromArray(S, dst, dOff + i).add(FloatVector.fromArray(S, src, sOff + i)).intoArray(dst, dOff + i);
            }
        }
        for (; i < len; i++) dst[dOff + i] += src[sOff + i];
    }

    /**
     * {@code rows} rows of {@code width} values from {@code src} (row r at {@code sOff + r·sStride}) written to, or with
     * {@code add} added to, {@code dst} (row r at {@code dOff + r·dStride}): the layout changes around the wide
     * convolution (padding an image, dropping the wide rows' extra columns), whose rows are short (7 to 34 values), so
     * the vector path ends each row with one masked vector instead of a scalar tail or a call per row.
     */
    static void copyRows(float[] src, int sOff, int sStride, float[] dst, int dOff, int dStride, int rows, int width, boolean add) {
        if (!Kernels.vector()) {
            for (int r = 0; r < rows; r++) {
                int s = sOff + r * sStride, d = dOff + r * dStride;
                if (add) for (int i = 0; i < width; i++) dst[d + i] += src[s + i];
                else System.arraycopy(src, s, dst, d, width);
            }
            return;
        }
        int ub = S.loopBound(width);
        VectorMask<Float> tail = S.indexInRange(ub, width);
        boolean hasTail = ub < width;
        for (int r = 0; r < rows; r++) {
            int s = sOff + r * sStride, d = dOff + r * dStride;
            int i = 0;
            for (; i < ub; i += S.length()) {
                FloatVector v = FloatVector.fromArray(S, src, s + i);
                if (add) v = FloatVector.fromArray(S, dst, d + i).add(v);
                v.intoArray(dst, d + i);
            }
            if (hasTail) {
                FloatVector v = FloatVector.fromArray(S, src, s + i, tail);
                if (add) v = FloatVector.fromArray(S, dst, d + i, tail).add(v);
                v.intoArray(dst, d + i, tail);
            }
        }
    }

    /**
     * dst[dOff + i] = src[sOff + index[i]] for i &lt; count: one pixel of a channel-major image read across its channels
     * (index[i] = i·plane), the rows of the transposed output gradient that a convolution's weight gradient consumes.
     */
    static void gather(float[] src, int sOff, int[] index, int count, float[] dst, int dOff) {
        int i = 0;
        if (Kernels.vector()) {
            for (int ub = S.loopBound(count); i < ub; i += S.length()) FloatVector.fromArray(S, src, sOff, index, i).intoArray(dst, dOff + i);
        }
        for (; i < count; i++) dst[dOff + i] = src[sOff + index[i]];
    }

    /**
     * y[off..off+len) = min(hi, max(lo, x·scale + shift)): batch norm's forward with the statistics folded in, and with
     * a following ReLU (lo 0, hi +∞) or ReLU6 (0, 6) in the same pass; lo −∞ and hi +∞ leave the affine value as it is.
     */
    static void affineClamp(float[] x, float[] y, int off, int len, float scale, float shift, float lo, float hi) {
        int i = 0;
        if (Kernels.vector()) {
            FloatVector sc = FloatVector.broadcast(S, scale), sh = FloatVector.broadcast(S, shift);
            for (int ub = S.loopBound(len); i < ub; i += S.length()) {
                FloatVector.fromArray(S, x, off + i).fma(sc, sh).max(lo).min(hi).intoArray(y, off + i);
            }
        }
        for (; i < len; i++) y[off + i] = Math.min(hi, Math.max(lo, Math.fma(x[off + i], scale, shift))); // as the vector lanes: one rounding
    }

    /**
     * gx[off..off+len) += k·g + (x·c1 + c0) with g read from {@code gOff} (batch norm's input gradient with the batch
     * statistics folded in); with {@code accumulate} false gx is first taken as 0 (not read: a fresh gradient).
     */
    static void affineAccumulate(float[] g, int gOff, float[] x, float[] gx, int off, int len, float k, float c1, float c0, boolean accumulate) {
        int i = 0;
        if (Kernels.vector()) {
            FloatVector kv = FloatVector.broadcast(S, k), c1v = FloatVector.broadcast(S, c1), c0v = FloatVector.broadcast(S, c0);
            FloatVector zero = FloatVector.zero(S);
            for (int ub = S.loopBound(len); i < ub; i += S.length()) {
                FloatVector t = FloatVector.fromArray(S, x, off + i).fma(c1v, c0v);
                FloatVector base = accumulate ? FloatVector.fromArray(S, gx, off + i) : zero;
                FloatVector.fromArray(S, g, gOff + i).fma(kv, t).add(base).intoArray(gx, off + i);
            }
        }
        for (; i < len; i++) gx[off + i] = (k * g[gOff + i] + (x[off + i] * c1 + c0)) + (accumulate ? gx[off + i] : 0f);
    }
}
