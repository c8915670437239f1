package org.goldenstick.quant;

import org.goldenstick.tensor.Tensor;

/**
 * Per-tensor histogram of everything seen, over a range fixed up front (usually the min/max of a first calibration
 * pass), from which a clipping range is chosen three ways: a percentile, the least mean squared quantization error
 * (MSE), or the least KL divergence between the clipped and the quantized distribution (entropy calibration as
 * TensorRT describes it). Values outside the fixed range count in the edge bins. The histogram and the observed
 * min/max are buffers, so they are part of the state dict.
 *
 * <pre>{@code
 * var h = new HistogramObserver(0f, 6.2f, 2048);
 * for (Tensor batch : calibration) h.forward(batch);
 * float[] range = h.entropyRange(QuantSpec.uint8Asymmetric());   // {min, max} to quantize with
 * }</pre>
 */
public final class HistogramObserver extends Observer {
    private final float lo, hi;
    private final int bins;

    /**
     * @param lo lower edge of the histogram (the smallest value expected)
     * @param hi upper edge ({@code >= lo}; equal edges make a one-bin histogram)
     * @param bins number of bins (≥ 16)
     */
    public HistogramObserver(float lo, float hi, int bins) {
        super(1);
        if (!Float.isFinite(lo) || !Float.isFinite(hi) || hi < lo) throw new IllegalArgumentException("HistogramObserver: range [" + lo + ", " + hi + "] is not a finite interval");
        if (bins < 16) throw new IllegalArgumentException("HistogramObserver.bins must be >= 16, got " + bins);
        this.lo = lo;
        this.hi = hi;
        this.bins = bins;
        registerBuffer("histogram", Tensor.zeros(bins));
        registerBuffer("zeros", Tensor.zeros(1));
    }

    public int bins() {
        return bins;
    }

    /** The bin counts (a copy). */
    public float[] histogram() {
        return buffer("histogram").data().clone();
    }

    private double width() {
        return hi > lo ? ((double) hi - lo) / bins : 0;
    }

    @Override
    protected void observe(Tensor x) {
        float[] d = x.data();
        float[] h = buffer("histogram").data();
        float[] mn = buffer("min").data(), mx = buffer("max").data();
        double w = width();
        long zeros = 0;
        for (float v : d) {
            if (v == 0f) zeros++;
            if (!Float.isFinite(v)) throw new ArithmeticException("HistogramObserver: non-finite value " + v);
            if (v < mn[0]) mn[0] = v;
            if (v > mx[0]) mx[0] = v;
            int b = w == 0 ? 0 : (int) ((v - lo) / w);
            h[Math.min(Math.max(b, 0), bins - 1)] += 1;
        }
        buffer("zeros").data()[0] += zeros;
    }

    @Override
    public int axis() {
        return -1;
    }

    private double total(float[] h) {
        double t = 0;
        for (float c : h) t += c;
        return t;
    }

    private void requireData() {
        if (!hasObserved()) throw new IllegalStateException("HistogramObserver: no batch observed yet; run calibration data through it first");
    }

    /** A range {@code {min, max}} widened to contain 0, as every activation grid does. */
    private static float[] withZero(double a, double b) {
        return new float[] {(float) Math.min(a, 0), (float) Math.max(b, 0)};
    }

    /**
     * The range between the {@code (100 − p)}-th and the {@code p}-th percentile of the values seen, e.g. {@code p = 99.99}
     * drops the top and bottom 0.01 %; the edges are interpolated inside their bins. For values of one sign (after a
     * ReLU) the lower end is the observed minimum.
     */
    public float[] percentileRange(double p) {
        requireData();
        if (!(p > 50 && p <= 100)) throw new IllegalArgumentException("percentile must be in (50, 100], got " + p);
        float[] h = histogram();
        double t = total(h);
        float mn = mins()[0], mx = maxs()[0];
        double upper = Math.min(mx, valueAt(h, t * p / 100));
        double lower = mn >= 0 ? mn : Math.max(mn, valueAt(h, t * (100 - p) / 100));
        return withZero(lower, upper);
    }

    /** The value below which {@code count} of the observations lie (linear inside a bin). */
    private double valueAt(float[] h, double count) {
        double w = width(), seen = 0;
        for (int b = 0; b < bins; b++) {
            if (seen + h[b] >= count && h[b] > 0) return lo + w * (b + (count - seen) / h[b]);
            seen += h[b];
        }
        return hi;
    }

    /**
     * The clipping range with the least expected squared error on the {@code spec} grid (as the quantizer nudges it),
     * searched over the observed range shrunk by factors 1, 0.99, ..., 0.2 toward 0; each bin counts at its centre.
     */
    public float[] mseRange(QuantSpec spec) {
        requireData();
        float[] h = histogram();
        float mn = Math.min(mins()[0], 0f), mx = Math.max(maxs()[0], 0f);
        double w = width(), best = Double.POSITIVE_INFINITY;
        float[] bestRange = {mn, mx};
        for (int k = 0; k <= 80; k++) {
            float a = 1f - 0.01f * k;
            float cmin = mn * a, cmax = mx * a;
            float[] n = FakeQuantize.nudge(cmin, cmax, spec.bits(), spec.symmetric(), spec.narrowRange());
            float scale = n[0], nmin = n[2], nmax = n[3];
            double err = 0;
            for (int b = 0; b < bins; b++) {
                if (h[b] == 0) continue;
                double v = lo + w * (b + 0.5);
                double q;
                if (scale == 0f) q = 0;
                else {
                    double c = Math.min(Math.max(v, nmin), nmax);
                    q = Math.floor((c - nmin) / scale + 0.5) * scale + nmin;
                }
                err += h[b] * (v - q) * (v - q);
            }
            if (err < best) {
                best = err;
                bestRange = new float[] {cmin, cmax};
            }
        }
        return bestRange;
    }

