package org.goldenstick.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.goldenstick.formats.AtomicFiles;
import org.goldenstick.llm.train.DemoLm;
import org.goldenstick.llm.train.LmRecipe;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code gstick train-lm}: trains the demo Llama model (tokenizer + weights) from the public-domain corpus and
 * writes a Hugging Face folder. With the defaults it reproduces {@code models/gstick-llama-demo}.
 */
@Command(name = "train-lm", mixinStandardHelpOptions = true,
        description = "Train the demo Llama model (byte-level BPE tokenizer + ~4 M-parameter LlamaForCausalLM) on "
                + "public-domain text (SOTU, Austen, Moby-Dick) and write a Hugging Face model folder.")
public final class TrainLmCommand implements Callable<Integer> {
    @Option(names = "--out", description = "Output model folder (default: runs/gstick-llama-demo; with --reevaluate: models/gstick-llama-demo).")
    Path out;

    @Option(names = "--overwrite", description = "Replace an existing --out folder (in one step, when the new one is complete).")
    boolean overwrite;

    @Option(names = "--steps", description = "Optimisation steps (default: the shipped recipe's).")
    Integer steps;

    @Option(names = "--seed", description = "Random seed (default: the shipped recipe's).")
    Long seed;

    @Option(names = "--recipe", description = "Read the recipe from this recipe.json instead of the built-in one.")
    Path recipeFile;

    @Option(names = "--data", description = "The fetched-data folder (default: data-cache).")
    Path data;

    @Option(names = "--reevaluate", description = "Do not train: re-evaluate the existing model folder (--out) and rewrite its README.md.")
    boolean reevaluate;

    @Option(names = "--json", description = "Print the result as JSON on stdout.")
    boolean json;

    /** The {@code --json} object: {@code out} is the model folder, {@code ppl} its held-out perplexity. */
    record TrainLmJson(Path out, long parameters, long trainTokens, long heldoutTokens, double ppl, double unigramPpl, double firstLoss, double finalLoss,
                       double trainSeconds) {}

    @Override
    public Integer call() throws Exception {
        Path root = Path.of(System.getProperty("gstick.root", "."));
        LmRecipe recipe = recipeFile != null ? LmRecipe.read(recipeFile) : LmRecipe.demo();
        if (steps != null) recipe = recipe.withSteps(steps);
        if (seed != null) recipe = recipe.withSeed(seed);
        // the default never replaces the shipped model: reproducing it is an explicit --out models/... --overwrite
        Path outDir = out != null ? out : root.resolve(reevaluate ? "models/gstick-llama-demo" : "runs/gstick-llama-demo");
        if (!reevaluate) AtomicFiles.checkFolderTarget(outDir, overwrite ? AtomicFiles.Existing.REPLACE : AtomicFiles.Existing.FAIL, "--out");
        Path cacheDir = data != null ? data : root.resolve("data-cache");
        DemoLm.Result r = reevaluate ? DemoLm.reevaluate(outDir, cacheDir, System.err::println) : DemoLm.build(recipe, cacheDir, outDir, System.err::println);
        if (json) {
            Json.print(new TrainLmJson(r.folder(), r.parameters(), r.trainTokens(), r.heldoutTokens(), r.heldoutPerplexity(), r.unigramPerplexity(),
                    r.firstLoss(), r.finalLoss(), r.trainSeconds()));
        } else {
            System.out.printf("wrote %s: %,d parameters, held-out perplexity %.2f (unigram baseline %.2f)%n", r.folder(), r.parameters(),
                    r.heldoutPerplexity(), r.unigramPerplexity());
        }
        return 0;
    }
}
