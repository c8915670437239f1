package org.goldenstick.cli;

import org.goldenstick.train.Recipes;
import picocli.CommandLine.Option;

/**
 * The data-set and recipe options shared by {@code train}, {@code qat} and {@code prune} (a picocli mixin).
 * Each command keeps its own {@code --model} because their defaults differ.
 *
 * <pre>{@code
 * @Mixin RecipeOptions recipe;
 * Recipes.Spec spec = recipe.spec(model);
 * }</pre>
 */
public final class RecipeOptions {
    @Option(names = "--dataset", defaultValue = "digits", description = "digits | fashion-mnist (default: ${DEFAULT-VALUE})")
    String dataset;

    @Option(names = "--epochs", description = "FP32 training epochs (default: the recipe's)")
    Integer epochs;

    @Option(names = "--width", description = "ResNet base width (default: 16)")
    Integer width;

    @Option(names = "--seed", defaultValue = "0", description = "seed for initialisation, split and shuffling (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--limit-train", defaultValue = "0", description = "train on a seeded random subset of N samples (0 = all)")
    int limitTrain;

    @Option(names = "--limit-test", defaultValue = "0", description = "evaluate on the first N test samples (0 = all)")
    int limitTest;

    /** The named recipe for {@code model} on the chosen data set, with these options applied. */
    public Recipes.Spec spec(String model) {
        Recipes.Spec spec = Recipes.Spec.defaults(model, dataset).withSeed(seed).withLimitTrain(limitTrain).withLimitTest(limitTest);
        if (epochs != null) spec = spec.withEpochs(epochs);
        if (width != null) spec = spec.withWidth(width);
        return spec;
    }
}