    /**
     * Entropy calibration: on a histogram of magnitudes, the threshold {@code t} whose clipped distribution loses the least
     * information (KL divergence) when its bins are merged into the grid's levels; outliers beyond {@code t} count in the
     * last kept bin, empty bins stay empty after expansion (TensorRT's procedure). Data of one sign is calibrated with
     * {@code 2^bits} levels; signed data side by side, each side on its own magnitudes with {@code 2^(bits−1)} levels (one
     * magnitude histogram of both sides let the side with more values — the negative half of a pre-ReLU output — decide
     * the clipping of the other). Exact zeros are left out: zero is on every grid exactly, and the spike of a ReLU's zeros
     * would otherwise pull the threshold far down. Returns the observed range clipped to {@code [−t_neg, t_pos]}.
     */
    public float[] entropyRange(QuantSpec spec) {
        requireData();
        float mn = mins()[0], mx = maxs()[0];
        double lower = mn, upper = mx;
        if (mx > 0) upper = Math.min(mx, threshold(true, mx, mn >= 0 ? 1 << spec.bits() : 1 << (spec.bits() - 1)));
        if (mn < 0) lower = Math.max(mn, -threshold(false, -mn, mx <= 0 ? 1 << spec.bits() : 1 << (spec.bits() - 1)));
        return withZero(lower, upper);
    }

    /** The KL threshold of one side's magnitudes ({@code positive} or negative values, up to {@code top}), exact zeros left out. */
    private double threshold(boolean positive, double top, int levels) {
        float[] h = histogram();
        double w = width(), mw = top / bins;
        double[] m = new double[bins];
        double zeros = buffer("zeros").data()[0];
        for (int b = 0; b < bins; b++) {
            if (h[b] == 0) continue;
            double lo0 = lo + w * b, hi0 = lo0 + w, c = lo0 + w / 2;
            double count = h[b];
            if (lo0 <= 0 && hi0 > 0) count = Math.max(0, count - zeros); // the bin holding the exact zeros
            if (count == 0 || (positive ? c < 0 : c > 0)) continue;
            m[Math.min((int) (Math.abs(c) / mw), bins - 1)] += count;
        }
        if (levels >= bins) return top;
        double[] tail = new double[bins + 1];
        double suffix = 0;
        for (int b = bins - 1; b >= 0; b--) tail[b] = (suffix += m[b]);
        if (suffix == 0) return top;
        double bestKl = Double.POSITIVE_INFINITY;
        int bestI = bins;
        double[] p = new double[bins], q = new double[bins];
        for (int i = levels; i <= bins; i++) {
            for (int b = 0; b < i; b++) p[b] = m[b];
            p[i - 1] += tail[i];
            // merge m[0..i) into `levels` groups, spread each group's count evenly over its non-empty bins
            for (int j = 0; j < levels; j++) {
                int s = (int) ((long) j * i / levels), e = (int) ((long) (j + 1) * i / levels);
                double sum = 0;
                int nonzero = 0;
                for (int b = s; b < e; b++) {
                    sum += m[b];
                    if (p[b] != 0) nonzero++;
                }
                for (int b = s; b < e; b++) q[b] = p[b] != 0 && nonzero > 0 ? sum / nonzero : 0;
            }
            double kl = kl(p, q, i);
            if (kl < bestKl) {
                bestKl = kl;
                bestI = i;
            }
        }
        return Math.min(top, (bestI + 0.5) * mw);
    }

    /**
     * KL(p ‖ q) of the first {@code n} bins, both normalised and smoothed as TensorRT does (each empty bin gets a mass of
     * 1e-4, taken evenly from the others): an empty bin of q under a non-empty one of p costs a bounded amount, so a sparse
     * tail does not rule out every threshold inside it.
     */
    private static double kl(double[] p, double[] q, int n) {
        double[] ps = smooth(p, n), qs = smooth(q, n);
        if (ps == null || qs == null) return Double.POSITIVE_INFINITY;
        double kl = 0;
        for (int b = 0; b < n; b++) if (ps[b] > 0) kl += ps[b] * Math.log(ps[b] / qs[b]);
        return kl;
    }

    private static double[] smooth(double[] d, int n) {
        double sum = 0;
        int zeros = 0;
        for (int b = 0; b < n; b++) {
            sum += d[b];
            if (d[b] == 0) zeros++;
        }
        int nonzero = n - zeros;
        if (sum == 0 || nonzero == 0) return null;
        double eps = 1e-4, take = eps * zeros / nonzero;
        double[] out = new double[n];
        for (int b = 0; b < n; b++) out[b] = d[b] == 0 ? eps : Math.max(d[b] / sum - take, eps * 1e-3);
        return out;
    }

    @Override
    public String describe() {
        return "HistogramObserver([" + lo + ", " + hi + "], " + bins + " bins)";
    }
}
