package org.goldenstick.llm.train;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.tensor.GradMode;
import org.goldenstick.tensor.Tensor;

/**
 * Trains a {@link LlamaModel} on a token stream: random {@code contextLength} windows (seeded), mean
 * next-token cross-entropy, global-norm gradient clipping, AdamW (decoupled decay on matrices only) and the
 * warm-up + cosine schedule of {@link LmRecipe#lr(int)}.
 *
 * <pre>{@code
 * LmTrainer.Report rep = LmTrainer.train(model, trainIds, heldoutIds, recipe, System.err::println);
 * double ppl = LmTrainer.perplexity(model, heldoutIds, recipe.contextLength());
 * }</pre>
 */
public final class LmTrainer {

    /** One logged point: step, learning rate, training loss (mean of the steps since the last point), held-out loss or NaN. */
    public record Point(int step, double lr, double trainLoss, double heldoutLoss, double gradNorm) {}

    /** Outcome of a run. */
    public record Report(List<Point> history, double firstLoss, double finalLoss, long tokensSeen, double seconds) {}

    private LmTrainer() {}

    /**
     * Runs {@code recipe.steps()} optimisation steps.
     *
     * @param evalIds held-out ids for the periodic held-out loss (a fixed sample of up to 8 windows), may be null
     * @param log     receives progress lines (with ETA)
     */
    public static Report train(LlamaModel model, int[] trainIds, int[] evalIds, LmRecipe recipe, Consumer<String> log) {
        int T = recipe.contextLength(), B = recipe.batchSize();
        if (trainIds.length < T + 1) throw new IllegalArgumentException("training stream has " + trainIds.length + " tokens, fewer than one window of " + T);
        Random rng = new Random(recipe.seed() ^ 0x5DEECE66DL);
        Map<String, Tensor> params = model.namedParameters();
        List<Tensor> ps = new ArrayList<>(params.values());
        float[][] m = new float[ps.size()][];
        float[][] v = new float[ps.size()][];
        for (int i = 0; i < ps.size(); i++) {
            m[i] = new float[ps.get(i).numel()];
            v[i] = new float[ps.get(i).numel()];
        }
        int[] evalSample = evalIds == null ? null : java.util.Arrays.copyOf(evalIds, Math.min(evalIds.length, 8 * T));

        List<Point> history = new ArrayList<>();
        long t0 = System.nanoTime();
        double first = Double.NaN, last = Double.NaN, sinceLog = 0, normSum = 0;
        int sinceCount = 0;
        int logEvery = Math.max(1, Math.min(50, recipe.steps() / 20));
        int[] ids = new int[B * T];
        model.train();
        for (int step = 0; step < recipe.steps(); step++) {
            for (int b = 0; b < B; b++) {
                int start = rng.nextInt(trainIds.length - T + 1);
                System.arraycopy(trainIds, start, ids, b * T, T);
            }
            model.zeroGrad();
            Tensor loss = model.loss(ids, B, T);
            double l = loss.item();
            if (!Double.isFinite(l)) throw new IllegalStateException("training loss became " + l + " at step " + step);
            loss.backward();
            double norm = clip(ps, recipe.gradClip());
            double lr = recipe.lr(step);
            adamw(ps, m, v, step + 1, lr, recipe);
            if (step == 0) first = l;
            last = l;
            sinceLog += l;
            normSum += norm;
            sinceCount++;
            boolean evalNow = evalSample != null && recipe.evalEvery() > 0 && ((step + 1) % recipe.evalEvery() == 0 || step + 1 == recipe.steps());
            if ((step + 1) % logEvery == 0 || step + 1 == recipe.steps() || evalNow) {
                double heldout = evalNow ? meanNll(model, evalSample, T) : Double.NaN;
                model.train();
                Point p = new Point(step + 1, lr, sinceLog / sinceCount, heldout, normSum / sinceCount);
                history.add(p);
                double el = (System.nanoTime() - t0) / 1e9;
                double eta = el / (step + 1) * (recipe.steps() - step - 1);
                log.accept(String.format("step %d/%d  loss %.4f%s  lr %.2e  |g| %.2f  %.0f tok/s  elapsed %s  ETA %s", step + 1, recipe.steps(),
                        p.trainLoss(), evalNow ? String.format("  heldout %.4f (ppl %.1f)", heldout, Math.exp(heldout)) : "", lr, p.gradNorm(),
                        (double) (step + 1) * B * T / el, fmt(el), fmt(eta)));
                sinceLog = 0;
                normSum = 0;
                sinceCount = 0;
            }
        }
        model.eval();
        return new Report(history, first, last, (long) recipe.steps() * B * T, (System.nanoTime() - t0) / 1e9);
    }

