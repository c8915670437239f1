package org.goldenstick.llm;

import org.goldenstick.tensor.Tensor;

/**
 * The differentiable ops of the Llama training path, composed from {@link Tensor} primitives (so that
 * autograd comes for free). One place, so that they can be swapped for fused kernels without touching the
 * model code.
 */
final class LlamaOps {
    private LlamaOps() {}

    static Tensor rmsNorm(Tensor x, Tensor weight, double eps) {
        Tensor ms = x.square().mean(-1, true);
        return x.div(ms.add((float) eps).sqrt()).mul(weight);
    }

    static Tensor silu(Tensor x) {
        return x.mul(x.sigmoid());
    }

    static Tensor embedding(int[] ids, int[] idsShape, Tensor weight) {
        int[] out = java.util.Arrays.copyOf(idsShape, idsShape.length + 1);
        out[idsShape.length] = weight.dim(1);
        return weight.indexSelect(0, ids).reshape(out);
    }

    /** Cos/sin tables {@code [T, headDim]} (each half repeated), for positions {@code 0..T-1}. */
    static Tensor[] ropeTables(Rope rope, int t) {
        int d = rope.headDim(), half = d / 2;
        float[] cos = new float[t * d], sin = new float[t * d];
        float[] c = new float[half], s = new float[half];
        for (int p = 0; p < t; p++) {
            rope.angles(p, c, s);
            for (int i = 0; i < half; i++) {
                cos[p * d + i] = cos[p * d + i + half] = c[i];
                sin[p * d + i] = sin[p * d + i + half] = s[i];
            }
        }
        return new Tensor[] {Tensor.of(cos, t, d), Tensor.of(sin, t, d)};
    }

    /** Rotate-half rotary embedding of {@code x [B, H, T, D]} with tables from {@link #ropeTables}. */
    static Tensor rotary(Tensor x, Tensor[] tables) {
        int d = x.dim(-1), half = d / 2;
        Tensor rotated = Tensor.concat(-1, x.slice(-1, half, d).neg(), x.slice(-1, 0, half));
        return x.mul(tables[0]).add(rotated.mul(tables[1]));
    }

    /** Causal grouped-query attention: q {@code [B, H, T, D]}, k/v {@code [B, Hkv, T, D]}. */
    static Tensor causalAttention(Tensor q, Tensor k, Tensor v) {
        int h = q.dim(1), hkv = k.dim(1), t = q.dim(2), d = q.dim(3);
        if (h != hkv) {
            int[] map = new int[h];
            for (int i = 0; i < h; i++) map[i] = i / (h / hkv);
            k = k.indexSelect(1, map);
            v = v.indexSelect(1, map);
        }
        Tensor scores = q.matmul(k.transpose(2, 3)).mul((float) (1.0 / Math.sqrt(d)));
        float[] mask = new float[t * t];
        for (int i = 0; i < t; i++) for (int j = i + 1; j < t; j++) mask[i * t + j] = Float.NEGATIVE_INFINITY;
        scores = scores.add(Tensor.of(mask, t, t));
        Tensor shifted = scores.sub(scores.max(-1, true).detach());
        Tensor e = shifted.exp();
        return e.div(e.sum(-1, true)).matmul(v);
    }

    /** Mean cross-entropy of {@code logits [N, V]} against {@code targets} (length N). */
    static Tensor crossEntropy(Tensor logits, int[] targets) {
        int n = logits.dim(0), v = logits.dim(1);
        if (targets.length != n) throw new IllegalArgumentException("crossEntropy: " + targets.length + " targets for " + n + " rows");
        Tensor shifted = logits.sub(logits.max(-1, true).detach());
        Tensor logp = shifted.sub(shifted.exp().sum(-1, true).log());
        float[] onehot = new float[n * v];
        for (int i = 0; i < n; i++) {
            if (targets[i] < 0 || targets[i] >= v) throw new IndexOutOfBoundsException("crossEntropy: target " + targets[i] + " outside [0, " + v + ")");
            onehot[i * v + targets[i]] = 1f;
        }
        return logp.mul(Tensor.of(onehot, n, v)).sum().mul(-1f / n);
    }
}
