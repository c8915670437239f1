package org.goldenstick.llm;

import org.goldenstick.tensor.kernel.Parallel;
import org.goldenstick.progress.ProgressListener;
import org.goldenstick.progress.ProgressTask;

/**
 * Evaluates a model on a token stream: perplexity (see {@link Perplexity}) and, against a reference model on
 * the same windows, the mean KL divergence {@code KL(ref || model)} of the next-token distributions and the
 * top-1 agreement (how often both models' most likely next token is the same). This is how quantized models
 * are compared with their float originals.
 *
 * <pre>{@code
 * Evaluation.Result r = Evaluation.run(quantized, original, ids, 2048, ProgressListener.SILENT);
 * System.out.printf("ppl %.3f  kld %.5f  top1 %.4f%n", r.ppl(), r.kld(), r.top1Agreement());
 * }</pre>
 */
public final class Evaluation {
    private Evaluation() {}

    /**
     * @param kld            mean KL(ref || model) in nats per scored position, or null without a reference
     * @param top1Agreement  fraction of scored positions where the arg-max tokens agree, or null without a reference
     * @param refMeanNll     the reference model's mean NLL on the same tokens, or null
     * @param seconds        forward time of the evaluated model only
     */
    public record Result(double meanNll, long tokens, int windows, int ctx, double seconds, Double kld, Double top1Agreement, Double refMeanNll) {
        public double ppl() {
            return Math.exp(meanNll);
        }

        public Double refPpl() {
            return refMeanNll == null ? null : Math.exp(refMeanNll);
        }

        /** Tokens run through the evaluated model per second of its forward time. */
        public double tokensPerSecond() {
            long run = (long) windows * ctx;
            return run / Math.max(1e-9, seconds);
        }
    }

    /**
     * Runs {@code model} (and {@code reference}, if not null) over the windows of {@code tokens}.
     * Both models must share the vocabulary. {@code progress} may be null (silent).
     */
    public static Result run(LlamaModel model, LlamaModel reference, int[] tokens, int ctx, ProgressListener progress) {
        int v = model.config().vocabSize();
        if (reference != null && reference.config().vocabSize() != v) {
            throw new IllegalArgumentException("reference model has vocab_size " + reference.config().vocabSize() + ", the model " + v + ": they cannot be compared");
        }
        for (int t : tokens) {
            if (t < 0 || t >= v) throw new IllegalArgumentException("token id " + t + " is outside the model's vocabulary [0, " + v + ")");
        }
        int[][] windows = Perplexity.windows(tokens, ctx);
        int winLen = windows[0].length;
        if (winLen > model.config().maxPositionEmbeddings()) {
            throw new IllegalArgumentException("context " + winLen + " exceeds the model's max_position_embeddings " + model.config().maxPositionEmbeddings());
        }
        ProgressTask task = ProgressTask.start(progress, "eval", windows.length, "tok");
        double nll = 0, refNll = 0, kl = 0;
        long scored = 0, agree = 0;
        long nanos = 0;
        for (int[] w : windows) {
            long t0 = System.nanoTime();
            float[] logits = model.newSession(w.length).forward(w, true).data();
            nanos += System.nanoTime() - t0;
            float[] refLogits = reference == null ? null : reference.newSession(w.length).forward(w, true).data();
            int rows = w.length - 1;
            double[] rowNll = new double[rows], rowRefNll = new double[rows], rowKl = new double[rows];
            boolean[] rowAgree = new boolean[rows];
            Parallel.forEach(rows, r -> {
                rowNll[r] = -Perplexity.logProb(logits, r * v, v, w[r + 1]);
                if (refLogits != null) {
                    rowRefNll[r] = -Perplexity.logProb(refLogits, r * v, v, w[r + 1]);
                    rowKl[r] = klDivergence(refLogits, logits, r * v, v);
                    rowAgree[r] = Sampler.argmax(slice(refLogits, r * v, v)) == Sampler.argmax(slice(logits, r * v, v));
                }
            });
            for (int r = 0; r < rows; r++) {
                nll += rowNll[r];
                refNll += rowRefNll[r];
                kl += rowKl[r];
                if (rowAgree[r]) agree++;
            }
            scored += rows;
            task.advance(1, w.length, String.format(java.util.Locale.ROOT, "ppl %.3f", Math.exp(nll / scored)));
        }
        task.finish(String.format(java.util.Locale.ROOT, "ppl %.4f", Math.exp(nll / scored)));
        boolean ref = reference != null;
        return new Result(nll / scored, scored, windows.length, winLen, nanos / 1e9, ref ? kl / scored : null,
                ref ? agree / (double) scored : null, ref ? refNll / scored : null);
    }

    private static float[] slice(float[] a, int off, int n) {
        return java.util.Arrays.copyOfRange(a, off, off + n);
    }

    /** {@code Σ p log(p/q)} of the softmax distributions of two logits rows, in double. */
    static double klDivergence(float[] pLogits, float[] qLogits, int off, int v) {
        double pm = Double.NEGATIVE_INFINITY, qm = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < v; j++) {
            pm = Math.max(pm, pLogits[off + j]);
            qm = Math.max(qm, qLogits[off + j]);
        }
        double pz = 0, qz = 0;
        for (int j = 0; j < v; j++) {
            pz += Math.exp(pLogits[off + j] - pm);
            qz += Math.exp(qLogits[off + j] - qm);
        }
        double lpz = Math.log(pz), lqz = Math.log(qz), kl = 0;
        for (int j = 0; j < v; j++) {
            double lp = pLogits[off + j] - pm - lpz, lq = qLogits[off + j] - qm - lqz;
            kl += Math.exp(lp) * (lp - lq);
        }
        return Math.max(0, kl);
    }
}