    private static String fmt(double seconds) {
        long s = Math.round(seconds);
        return String.format("%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
    }

    /** Scales all gradients so their global L2 norm is at most {@code maxNorm}; returns the norm before clipping. */
    static double clip(List<Tensor> ps, double maxNorm) {
        double sq = 0;
        for (Tensor p : ps) {
            if (!p.hasGrad()) continue;
            for (float g : p.gradArray()) sq += (double) g * g;
        }
        double norm = Math.sqrt(sq);
        if (norm > maxNorm) {
            float s = (float) (maxNorm / (norm + 1e-6));
            for (Tensor p : ps) {
                if (!p.hasGrad()) continue;
                float[] g = p.gradArray();
                for (int i = 0; i < g.length; i++) g[i] *= s;
            }
        }
        return norm;
    }

    /** One AdamW step (bias-corrected moments; decoupled weight decay on rank ≥ 2 tensors). */
    static void adamw(List<Tensor> ps, float[][] m, float[][] v, int t, double lr, LmRecipe r) {
        double b1 = r.beta1(), b2 = r.beta2();
        double c1 = 1 - Math.pow(b1, t), c2 = 1 - Math.pow(b2, t);
        for (int i = 0; i < ps.size(); i++) {
            Tensor p = ps.get(i);
            if (!p.hasGrad()) continue;
            float[] w = p.data(), g = p.gradArray(), mi = m[i], vi = v[i];
            float decay = p.rank() >= 2 ? (float) (1 - lr * r.weightDecay()) : 1f;
            float fb1 = (float) b1, fb2 = (float) b2, step = (float) (lr / c1), eps = (float) r.adamEps();
            float invSqrtC2 = (float) (1 / Math.sqrt(c2));
            for (int j = 0; j < w.length; j++) {
                mi[j] = fb1 * mi[j] + (1 - fb1) * g[j];
                vi[j] = fb2 * vi[j] + (1 - fb2) * g[j] * g[j];
                w[j] = w[j] * decay - step * mi[j] / ((float) Math.sqrt(vi[j]) * invSqrtC2 + eps);
            }
        }
    }

    /**
     * Mean next-token negative log-likelihood (nats) over non-overlapping windows of {@code ctx} tokens
     * (the GPTQ/SmoothQuant protocol: within each window, tokens 1..ctx-1 are predicted; a final partial
     * window of at least 2 tokens is included).
     */
    public static double meanNll(LlamaModel model, int[] ids, int ctx) {
        double[] sum = new double[1];
        long[] count = new long[1];
        forEachWindow(ids, ctx, (window, logits, len) -> {
            int V = logits.length / len;
            for (int t = 0; t + 1 < len; t++) {
                sum[0] += -logSoftmaxAt(logits, t * V, V, window[t + 1]);
                count[0]++;
            }
        }, model);
        return sum[0] / count[0];
    }

    /** {@code exp(meanNll)}. */
    public static double perplexity(LlamaModel model, int[] ids, int ctx) {
        return Math.exp(meanNll(model, ids, ctx));
    }

    interface WindowConsumer {
        void accept(int[] window, float[] logits, int len);
    }

    private static void forEachWindow(int[] ids, int ctx, WindowConsumer c, LlamaModel model) {
        model.eval();
        try (var off = GradMode.off()) {
            for (int s = 0; s + 1 < ids.length; s += ctx) {
                int len = Math.min(ctx, ids.length - s);
                if (len < 2) break;
                int[] w = java.util.Arrays.copyOfRange(ids, s, s + len);
                float[] logits = model.logits(w, 1, len).data();
                c.accept(w, logits, len);
            }
        }
    }

    static double logSoftmaxAt(float[] logits, int off, int n, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, logits[off + i]);
        double s = 0;
        for (int i = 0; i < n; i++) s += Math.exp(logits[off + i] - max);
        return logits[off + target] - max - Math.log(s);
    }

    /**
     * Perplexity of a unigram model estimated from {@code trainIds} with add-one smoothing over a vocabulary of
     * {@code vocabSize}, on exactly the tokens {@link #meanNll} predicts (all but the first of each window).
     */
    public static double unigramPerplexity(int[] trainIds, int vocabSize, int[] heldoutIds, int ctx) {
        long[] counts = new long[vocabSize];
        for (int id : trainIds) counts[id]++;
        double denom = trainIds.length + (double) vocabSize;
        double sum = 0;
        long n = 0;
        for (int s = 0; s + 1 < heldoutIds.length; s += ctx) {
            int len = Math.min(ctx, heldoutIds.length - s);
            if (len < 2) break;
            for (int t = 1; t < len; t++) {
                sum += -Math.log((counts[heldoutIds[s + t]] + 1) / denom);
                n++;
            }
        }
        return Math.exp(sum / n);
    }

    /** Number of tokens {@link #meanNll} scores for a stream of this length. */
    public static long scoredTokens(int length, int ctx) {
        long n = 0;
        for (int s = 0; s + 1 < length; s += ctx) {
            int len = Math.min(ctx, length - s);
            if (len < 2) break;
            n += len - 1;
        }
        return n;
    }
}
