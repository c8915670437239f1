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
    @Option(names = "--ctx", description = "Window length in tokens (default: 2048, capped at max_position_embeddings).")
    Integer ctx;
    @Option(names = "--ref", description = "Reference model folder for KL divergence and top-1 agreement.")
    Path ref;
    @Option(names = "--max-tokens", description = "Evaluate only the first N tokens of the text.")
    Integer maxTokens;
    @Option(names = "--json", description = "Print a JSON object (ppl, tokens, kld, top1_agreement, tokens_per_second, ...).")
    boolean json;

    /** The {@code --json} object (docs/cli.md); {@code kld}, {@code top1_agreement} and {@code ref_ppl} need {@code --ref}. */
    record EvalJson(Path model, Path text, int ctx, int windows, double ppl, double nll, long tokens, Double kld, Double top1Agreement, Double refPpl,
                    Path ref, double tokensPerSecond, java.util.Map<String, String> nullReasons) {}

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
        int[] ids = tok.encode(org.goldenstick.formats.TextFiles.read(textFile), true);
        if (maxTokens != null && ids.length > maxTokens) ids = Arrays.copyOf(ids, maxTokens);
        Evaluation.Result res = Evaluation.run(m, r, ids, window, CliProgress.of(json));
        if (json) {
            var why = new Json.Reasons();
            String noRef = "no --ref given";
            Json.print(new EvalJson(dir, textFile, res.ctx(), res.windows(), res.ppl(), res.meanNll(), res.tokens(), why.present("kld", res.kld(), noRef),
                    why.present("top1_agreement", res.top1Agreement(), noRef), why.present("ref_ppl", res.refPpl(), noRef),
                    why.present("ref", ref == null ? null : DemoModel.resolve(ref), noRef), res.tokensPerSecond(), why.map()));
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
}
