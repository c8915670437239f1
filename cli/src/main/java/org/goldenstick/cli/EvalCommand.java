package org.goldenstick.cli;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.goldenstick.llm.DemoModel;
import org.goldenstick.llm.Evaluation;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.llm.tokenizer.Tokenizer;
import org.goldenstick.llm.tokenizer.Tokenizers;
import org.goldenstick.ptq.QuantizedCheckpoints;
import org.goldenstick.train.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code gstick eval}: perplexity of a (float or quantized) model on a text, and with {@code --ref} the KL divergence
 * from a reference model and the top-1 agreement.
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Perplexity over non-overlapping ctx windows (GPTQ protocol); with --ref also KL(ref||model) and top-1 agreement.")
public final class EvalCommand implements Callable<Integer> {
    @Option(names = "--model", description = "Model folder, float or quantized (default: models/" + DemoModel.NAME + ").")
    Path model;
    @Option(names = "--text", description = "Text file (default: heldout.txt in the model folder).")
    Path text;
    @Option(names = "--ctx", description = "Window length in tokens (default: ${DEFAULT-VALUE}, capped at max_position_embeddings).")
    Integer ctx;
    @Option(names = "--ref", description = "Reference model folder for KL divergence and top-1 agreement.")
    Path ref;
    @Option(names = "--max-tokens", description = "Evaluate only the first N tokens of the text.")
    Integer maxTokens;
    @Option(names = "--json", description = "Print a JSON object (ppl, tokens, kld, top1_agreement, tokens_per_second, ...).")
    boolean json;

    @Override
    public Integer call() throws Exception {
        Path dir = DemoModel.resolve(model);
        Path textFile = DemoModel.heldoutText(dir, text);
        if (ctx != null && ctx < 2) throw new IllegalArgumentException("--ctx must be >= 2, got " + ctx);
        if (maxTokens != null && maxTokens < 2) throw new IllegalArgumentException("--max-tokens must be >= 2, got " + maxTokens);
        Tokenizer tok = Tokenizers.load(dir);
        LlamaModel m = QuantizedCheckpoints.loadModel(dir);
        LlamaModel r = null;
        if (ref != null) {
            r = QuantizedCheckpoints.loadModel(DemoModel.resolve(ref));
            if (r.config().vocabSize() != m.config().vocabSize()) {
                throw new IllegalArgumentException("--ref " + ref + " has vocab_size " + r.config().vocabSize() + " but the model has " + m.config().vocabSize());
            }
        }
        int maxPos = m.config().maxPositionEmbeddings();
        int window = ctx == null ? Math.min(2048, maxPos) : ctx;
        if (window > maxPos) throw new IllegalArgumentException("--ctx " + window + " exceeds the model's max_position_embeddings " + maxPos);
        int[] ids = tok.encode(Files.readString(textFile, StandardCharsets.UTF_8), true);
        if (maxTokens != null && ids.length > maxTokens) ids = Arrays.copyOf(ids, maxTokens);
        Evaluation.Result res = Evaluation.run(m, r, ids, window, ProgressBar.auto(json));
        if (json) {
            System.out.printf(Locale.ROOT, "{\"model\": \"%s\", \"text\": \"%s\", \"ctx\": %d, \"windows\": %d, \"ppl\": %.6f, \"nll\": %.6f, \"tokens\": %d, "
                            + "\"kld\": %s, \"top1_agreement\": %s, \"ref_ppl\": %s, \"tokens_per_second\": %.2f}%n",
                    esc(dir), esc(textFile), res.ctx(), res.windows(), res.ppl(), res.meanNll(), res.tokens(),
                    fmt(res.kld()), fmt(res.top1Agreement()), fmt(res.refPpl()), res.tokensPerSecond());
        } else {
            System.out.printf(Locale.ROOT, "model %s%ntext %s: %d tokens scored in %d windows of %d%nppl %.4f (mean NLL %.4f nats)%n",
                    dir, textFile, res.tokens(), res.windows(), res.ctx(), res.ppl(), res.meanNll());
            if (r != null) {
                System.out.printf(Locale.ROOT, "reference %s: ppl %.4f%nKL(ref || model) %.6f nats/token, top-1 agreement %.4f%n",
                        ref, res.refPpl(), res.kld(), res.top1Agreement());
            }
            System.out.printf(Locale.ROOT, "%.1f tokens/s%n", res.tokensPerSecond());
        }
        return 0;
    }

    private static String fmt(Double v) {
        return v == null ? "null" : String.format(Locale.ROOT, "%.6f", v);
    }

    private static String esc(Path p) {
        return p.toString().replace("\\", "\\\\").replace("\"", "\\\"");
    }
}
