package org.goldenstick.tensor;

import org.goldenstick.tensor.kernel.FakeQuantKernels;
import org.goldenstick.tensor.kernel.Parallel;

/** Batch normalisation (per channel over N and space) and RMS normalisation (per row, Llama style). */
final class Normalization {
    private Normalization() {}

    private static void checkVector(String what, Tensor t, int c, int[] xs) {
        if (t != null && (t.rank() != 1 || t.numel() != c)) {
            throw new IllegalArgumentException("batchNorm: " + what + " " + Shape.str(t.shapeRef()) + " does not match input " + Shape.str(xs) + " (expected [" + c + "])");
        }
    }

    static Tensor batchNorm(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                            boolean training, float momentum, float eps) {
        return batchNorm(x, gamma, beta, runningMean, runningVar, training, momentum, eps, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, null);
    }

    /** Per thread: the gradient that a ReLU or a grid after batch norm passes back, one plane at a time (see below). */
    private static final ThreadLocal<float[]> MASKED = ThreadLocal.withInitial(() -> new float[0]);

    /**
     * Batch norm with what follows it fused in: clamped to [lo, hi] with the gradient passed where lo &lt; BN(x) &lt; hi
     * (ReLU: 0, +∞; ReLU6: 0, 6; −∞, +∞ for none), or put on the fake-quantization grid that {@code grid} picks from the
     * batch's output range, with the straight-through gradient where nmin ≤ BN(x) ≤ nmax (training only, no clamp). The
     * fused op gives the bits of the ops run one after the other: the forward writes the final value directly (for a
     * grid after a first pass that also finds each channel's input range: the affine map y = fma(x, s, b) is monotone,
     * so the output range is the mapped input range), and the backward re-forms the following op's gradient plane by
     * plane from batch norm's input (the same map, so the same mask) in a small per-thread buffer: neither the
     * normalised activation nor the following op's gradient goes through memory.
     */
    static Tensor batchNorm(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                            boolean training, float momentum, float eps, float lo, float hi, Functional.OutputGrid grid) {
        boolean clamped = lo != Float.NEGATIVE_INFINITY || hi != Float.POSITIVE_INFINITY;
        if (grid != null && (clamped || !training)) throw new IllegalArgumentException("batchNorm: an output grid is fused in training only, without a clamp");
        int[] xs = x.shapeRef();
        if (xs.length != 2 && xs.length != 4) throw new IllegalArgumentException("batchNorm: expected input [N, C] or [N, C, H, W], got " + Shape.str(xs));
        int n = xs[0], c = xs[1], sp = xs.length == 4 ? xs[2] * xs[3] : 1;
        checkVector("gamma", gamma, c, xs);
        checkVector("beta", beta, c, xs);
        checkVector("runningMean", runningMean, c, xs);
        checkVector("runningVar", runningVar, c, xs);
        if ((runningMean == null) != (runningVar == null)) throw new IllegalArgumentException("batchNorm: give both running statistics or neither");
        if (!training && runningMean == null) throw new IllegalArgumentException("batchNorm: eval mode needs running statistics (input " + Shape.str(xs) + ")");
        long m = (long) n * sp;
        if (training && m < 2) throw new IllegalArgumentException("batchNorm: training needs more than 1 value per channel, got input " + Shape.str(xs));
        float[] xd = x.data();
        float[] gd = gamma == null ? null : gamma.data(), bd = beta == null ? null : beta.data();
        float[] mean = new float[c], invStd = new float[c], scales = new float[c], shifts = new float[c];
        float[] range = grid == null ? null : new float[2 * c]; // per channel: min, max of the output
        float[] y = StepBuffers.uninitialized(xd.length); // every element written below
        Parallel.forEach(c, ch -> {
            float mu, is;
            if (training) {
                double s = 0;
                float[] xr = grid == null ? null : new float[] {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
                for (int i = 0; i < n; i++) s += xr == null ? VectorKernels.sum(xd, (i * c + ch) * sp, sp) : VectorKernels.sumAndRange(xd, (i * c + ch) * sp, sp, xr);
                double md = s / m;
                double v = 0;
                for (int i = 0; i < n; i++) v += VectorKernels.sumSquaredDeviation(xd, (i * c + ch) * sp, sp, (float) md);
                double biased = v / m;
                mu = (float) md;
                is = (float) (1.0 / Math.sqrt(biased + eps));
                if (runningMean != null) {
                    float[] rm = runningMean.data(), rv = runningVar.data();
                    rm[ch] = (float) ((1 - momentum) * rm[ch] + momentum * md);
                    rv[ch] = (float) ((1 - momentum) * rv[ch] + momentum * (v / (m - 1)));
                }
                if (xr != null) {
                    float scale = is * (gd == null ? 1f : gd[ch]), shift = (bd == null ? 0f : bd[ch]) - mu * scale;
                    float a = Math.fma(xr[0], scale, shift), b = Math.fma(xr[1], scale, shift);
                    range[2 * ch] = Math.min(a, b);
                    range[2 * ch + 1] = Math.max(a, b);
                }
            } else {
                mu = runningMean.data()[ch];
                is = (float) (1.0 / Math.sqrt(runningVar.data()[ch] + (double) eps));
            }
            mean[ch] = mu;
            invStd[ch] = is;
            float scale = is * (gd == null ? 1f : gd[ch]);
            float shift = (bd == null ? 0f : bd[ch]) - mu * scale;
            scales[ch] = scale;
            shifts[ch] = shift;
            if (grid == null) for (int i = 0; i < n; i++) VectorKernels.affineClamp(xd, y, (i * c + ch) * sp, sp, scale, shift, lo, hi);
        });
        float[] q = null; // the grid: scale, nudged min, nudged max
        if (grid != null) {
            float omin = Float.POSITIVE_INFINITY, omax = Float.NEGATIVE_INFINITY;
            for (int ch = 0; ch < c; ch++) {
                omin = Math.min(omin, range[2 * ch]);
                omax = Math.max(omax, range[2 * ch + 1]);
            }
            float[] chosen = grid.choose(omin, omax);
            q = chosen;
            Parallel.forEach(c, ch -> {
                for (int i = 0; i < n; i++) {
                    int base = (i * c + ch) * sp;
                    if (chosen == null) VectorKernels.affineClamp(xd, y, base, sp, scales[ch], shifts[ch], lo, hi);
                    else FakeQuantKernels.quantDequant(xd, base, base + sp, true, scales[ch], shifts[ch], lo, hi, chosen[0], chosen[1], chosen[2], y);
                }
            });
        }
        // what the op after batch norm passes back is re-formed from x: the clamp's open interval or the grid's closed one
        boolean masked = clamped || q != null;
        float nmin = q == null ? Float.NEGATIVE_INFINITY : q[1], nmax = q == null ? Float.POSITIVE_INFINITY : q[2];
        String op = q != null ? "batchNormGrid" : clamped ? "batchNormClamp" : "batchNorm";
        return Tensor.result(op, y, x.shape(), out -> {
            float[] g = out.gradArray();
            boolean add = !x.requiresGrad() || !x.claimFreshGrad(); // a fresh gradient is written (every element, below)
            float[] gx = x.requiresGrad() ? x.gradArray() : null;
            float[] gg = gamma != null && gamma.requiresGrad() ? gamma.gradArray() : null;
            float[] gb = beta != null && beta.requiresGrad() ? beta.gradArray() : null;
            Parallel.forEach(c, ch -> {
                float mu = mean[ch], is = invStd[ch];
                float[] mg = masked ? Conv.scratch(MASKED, sp) : null;
                double sumDy = 0, sumDyXc = 0;
                for (int i = 0; i < n; i++) {
                    int base = (i * c + ch) * sp;
                    if (masked) {
                        FakeQuantKernels.passGradient(xd, g, base, base + sp, true, scales[ch], shifts[ch], lo, hi, nmin, nmax, mg, 0, false);
                        sumDy += VectorKernels.sum(mg, 0, sp);
                        sumDyXc += VectorKernels.dotCentered(mg, xd, 0, base, sp, mu);
                    } else {
                        sumDy += VectorKernels.sum(g, base, sp);
                        sumDyXc += VectorKernels.dotCentered(g, xd, base, base, sp, mu);
                    }
                }
                double sumDyXhat = sumDyXc * is;
                if (gg != null) gg[ch] += (float) sumDyXhat;
                if (gb != null) gb[ch] += (float) sumDy;
                if (gx == null) return;
                // training: dx = γ·σ⁻¹/m · (m·dy − Σdy − x̂·Σ(dy·x̂)), the batch statistics depend on x too; with
                // x̂ = (x − μ)·σ⁻¹ this is k·dy + x·c1 + c0, one fused pass. Eval: dx = k·dy.
                float k = (gd == null ? 1f : gd[ch]) * is;
                double a = sumDy / m, b = sumDyXhat / m;
                float c1 = training ? (float) (-k * b * is) : 0f, c0 = training ? (float) (k * (b * is * mu - a)) : 0f;
                for (int i = 0; i < n; i++) {
                    int base = (i * c + ch) * sp;
                    if (masked) {
                        FakeQuantKernels.passGradient(xd, g, base, base + sp, true, scales[ch], shifts[ch], lo, hi, nmin, nmax, mg, 0, false);
                        VectorKernels.affineAccumulate(mg, 0, xd, gx, base, sp, k, c1, c0, add);
                    } else {
                        VectorKernels.affineAccumulate(g, base, xd, gx, base, sp, k, c1, c0, add);
                    }
                }
            });
        }, x, gamma, beta);
    }

    /**
     * Llama RMSNorm over the last axis: {@code y = x · rsqrt(mean(x²) + eps) · weight}, the mean accumulated in
     * float64 and the products in float (as Hugging Face computes it in float32). {@code weight} may be null.
     */
    static Tensor rmsNorm(Tensor x, Tensor weight, float eps) {
        int[] xs = x.shapeRef();
        if (xs.length < 1 || xs[xs.length - 1] == 0) throw new IllegalArgumentException("rmsNorm: expected input [..., D] with D > 0, got " + Shape.str(xs));
        int d = xs[xs.length - 1], rows = x.numel() / d;
        if (weight != null && (weight.rank() != 1 || weight.numel() != d)) {
            throw new IllegalArgumentException("rmsNorm: weight " + Shape.str(weight.shapeRef()) + " does not match input " + Shape.str(xs) + " (expected [" + d + "])");
        }
        float[] xd = x.data(), wd = weight == null ? null : weight.data();
        float[] y = new float[xd.length], inv = new float[rows];
        int rowsPerTask = Math.max(1, (1 << 14) / d);
        int tasks = (rows + rowsPerTask - 1) / rowsPerTask;
        Parallel.forEach(tasks, task -> {
            for (int r = task * rowsPerTask, end = Math.min(rows, r + rowsPerTask); r < end; r++) {
                int base = r * d;
                double ss = 0;
                for (int j = 0; j < d; j++) ss += (double) xd[base + j] * xd[base + j];
                float ri = (float) (1.0 / Math.sqrt(ss / d + eps));
                inv[r] = ri;
                if (wd == null) for (int j = 0; j < d; j++) y[base + j] = xd[base + j] * ri;
                else for (int j = 0; j < d; j++) y[base + j] = (xd[base + j] * ri) * wd[j];
            }
        });
        return Tensor.result("rmsNorm", y, x.shape(), out -> {
            float[] g = out.gradArray();
            float[] gx = x.requiresGrad() ? x.gradArray() : null;
            boolean needW = weight != null && weight.requiresGrad();
            float[][] gwPart = needW ? new float[tasks][] : null;
            Parallel.forEach(tasks, task -> {
                float[] gw = needW ? (gwPart[task] = new float[d]) : null;
                for (int r = task * rowsPerTask, end = Math.min(rows, r + rowsPerTask); r < end; r++) {
                    int base = r * d;
                    float ri = inv[r];
                    if (gw != null) for (int j = 0; j < d; j++) gw[j] += g[base + j] * xd[base + j] * ri;
                    if (gx == null) continue;
                    // dx_j = r·w_j·g_j − x_j · r³/D · Σ_k g_k·w_k·x_k
                    double dot = 0;
                    for (int j = 0; j < d; j++) dot += (double) g[base + j] * (wd == null ? 1f : wd[j]) * xd[base + j];
                    float k = (float) (dot * ri * ri * ri / d);
                    for (int j = 0; j < d; j++) gx[base + j] += ri * (wd == null ? 1f : wd[j]) * g[base + j] - xd[base + j] * k;
                }
            });
            if (needW) {
                float[] gw = weight.gradArray();
                for (float[] part : gwPart) for (int j = 0; j < d; j++) gw[j] += part[j];
            }
        }, x, weight);
    }
}
