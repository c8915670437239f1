package org.goldenstick.tensor;

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
        return batchNorm(x, gamma, beta, runningMean, runningVar, training, momentum, eps, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY);
    }

    /** Per thread: the gradient a ReLU after batch norm passes back, one plane at a time (see {@link #batchNorm}). */
    private static final ThreadLocal<float[]> MASKED = ThreadLocal.withInitial(() -> new float[0]);

    /**
     * Batch norm, then clamped to [lo, hi] with the gradient passed where lo &lt; BN(x) &lt; hi: ReLU (0, +∞) and ReLU6
     * (0, 6) after batch norm in one op; (−∞, +∞) is plain batch norm. The fused op gives the bits of the two ops run
     * one after the other: the forward writes the clamped value directly, and the backward re-forms the ReLU's
     * gradient plane by plane from batch norm's input (the same affine map, so the same mask) in a small per-thread
     * buffer, so neither the unclamped activation nor the ReLU's gradient ever goes through memory.
     */
    static Tensor batchNorm(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                            boolean training, float momentum, float eps, float lo, float hi) {
        boolean clamped = lo != Float.NEGATIVE_INFINITY || hi != Float.POSITIVE_INFINITY;
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
        float[] mean = new float[c], invStd = new float[c];
        float[] y = StepBuffers.uninitialized(xd.length); // every element written below
        Parallel.forEach(c, ch -> {
            float mu, is;
            if (training) {
                double s = 0;
                for (int i = 0; i < n; i++) s += VectorKernels.sum(xd, (i * c + ch) * sp, sp);
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
            } else {
                mu = runningMean.data()[ch];
                is = (float) (1.0 / Math.sqrt(runningVar.data()[ch] + (double) eps));
            }
            mean[ch] = mu;
            invStd[ch] = is;
            float scale = is * (gd == null ? 1f : gd[ch]);
            float shift = (bd == null ? 0f : bd[ch]) - mu * scale;
            for (int i = 0; i < n; i++) VectorKernels.affineClamp(xd, y, (i * c + ch) * sp, sp, scale, shift, lo, hi);
        });
        return Tensor.result(clamped ? "batchNormClamp" : "batchNorm", y, x.shape(), out -> {
            float[] g = out.gradArray();
            boolean add = !x.requiresGrad() || !x.claimFreshGrad(); // a fresh gradient is written (every element, below)
            float[] gx = x.requiresGrad() ? x.gradArray() : null;
            float[] gg = gamma != null && gamma.requiresGrad() ? gamma.gradArray() : null;
            float[] gb = beta != null && beta.requiresGrad() ? beta.gradArray() : null;
            Parallel.forEach(c, ch -> {
                float mu = mean[ch], is = invStd[ch];
                float gam = gd == null ? 1f : gd[ch];
                // the clamp's gradient is re-formed per plane from x with the forward's scale and shift
                float scale = is * gam, shift = (bd == null ? 0f : bd[ch]) - mu * scale;
                float[] mg = clamped ? masked(sp) : null;
                double sumDy = 0, sumDyXc = 0;
                for (int i = 0; i < n; i++) {
                    int base = (i * c + ch) * sp;
                    if (clamped) {
                        VectorKernels.maskByAffine(g, xd, base, sp, scale, shift, lo, hi, mg);
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
                float k = gam * is;
                double a = sumDy / m, b = sumDyXhat / m;
                float c1 = training ? (float) (-k * b * is) : 0f, c0 = training ? (float) (k * (b * is * mu - a)) : 0f;
                for (int i = 0; i < n; i++) {
                    int base = (i * c + ch) * sp;
                    if (clamped) {
                        VectorKernels.maskByAffine(g, xd, base, sp, scale, shift, lo, hi, mg);
                        VectorKernels.affineAccumulate(mg, 0, xd, gx, base, sp, k, c1, c0, add);
                    } else {
                        VectorKernels.affineAccumulate(g, base, xd, gx, base, sp, k, c1, c0, add);
                    }
                }
            });
        }, x, gamma, beta);
    }

    private static float[] masked(int size) {
        float[] b = MASKED.get();
        if (b.length < size) {
            b = new float[size];
            MASKED.set(b);
        }
        return b;
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
