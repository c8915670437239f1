package org.goldenstick.ptq.onnx;

import ai.onnxruntime.OrtException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.goldenstick.llm.tokenizer.WordPieceTokenizer;

/**
 * Compares a compressed sentence-embedding graph with its reference, both run in ONNX Runtime on the same
 * tokenized sentences: cosine between each sentence's mean-pooled, L2-normalised embeddings (mean and minimum),
 * nearest-neighbour agreement (does each sentence keep its most similar other sentence), Spearman correlation of
 * all pairwise similarities, file sizes, and latency per batch measured in alternating rounds so that machine
 * load affects both models alike.
 *
 * <pre>{@code
 * EmbeddingEval.Result r = EmbeddingEval.run(Path.of("q.onnx"), Path.of("model.onnx"), tokenizer, sentences, 16, 2, 3);
 * System.out.println(r.meanCosine() + " " + r.nnAgreement());
 * }</pre>
 */
public final class EmbeddingEval {
    private EmbeddingEval() {}

    /**
     * Latencies are medians over rounds of the per-batch time (milliseconds). The CPU times are of the calling thread:
     * with one intra-op thread ONNX Runtime runs the graph on it, so on a machine shared with other jobs they measure
     * the model's work without the waiting for a core ({@link #cpuRatio()} is the median of the per-round ratios).
     */
    public record Result(int sentences, int batches, int batchSize, int threads, double meanCosine, double minCosine, double nnAgreement,
                         double spearman, long modelBytes, long refBytes, double modelMsPerBatch, double refMsPerBatch, int rounds,
                         double modelCpuMsPerBatch, double refCpuMsPerBatch, double cpuRatio) {
        public double sizeRatio() {
            return modelBytes / (double) refBytes;
        }

        public double latencyRatio() {
            return modelMsPerBatch / refMsPerBatch;
        }
    }

    public static Result run(Path model, Path ref, WordPieceTokenizer tok, List<String> sentences, int batchSize, int threads, int rounds) throws IOException, OrtException {
        if (sentences.size() < 2) throw new IllegalArgumentException("need at least 2 sentences to compare nearest neighbours, got " + sentences.size());
        for (Path p : List.of(model, ref)) OnnxPtq.read(p);   // a clear error for a file that is not ONNX
        List<WordPieceTokenizer.Batch> batches = new ArrayList<>();
        for (int s = 0; s < sentences.size(); s += batchSize) batches.add(tok.encodeBatch(sentences.subList(s, Math.min(sentences.size(), s + batchSize))));
        try (OrtEncoder q = OrtEncoder.open(model, threads); OrtEncoder r = OrtEncoder.open(ref, threads)) {
            float[][] eq = embed(q, batches), er = embed(r, batches);   // also the warm-up round
            int n = eq.length;
            double sum = 0, min = 1;
            for (int i = 0; i < n; i++) {
                double c = dot(eq[i], er[i]);
                sum += c;
                min = Math.min(min, c);
            }
            int agree = 0;
            for (int i = 0; i < n; i++) if (nearest(eq, i) == nearest(er, i)) agree++;
            int pairs = n * (n - 1) / 2;
            double[] sq = new double[pairs], sr = new double[pairs];
            for (int i = 0, p = 0; i < n; i++) {
                for (int j = i + 1; j < n; j++, p++) {
                    sq[p] = dot(eq[i], eq[j]);
                    sr[p] = dot(er[i], er[j]);
                }
            }
            double[] tq = new double[rounds], tr = new double[rounds], cq = new double[rounds], cr = new double[rounds], ratio = new double[rounds];
            for (int round = 0; round < rounds; round++) {
                // alternate which model goes first so drift in machine load does not favour one
                boolean qFirst = round % 2 == 0;
                double[] a = time(qFirst ? q : r, batches), b = time(qFirst ? r : q, batches);
                double[] mq = qFirst ? a : b, mr = qFirst ? b : a;
                tq[round] = mq[0];
                tr[round] = mr[0];
                cq[round] = mq[1];
                cr[round] = mr[1];
                ratio[round] = mr[1] > 0 ? mq[1] / mr[1] : Double.NaN;
            }
            return new Result(n, batches.size(), batchSize, threads, sum / n, min, agree / (double) n, spearman(sq, sr),
                    Files.size(model), Files.size(ref), median(tq) / batches.size(), median(tr) / batches.size(), rounds,
                    median(cq) / batches.size(), median(cr) / batches.size(), median(ratio));
        }
    }

    /** Every sentence's embedding, batch by batch. */
    static float[][] embed(OrtEncoder enc, List<WordPieceTokenizer.Batch> batches) throws OrtException {
        List<float[]> rows = new ArrayList<>();
        for (WordPieceTokenizer.Batch b : batches) rows.addAll(Arrays.asList(enc.sentenceEmbeddings(b)));
        return rows.toArray(new float[0][]);
    }

    /** {wall ms, calling-thread CPU ms} for one pass over the batches. */
    private static double[] time(OrtEncoder enc, List<WordPieceTokenizer.Batch> batches) throws OrtException {
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        long t = System.nanoTime(), c = mx.getCurrentThreadCpuTime();
        for (WordPieceTokenizer.Batch b : batches) enc.sentenceEmbeddings(b);
        return new double[] {(System.nanoTime() - t) / 1e6, (mx.getCurrentThreadCpuTime() - c) / 1e6};
    }

    static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += (double) a[i] * b[i];
        return s;
    }

    static int nearest(float[][] e, int i) {
        int best = -1;
        double bestSim = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < e.length; j++) {
            if (j == i) continue;
            double s = dot(e[i], e[j]);
            if (s > bestSim) {
                bestSim = s;
                best = j;
            }
        }
        return best;
    }

    /** Spearman rank correlation (average ranks for ties). */
    static double spearman(double[] a, double[] b) {
        double[] ra = ranks(a), rb = ranks(b);
        double ma = 0, mb = 0;
        for (int i = 0; i < a.length; i++) {
            ma += ra[i];
            mb += rb[i];
        }
        ma /= a.length;
        mb /= a.length;
        double sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < a.length; i++) {
            sab += (ra[i] - ma) * (rb[i] - mb);
            saa += (ra[i] - ma) * (ra[i] - ma);
            sbb += (rb[i] - mb) * (rb[i] - mb);
        }
        return sab / Math.sqrt(saa * sbb);
    }

    static double[] ranks(double[] v) {
        Integer[] idx = new Integer[v.length];
        for (int i = 0; i < v.length; i++) idx[i] = i;
        Arrays.sort(idx, (x, y) -> Double.compare(v[x], v[y]));
        double[] r = new double[v.length];
        for (int i = 0; i < v.length; ) {
            int j = i;
            while (j + 1 < v.length && v[idx[j + 1]] == v[idx[i]]) j++;
            double avg = (i + j) / 2.0 + 1;
            for (int k = i; k <= j; k++) r[idx[k]] = avg;
            i = j + 1;
        }
        return r;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
