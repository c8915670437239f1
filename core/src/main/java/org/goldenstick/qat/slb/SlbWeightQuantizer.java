package org.goldenstick.qat.slb;

import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.PackedBits;

/**
 * SLB's weight "quantizer" (upstream {@code SlbFakeQuantizerPerLayer}, spec §6.3): turns level logits
 * {@code A[..., K]} into a weight. Training and not {@linkplain #hard() hard}: {@code P = softmax(T·A)} on the last
 * axis and {@code W = Σ_k P_k · level_k} (gradients flow through the softmax, no straight-through estimator);
 * hard or in eval mode: {@code W = level[argmax A]} (no gradient reaches the logits). The temperature {@code T} and
 * the hard flag are set by {@link TemperatureScheduler}.
 *
 * <pre>{@code
 * var q = new SlbWeightQuantizer(2);
 * q.setTemperature(1.2f);
 * Tensor w = q.forward(logits);   // logits [..., 4] -> weights [...]
 * }</pre>
 */
public final class SlbWeightQuantizer extends Module {
    private final int bits;
    private final float[] levels;
    private float temperature = 1f;
    private boolean hard;

    public SlbWeightQuantizer(int bits) {
        this.levels = PackedBits.linspaceLevels(bits);
        this.bits = bits;
    }

    public int bits() { return bits; }

    public float[] levels() { return levels.clone(); }

    public float temperature() { return temperature; }

    public void setTemperature(float t) {
        if (!(t > 0) || !Float.isFinite(t)) throw new IllegalArgumentException("SlbWeightQuantizer: temperature must be finite and > 0, got " + t);
        this.temperature = t;
    }

    /** True once the schedule reached {@code t_end}: training then uses the one-hot argmax as well. */
    public boolean hard() { return hard; }

    public void setHard(boolean hard) { this.hard = hard; }

    @Override
    public Tensor forward(Tensor logits) {
        int k = levels.length, rank = logits.rank();
        if (logits.dim(rank - 1) != k) throw new IllegalArgumentException("SlbWeightQuantizer: logits last axis " + logits.dim(rank - 1) + ", expected " + k + " levels");
        int[] outShape = java.util.Arrays.copyOf(logits.shape(), rank - 1);
        if (hard || !isTraining()) {
            int[] idx = levelIndex(logits.data(), k);
            float[] w = new float[idx.length];
            for (int i = 0; i < idx.length; i++) w[i] = levels[idx[i]];
            return Tensor.of(w, outShape);
        }
        Tensor p = Functional.softmax(logits.mul(temperature), rank - 1);
        return p.mul(Tensor.of(levels.clone(), k)).sum(rank - 1, false);
    }

    /** Index of the largest logit in each group of {@code k} (the first one on ties, as argmax). */
    static int[] levelIndex(float[] logits, int k) {
        int n = logits.length / k;
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) {
            int best = 0, o = i * k;
            for (int j = 1; j < k; j++) if (logits[o + j] > logits[o + best]) best = j;
            idx[i] = best;
        }
        return idx;
    }

    @Override
    public String describe() {
        return "SlbWeightQuantizer(" + bits + " bit, T=" + temperature + (hard ? ", hard" : "") + ")";
    }
}
