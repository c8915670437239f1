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
        float[] y = new float[xd.length];
        Parallel.forEach(c, ch -> {
            float mu, is;
            if (training) {
                double s = 0;
                for (int i = 0; i < n; i++) {
                    int base = (i * c + ch) * sp;
                    for (int j = 0; j < sp; j++) s += xd[base + j];
                }
                double md = s / m;
                double v = 0;
                for (int i = 0; i < n; i++) {
                    int base = (i * c + ch) * sp;
                    for (int j = 0; j < sp; j++) {
                        double d = xd[base + j] - md;
                        v += d * d;
                    }
                }
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
            for (int i = 0; i < n; i++) {
                int base = (i * c + ch) * sp;
                for (int j = 0; j < sp; j++) y[base + j] = xd[base + j] * scale + shift;
            }
        });
        return Tensor.result("batchNorm", y, x.shape(), out -> {
            float[] g = out.gradArray();
            float[] gx = x.requiresGrad() ? x.gradArray() : null;
            float[] gg = gamma != null && gamma.requiresGrad() ? gamma.gradArray() : null;
            float[] gb = beta != null && beta.requiresGrad() ? beta.gradArray() : null;
            Parallel.forEach(c, ch -> {
                float mu = mean[ch], is = invStd[ch];
                double sumDy = 0, sumDyXhat = 0;
                for (int i = 0; i < n; i++) {
                    int base = (i * c + ch) * sp;
                    for (int j = 0; j < sp; j++) {
                        float dy = g[base + j];
                        sumDy += dy;
                        sumDyXhat += dy * ((xd[base + j] - mu) * is);
                    }
                }
                if (gg != null) gg[ch] += (float) sumDyXhat;
                if (gb != null) gb[ch] += (float) sumDy;
                if (gx == null) return;
                float gam = gd == null ? 1f : gd[ch];
                if (training) {
                    // dx = γ·σ⁻¹/m · (m·dy − Σdy − x̂·Σ(dy·x̂)); the batch statistics depend on x too.
                    float k = gam * is;
                    float a = (float) (sumDy / m), b = (float) (sumDyXhat / m);
                    for (int i = 0; i < n; i++) {
                        int base = (i * c + ch) * sp;
                        for (int j = 0; j < sp; j++) {
                            float xhat = (xd[base + j] - mu) * is;
                            gx[base + j] += k * (g[base + j] - a - xhat * b);
                        }
                    }
                } else {
                    float k = gam * is;
                    for (int i = 0; i < n; i++) {
                        int base = (i * c + ch) * sp;
                        for (int j = 0; j < sp; j++) gx[base + j] += k * g[base + j];
                    }
                }
            });
        }, x, gamma, beta);
    }
}
