package org.goldenstick.ptq;

import java.util.Random;
import org.goldenstick.llm.LlamaConfig;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.llm.RmsNorm;
import org.goldenstick.tensor.Tensor;

/** Small random Llama models and metrics for PTQ tests. */
final class LlamaFixtures {
    private LlamaFixtures() {}

    static LlamaConfig tinyConfig() {
        return LlamaConfig.of(64, 128, 2, 4, 2, 96, 64);
    }

    static LlamaModel randomModel(LlamaConfig c, long seed) {
        LlamaModel m = new LlamaModel(c, new Random(seed));
        // give the embeddings a realistic scale (the default N(0, 0.02) is fine too; RMSNorm rescales)
        Random rng = new Random(seed + 1);
        for (var e : m.namedModules().entrySet()) {
            if (e.getValue() instanceof RmsNorm n) {
                float[] w = n.weight().data();
                for (int i = 0; i < w.length; i++) w[i] = (float) (1 + 0.1 * rng.nextGaussian());
            }
        }
        return m;
    }

    /**
     * Real LLMs have a few hidden channels with activations 10–100× the rest at the norm outputs; emulate them by scaling
     * those channels of every input_layernorm / post_attention_layernorm weight.
     */
    static void injectOutlierChannels(LlamaModel m, int[] channels, float factor) {
        for (var e : m.namedModules().entrySet()) {
            if (e.getValue() instanceof RmsNorm n && (e.getKey().endsWith("input_layernorm") || e.getKey().endsWith("post_attention_layernorm"))) {
                for (int ch : channels) n.weight().data()[ch] *= factor;
            }
        }
    }

    static int[] randomIds(Random rng, int n, int vocab) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = rng.nextInt(vocab);
        return ids;
    }

    /** Logits {@code [T, V]} after each token, through the KV-cached inference path. */
    static Tensor logits(LlamaModel m, int[] ids) {
        return m.newSession(ids.length).forward(ids, true);
    }

    /** Mean KL(P‖Q) in nats over rows of {@code [T, V]} logits, computed in double. */
    static double meanKld(Tensor p, Tensor q) {
        int v = p.dim(p.rank() - 1), rows = p.numel() / v;
        double sum = 0;
        for (int r = 0; r < rows; r++) {
            double mp = Double.NEGATIVE_INFINITY, mq = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < v; i++) {
                mp = Math.max(mp, p.data()[r * v + i]);
                mq = Math.max(mq, q.data()[r * v + i]);
            }
            double zp = 0, zq = 0;
            for (int i = 0; i < v; i++) {
                zp += Math.exp(p.data()[r * v + i] - mp);
                zq += Math.exp(q.data()[r * v + i] - mq);
            }
            double k = 0;
            for (int i = 0; i < v; i++) {
                double lp = p.data()[r * v + i] - mp - Math.log(zp), lq = q.data()[r * v + i] - mq - Math.log(zq);
                k += Math.exp(lp) * (lp - lq);
            }
            sum += k;
        }
        return sum / rows;
    }

    /** ‖p − q‖ / ‖p‖ over all logits. */
    static double relError(Tensor p, Tensor q) {
        double e = 0, n = 0;
        for (int i = 0; i < p.numel(); i++) {
            double d = p.data()[i] - q.data()[i];
            e += d * d;
            n += (double) p.data()[i] * p.data()[i];
        }
        return Math.sqrt(e / n);
    }
}
