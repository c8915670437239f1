package org.goldenstick.tensor;

import org.goldenstick.tensor.kernel.Parallel;
import org.goldenstick.tensor.kernel.Sgemm;

/**
 * Scaled dot-product attention {@code softmax(q·kᵀ/√D + mask)·v} per batch and head, with grouped-query
 * attention (query head h reads key/value head {@code h / (H/Hkv)}) and a causal mask offset by the number of
 * cached positions. Scores and products go through {@link Sgemm}; the forward runs in parallel over (batch, head),
 * the backward over (batch, key/value head) so that the heads sharing a key/value head accumulate its gradient
 * on one thread.
 *
 * <p>The attention probabilities are kept for the backward pass only when a gradient is needed; otherwise each
 * thread reuses one [T, S] scratch buffer.
 */
final class Attention {
    private Attention() {}

    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

    private static float[] scratch(int size) {
        float[] b = SCRATCH.get();
        if (b.length < size) {
            b = new float[size];
            SCRATCH.set(b);
        }
        return b;
    }

    static Tensor sdpa(Tensor q, Tensor k, Tensor v, boolean causal, int posOffset, int window) {
        int[] qs = q.shapeRef(), ks = k.shapeRef(), vs = v.shapeRef();
        String shapes = "q " + Shape.str(qs) + ", k " + Shape.str(ks) + ", v " + Shape.str(vs);
        if (qs.length != 4 || ks.length != 4 || vs.length != 4) {
            throw new IllegalArgumentException("scaledDotProductAttention: expected q [B, H, T, D], k and v [B, Hkv, S, D], got " + shapes);
        }
        if (!java.util.Arrays.equals(ks, vs)) throw new IllegalArgumentException("scaledDotProductAttention: k and v shapes differ: " + shapes);
        int b = qs[0], h = qs[1], t = qs[2], d = qs[3], hkv = ks[1], s = ks[2];
        if (ks[0] != b || ks[3] != d) throw new IllegalArgumentException("scaledDotProductAttention: batch or head dimension of q does not match k: " + shapes);
        if (hkv < 1 || h % hkv != 0) throw new IllegalArgumentException("scaledDotProductAttention: query heads " + h + " are not a multiple of key/value heads " + hkv + ": " + shapes);
        if (causal && posOffset < 0) throw new IllegalArgumentException("scaledDotProductAttention: posOffset must be >= 0, got " + posOffset + " (" + shapes + ")");
        if (window < 0 || (window > 0 && !causal)) throw new IllegalArgumentException("scaledDotProductAttention: a sliding window needs causal attention and window >= 0, got " + window);
        if (s < 1 || d < 1) throw new IllegalArgumentException("scaledDotProductAttention: empty keys or head dimension: " + shapes);
        int group = h / hkv;
        float scale = (float) (1.0 / Math.sqrt(d));
        float[] qd = q.data(), kd = k.data(), vd = v.data();
        float[] out = new float[b * h * t * d];
        boolean keep = GradMode.isEnabled() && (q.requiresGrad() || k.requiresGrad() || v.requiresGrad());
        float[] probs = keep ? new float[b * h * t * s] : null;
        int ts = t * s;
        Parallel.forEach(b * h, bh -> {
            int bi = bh / h, hi = bh % h, kvh = bi * hkv + hi / group;
            float[] p = keep ? probs : scratch(ts);
            int pOff = keep ? bh * ts : 0;
            Sgemm.gemm(false, true, t, s, d, qd, bh * t * d, d, kd, kvh * s * d, d, p, pOff, s, false);
            softmaxRows(p, pOff, t, s, scale, causal, posOffset, window);
            Sgemm.gemm(false, false, t, d, s, p, pOff, s, vd, kvh * s * d, d, out, bh * t * d, d, false);
        });
        return Tensor.result("scaledDotProductAttention", out, new int[] {b, h, t, d}, o -> {
            float[] g = o.gradArray();
            float[] gq = q.requiresGrad() ? q.gradArray() : null;
            float[] gk = k.requiresGrad() ? k.gradArray() : null;
            float[] gv = v.requiresGrad() ? v.gradArray() : null;
            Parallel.forEach(b * hkv, bk -> {
                int bi = bk / hkv, kvOff = bk * s * d;
                float[] ds = scratch(ts);
                for (int j = 0; j < group; j++) {
                    int bh = bi * h + (bk % hkv) * group + j;
                    int pOff = bh * ts, qOff = bh * t * d;
                    if (gv != null) Sgemm.gemm(true, false, s, d, t, probs, pOff, s, g, qOff, d, gv, kvOff, d, true);
                    if (gq == null && gk == null) continue;
                    // dP = dO·vᵀ; dScores = P ⊙ (dP − rowsum(dP ⊙ P)) · scale (masked entries have P = 0)
                    Sgemm.gemm(false, true, t, s, d, g, qOff, d, vd, kvOff, d, ds, 0, s, false);
                    for (int r = 0; r < t; r++) {
                        int row = r * s;
                        double dot = 0;
                        for (int c = 0; c < s; c++) dot += (double) ds[row + c] * probs[pOff + row + c];
                        float fd = (float) dot;
                        for (int c = 0; c < s; c++) ds[row + c] = probs[pOff + row + c] * (ds[row + c] - fd) * scale;
                    }
                    if (gq != null) Sgemm.gemm(false, false, t, d, s, ds, 0, s, kd, kvOff, d, gq, qOff, d, true);
                    if (gk != null) Sgemm.gemm(true, false, s, d, t, ds, 0, s, qd, qOff, d, gk, kvOff, d, true);
                }
            });
        }, q, k, v);
    }

    /** Scales, masks and normalises each [s]-row of scores in place; masked entries become exactly 0. */
    private static void softmaxRows(float[] p, int off, int t, int s, float scale, boolean causal, int posOffset, int window) {
        for (int r = 0; r < t; r++) {
            int row = off + r * s;
            int valid = causal ? (int) Math.min(s, (long) r + posOffset + 1) : s;
            int first = window > 0 ? Math.max(0, r + posOffset - window + 1) : 0;
            for (int c = 0; c < first; c++) p[row + c] = 0f;
            int start = row + first, n = valid - first;
            for (int c = first; c < valid; c++) p[row + c] *= scale;
            float max = VectorKernels.max(p, start, n);
            VectorKernels.scaledExp(p, start, n, max, 0f, 1f, p, start, false);
            float inv = (float) (1.0 / VectorKernels.sum(p, start, n));
            for (int c = first; c < valid; c++) p[row + c] *= inv;
            for (int c = valid; c < s; c++) p[row + c] = 0f;
        }
    }
}
