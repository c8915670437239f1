package org.goldenstick.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.goldenstick.llm.tokenizer.WordPieceTokenizer;
import org.goldenstick.ptq.onnx.EmbeddingEval;
import org.goldenstick.ptq.onnx.Sentences;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code gstick eval-embeddings}: a compressed sentence-embedding ONNX model against its reference, both in ONNX Runtime.
 *
 * <pre>
 * gstick eval-embeddings --model model-int8.onnx --ref model.onnx --tokenizer tokenizer.json --text held-out.txt
 * </pre>
 */
@Command(name = "eval-embeddings", mixinStandardHelpOptions = true,
        description = {"Compares the sentence embeddings of a compressed ONNX encoder with its reference in ONNX Runtime.",
                "Mean-pooled, L2-normalised embeddings of the sentences of --text: mean/min cosine, nearest-neighbour agreement,",
                "Spearman of pairwise similarities, file sizes, and latency per batch measured in alternating rounds."})
public final class EvalEmbeddingsCommand implements Callable<Integer> {
    /** The {@code --json} object (keys in docs/cli.md). */
    record EvalEmbeddingsJson(int sentences, int batchSize, int threads, double meanCosine, double minCosine, double nnAgreement, double spearman,
                              long modelBytes, long refBytes, double sizeRatio, double modelMsPerBatch, double refMsPerBatch, double latencyRatio, int rounds,
                              double modelCpuMsPerBatch, double refCpuMsPerBatch, double cpuRatio) {}

    @Option(names = "--model", required = true, description = "the model to evaluate (ONNX)")
    Path model;

    @Option(names = "--ref", required = true, description = "the reference model (ONNX), usually FP32")
    Path ref;

    @Option(names = "--tokenizer", required = true, description = "tokenizer.json (WordPiece)")
    Path tokenizer;

    @Option(names = "--text", required = true, description = "evaluation text (UTF-8), split into sentences")
    Path text;

    @Option(names = "--sentences", defaultValue = "256", description = "sentences used at most (default: ${DEFAULT-VALUE})")
    int sentences;

    @Option(names = "--batch", defaultValue = "16", description = "sentences per batch (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--threads", defaultValue = "0", description = "ONNX Runtime intra-op threads, 0 = its default (default: ${DEFAULT-VALUE})")
    int threads;

    @Option(names = "--rounds", defaultValue = "5", description = "timed rounds per model, alternating (default: ${DEFAULT-VALUE})")
    int rounds;

    @Option(names = "--json", description = "print the result as one JSON object")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (batch < 1 || rounds < 1) throw new IllegalArgumentException("--batch and --rounds must be ≥ 1");
        WordPieceTokenizer tok = WordPieceTokenizer.load(tokenizer);
        List<String> s = Sentences.read(text, 4, sentences);
        EmbeddingEval.Result r = EmbeddingEval.run(model, ref, tok, s, batch, threads, rounds);
        if (json) {
            Json.print(new EvalEmbeddingsJson(r.sentences(), r.batchSize(), r.threads(), r.meanCosine(), r.minCosine(), r.nnAgreement(), r.spearman(),
                    r.modelBytes(), r.refBytes(), r.sizeRatio(), r.modelMsPerBatch(), r.refMsPerBatch(), r.latencyRatio(), r.rounds(),
                    r.modelCpuMsPerBatch(), r.refCpuMsPerBatch(), r.cpuRatio()));
        } else {
            System.out.printf(Locale.ROOT, "%d sentences: cosine mean %.5f min %.5f; nearest-neighbour agreement %.1f%%; Spearman %.5f%n"
                            + "size %.1f MB vs %.1f MB (%.1f%%); latency %.2f ms vs %.2f ms per batch of %d (x%.2f, median of %d alternating rounds);"
                            + " calling-thread CPU %.2f ms vs %.2f ms (x%.2f)%n",
                    r.sentences(), r.meanCosine(), r.minCosine(), 100 * r.nnAgreement(), r.spearman(), r.modelBytes() / 1e6, r.refBytes() / 1e6, 100 * r.sizeRatio(),
                    r.modelMsPerBatch(), r.refMsPerBatch(), r.batchSize(), r.latencyRatio(), r.rounds(), r.modelCpuMsPerBatch(), r.refCpuMsPerBatch(), r.cpuRatio());
        }
        return 0;
    }
}
