package org.goldenstick.llm;

import java.util.Arrays;
import org.goldenstick.progress.ProgressListener;

/**
 * Perplexity by the GPTQ/SmoothQuant protocol: the whole text is tokenized once, cut into non-overlapping
 * windows of {@code ctx} tokens (a shorter tail is dropped, unless the text is shorter than one window), each
 * window is run from an empty cache, and every position but the last predicts the next token of its window.
 * {@code ppl = exp(mean token NLL)}.
 *
 * <pre>{@code
 * Perplexity.Result r = Perplexity.evaluate(model, tokenizer.encode(text, true), 2048);
 * System.out.println(r.ppl() + " over " + r.tokens() + " tokens");
 * }</pre>
 */
public final class Perplexity {
    private Perplexity() {}

    /**
     * @param meanNll mean negative log-likelihood per scored token (nats)
     * @param tokens  number of scored tokens (each window of T tokens scores T-1)
     * @param windows number of windows
     * @param seconds time spent in the model's forward passes
     */
    public record Result(double meanNll, long tokens, int windows, int ctx, double seconds) {
        public double ppl() {
            return Math.exp(meanNll);
        }

        /** Tokens run through the model per second of forward time (window tokens, not only scored ones). */
        public double tokensPerSecond() {
            return windows * (double) ctx / Math.max(1e-9, seconds);
        }
    }

    /** Perplexity of {@code model} on {@code tokens} with windows of {@code ctx}. */
    public static Result evaluate(LlamaModel model, int[] tokens, int ctx) {
        Evaluation.Result r = Evaluation.run(model, null, tokens, ctx, null);
        return new Result(r.meanNll(), r.tokens(), r.windows(), r.ctx(), r.seconds());
    }

    /** As {@link #evaluate(LlamaModel, int[], int)} reporting progress to {@code progress}. */
    public static Result evaluate(LlamaModel model, int[] tokens, int ctx, ProgressListener progress) {
        Evaluation.Result r = Evaluation.run(model, null, tokens, ctx, progress);
        return new Result(r.meanNll(), r.tokens(), r.windows(), r.ctx(), r.seconds());
    }

    /**
     * The windows: {@code floor(n / ctx)} slices of {@code ctx} tokens; if the text is shorter than one window
     * (and has at least 2 tokens), the whole text as one window.
     */
    public static int[][] windows(int[] tokens, int ctx) {
        if (ctx < 2) throw new IllegalArgumentException("context length must be >= 2, got " + ctx);
        if (tokens.length < 2) throw new IllegalArgumentException("need at least 2 tokens to evaluate, got " + tokens.length);
        int n = tokens.length / ctx;
        if (n == 0) return new int[][] {tokens.clone()};
        int[][] out = new int[n][];
        for (int i = 0; i < n; i++) out[i] = Arrays.copyOfRange(tokens, i * ctx, (i + 1) * ctx);
        return out;
    }

    /** {@code log softmax(row)[target]} in double, for a logits row at {@code off} of length {@code v}. */
    static double logProb(float[] logits, int off, int v, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < v; j++) max = Math.max(max, logits[off + j]);
        double z = 0;
        for (int j = 0; j < v; j++) z += Math.exp(logits[off + j] - max);
        return logits[off + target] - max - Math.log(z);
    }
}
