package org.goldenstick.llm.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * Everything that determines a trained demo model: data split, tokenizer, architecture and optimisation.
 * Written next to the weights as {@code recipe.json}; {@code ./gstick train-lm} with the same recipe
 * reproduces the model (same seed, same data, same single-threaded-deterministic updates).
 *
 * <pre>{@code
 * LmRecipe r = LmRecipe.demo().withSteps(200);   // a shorter run of the shipped recipe
 * }</pre>
 *
 * @param batchSize  sequences per step; each is {@code contextLength} tokens (contextLength-1 targets)
 * @param warmupSteps linear warm-up from 0 to {@code peakLr}, then cosine decay to {@code minLr} at the last step
 * @param weightDecay decoupled (AdamW) decay on matrices only; norms are not decayed
 * @param gradClip   global L2 norm the gradient is clipped to
 * @param evalEvery  steps between held-out loss reports (on a fixed small held-out sample), 0 = never
 */
public record LmRecipe(
        long seed,
        String corpus,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int contextLength,
        boolean tieEmbeddings,
        double ropeTheta,
        int batchSize,
        int steps,
        double peakLr,
        double minLr,
        int warmupSteps,
        double weightDecay,
        double beta1,
        double beta2,
        double adamEps,
        double gradClip,
        int evalEvery) {

    public static final String CORPUS = "train: SOTU 1790-" + (LmCorpus.HELDOUT_FIRST_YEAR - 1)
            + " + 6 Austen novels + Moby-Dick ch. 1-120; heldout: SOTU " + LmCorpus.HELDOUT_FIRST_YEAR + "-2021 + Moby-Dick ch. 121-end";

    public LmRecipe {
        // each check names its field: an invalid recipe.json says what to fix
        require(vocabSize >= 258, "vocabSize", vocabSize, ">= 258 (256 bytes + BOS + EOS)");
        require(hiddenSize > 0, "hiddenSize", hiddenSize, "> 0");
        require(intermediateSize > 0, "intermediateSize", intermediateSize, "> 0");
        require(numLayers > 0, "numLayers", numLayers, "> 0");
        require(numHeads > 0, "numHeads", numHeads, "> 0");
        require(hiddenSize % numHeads == 0, "hiddenSize", hiddenSize, "divisible by numHeads " + numHeads);
        require(numKvHeads > 0, "numKvHeads", numKvHeads, "> 0");
        require(numHeads % numKvHeads == 0, "numHeads", numHeads, "divisible by numKvHeads " + numKvHeads);
        require(contextLength >= 2, "contextLength", contextLength, ">= 2");
        require(batchSize > 0, "batchSize", batchSize, "> 0");
        require(steps > 0, "steps", steps, "> 0");
        require(warmupSteps >= 0, "warmupSteps", warmupSteps, ">= 0");
        require(peakLr > 0, "peakLr", peakLr, "> 0");
        require(minLr >= 0, "minLr", minLr, ">= 0");
        require(gradClip > 0, "gradClip", gradClip, "> 0");
    }

    private static void require(boolean ok, String field, Object value, String rule) {
        if (!ok) throw new IllegalArgumentException("invalid LM recipe: field '" + field + "' is " + value + ", must be " + rule);
    }

    /** The recipe of the shipped models/gstick-llama-demo. */
    public static LmRecipe demo() {
        return new LmRecipe(1234, CORPUS, 4096, 256, 688, 4, 8, 4, 256, true, 10000.0,
                4, 700, 2e-3, 2e-4, 50, 0.1, 0.9, 0.95, 1e-8, 1.0, 100);
    }

    public LmRecipe withSteps(int s) {
        return new LmRecipe(seed, corpus, vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, contextLength,
                tieEmbeddings, ropeTheta, batchSize, s, peakLr, minLr, Math.min(warmupSteps, Math.max(1, s / 10)), weightDecay, beta1, beta2,
                adamEps, gradClip, evalEvery);
    }

    public LmRecipe withSeed(long s) {
        return new LmRecipe(s, corpus, vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, contextLength,
                tieEmbeddings, ropeTheta, batchSize, steps, peakLr, minLr, warmupSteps, weightDecay, beta1, beta2, adamEps, gradClip, evalEvery);
    }

    /** A tiny model for tests and smoke runs. */
    public static LmRecipe tiny(int vocabSize, int steps) {
        return new LmRecipe(7, "test text", vocabSize, 32, 64, 2, 4, 2, 32, true, 10000.0, 8, steps, 1e-2, 1e-3,
                Math.max(1, steps / 10), 0.0, 0.9, 0.95, 1e-8, 1.0, 0);
    }

    /** Learning rate at a step (0-based): linear warm-up, then cosine to {@code minLr}. */
    public double lr(int step) {
        if (step < warmupSteps) return peakLr * (step + 1) / warmupSteps;
        double progress = steps <= warmupSteps ? 1 : (double) (step - warmupSteps) / Math.max(1, steps - warmupSteps - 1);
        return minLr + 0.5 * (peakLr - minLr) * (1 + Math.cos(Math.PI * Math.min(1, progress)));
    }

    public String toJson() {
        try {
            return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(this);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static LmRecipe fromJson(String json) {
        return fromJson(json, "recipe.json");
    }

    /** Reads and validates a recipe file; errors name the file and the field. */
    public static LmRecipe read(Path file) throws IOException {
        return fromJson(org.goldenstick.formats.TextFiles.read(file), file.toString());
    }

    private static LmRecipe fromJson(String json, String source) {
        try {
            return new ObjectMapper().readValue(json, LmRecipe.class);
        } catch (IOException e) {
            // the constructor's own message names the bad field; Jackson's wrapper would bury it
            Throwable c = e;
            while (c.getCause() != null && !(c instanceof IllegalArgumentException)) c = c.getCause();
            String msg = c instanceof IllegalArgumentException ? c.getMessage()
                    : e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
            throw new IllegalArgumentException(source + ": " + msg, e);
        }
    }
}
