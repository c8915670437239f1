package org.goldenstick.cli;

import java.io.IOException;
import java.nio.file.Path;
import org.goldenstick.data.ImageFolder;
import org.goldenstick.train.Recipes;
import picocli.CommandLine.Option;

/**
 * The data-set and recipe options shared by {@code train}, {@code qat}, {@code prune} and the CNN {@code ptq} (a picocli
 * mixin): a built-in data set ({@code --dataset}) or a folder of images ({@code --data DIR}, one sub-folder per class,
 * with {@code --image-size}, {@code --grayscale}, {@code --mean}, {@code --std}). Each command keeps its own
 * {@code --model} because their defaults differ.
 *
 * <pre>{@code
 * @Mixin RecipeOptions recipe;
 * Recipes.Spec spec = recipe.spec(model);
 * Recipes.Data data = recipe.data(spec);
 * }</pre>
 */
public final class RecipeOptions {
    @Option(names = "--dataset", defaultValue = "digits", description = "digits | fashion-mnist (default: ${DEFAULT-VALUE}; ignored with --data)")
    String dataset;

    @Option(names = "--data", description = {"a folder of images instead of --dataset: one sub-folder per class (class index = sorted folder names),",
            "PNG/JPEG inside; DIR/train and DIR/test when both exist, else DIR split 80/20 by a seeded shuffle"})
    Path data;

    @Option(names = "--image-size", description = "with --data/--calib: resize every image to S x S (bilinear); needed when sizes differ")
    Integer imageSize;

    @Option(names = "--grayscale", description = "with --data/--calib: convert images to one grey channel")
    boolean grayscale;

    @Option(names = "--mean", split = ",", description = "with --data/--calib: per-channel mean subtracted after scaling pixels to [0, 1] (one value or one per channel; default 0)")
    float[] mean;

    @Option(names = "--std", split = ",", description = "with --data/--calib: per-channel divisor after the mean (one value or one per channel; default 1)")
    float[] std;

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

    /**
     * The named recipe for {@code model} on the chosen data set, with these options applied. An image folder trains by the
     * Fashion-MNIST recipe (the one for 28×28-class data).
     */
    public Recipes.Spec spec(String model) {
        Recipes.Spec spec = Recipes.Spec.defaults(model, data != null ? "fashion-mnist" : dataset).withSeed(seed).withLimitTrain(limitTrain).withLimitTest(limitTest);
        if (epochs != null) spec = spec.withEpochs(epochs);
        if (width != null) spec = spec.withWidth(width);
        return spec;
    }

    /** The preprocessing of {@code --data} and {@code --calib} images. */
    public ImageFolder.Preprocess preprocess() {
        return ImageFolder.Preprocess.of(imageSize, grayscale, mean, std);
    }

    /** Whether an image option was given without an image folder to apply it to. */
    void checkImageOptions(boolean calibFolder) {
        if (data == null && !calibFolder && (imageSize != null || grayscale || mean != null || std != null)) {
            throw new IllegalArgumentException("--image-size, --grayscale, --mean and --std apply to image folders (--data or --calib DIR)");
        }
    }

    /** For a command that takes only the built-in sets: {@code --data} is an error rather than ignored. */
    void checkNoImageFolder(String command) {
        if (data != null) throw new IllegalArgumentException("--data is not supported by " + command + " yet; use --dataset");
        checkImageOptions(false);
    }

    /** The data set's name in reports: the folder's name for {@code --data}, else the built-in set's. */
    public String datasetName(Recipes.Spec spec) {
        return data != null ? data.toAbsolutePath().normalize().getFileName().toString() : spec.dataset();
    }

    /**
     * The training and test sets: the image folder (every image read and checked first) or the built-in set, with the
     * spec's limits applied.
     */
    public Recipes.Data data(Recipes.Spec spec) throws IOException {
        checkImageOptions(false);
        if (data == null) return Recipes.data(spec);
        ImageFolder.Split s = ImageFolder.splits(data, preprocess(), spec.seed());
        return Recipes.limit(new Recipes.Data(s.train(), s.test(), datasetName(spec)), spec);
    }
}
