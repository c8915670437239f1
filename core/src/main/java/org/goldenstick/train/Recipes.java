package org.goldenstick.train;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.SplittableRandom;
import org.goldenstick.data.DataLoader;
import org.goldenstick.data.Dataset;
import org.goldenstick.data.Datasets;
import org.goldenstick.data.Splits;
import org.goldenstick.data.Subset;
import org.goldenstick.nn.Module;
import org.goldenstick.progress.ProgressListener;
import org.goldenstick.progress.ProgressPrinter;
import org.goldenstick.nn.models.LeNet5;
import org.goldenstick.nn.models.ResNet;

/**
 * Named training recipes: "train model M on data set D" with settings that are known to work, shared by
 * {@code gstick train} and the compression commands (QAT, SLB, SCOP), which add their callbacks and
 * rewritten models on top.
 *
 * <pre>{@code
 * Recipes.Spec spec = Recipes.Spec.defaults("lenet", "digits").withEpochs(20);
 * Recipes.Data data = Recipes.data(spec);
 * Module model = Recipes.newModel(spec, data);
 * Recipes.Outcome out = Recipes.train(spec, model, data, List.of(), ProgressPrinter.auto());
 * System.out.println(out.testAccuracy());
 * }</pre>
 */
public final class Recipes {
    private Recipes() {}

    public static final List<String> MODELS = List.of("lenet", "resnet8", "resnet20", "mobilenetv2");
    public static final List<String> DATASETS = List.of("digits", "fashion-mnist");

    /** Share of the digits set held out for testing, with the seeded split. */
    public static final double DIGITS_TEST_FRACTION = 0.2;

    /**
     * A complete training configuration. SGD with momentum 0.9 (Nesterov), weight decay, a linear warm-up
     * of {@code warmupEpochs} then cosine annealing to zero.
     *
     * @param limitTrain use a seeded random subset of this many training samples (0 = all)
     * @param limitTest  use the first this-many test samples (0 = all)
     * @param width      base channel width of ResNets (16 in the paper); ignored by LeNet
     */
    public record Spec(String model, String dataset, int epochs, int batchSize, double lr, double momentum,
            double weightDecay, int warmupEpochs, long seed, int limitTrain, int limitTest, int width) {
        public Spec {
            model = model.toLowerCase(Locale.ROOT);
            dataset = dataset.toLowerCase(Locale.ROOT);
            if (!MODELS.contains(model)) throw new IllegalArgumentException("unknown model '" + model + "'; choose one of " + MODELS);
            if (!DATASETS.contains(dataset)) throw new IllegalArgumentException("unknown dataset '" + dataset + "'; choose one of " + DATASETS);
            if (epochs < 1) throw new IllegalArgumentException("epochs must be >= 1, got " + epochs);
            if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
            if (!(lr > 0)) throw new IllegalArgumentException("learning rate must be > 0, got " + lr);
            if (limitTrain < 0 || limitTest < 0) throw new IllegalArgumentException("limits must be >= 0");
            if (warmupEpochs >= epochs) warmupEpochs = 0;
        }

        /** The recipe for a model/data-set pair. */
        public static Spec defaults(String model, String dataset) {
            String m = model.toLowerCase(Locale.ROOT), d = dataset.toLowerCase(Locale.ROOT);
            boolean lenet = m.equals("lenet");
            if (d.equals("digits")) {
                return lenet ? new Spec(m, d, 20, 32, 0.05, 0.9, 5e-4, 1, 0, 0, 0, 16)
                             : new Spec(m, d, 20, 32, 0.05, 0.9, 5e-4, 1, 0, 0, 0, 16);
            }
            return lenet ? new Spec(m, d, 15, 64, 0.05, 0.9, 5e-4, 1, 0, 0, 0, 16)
                         : new Spec(m, d, 10, 128, 0.1, 0.9, 5e-4, 1, 0, 0, 0, 16);
        }

        public Spec withEpochs(int e) { return new Spec(model, dataset, e, batchSize, lr, momentum, weightDecay, warmupEpochs, seed, limitTrain, limitTest, width); }
        public Spec withBatchSize(int b) { return new Spec(model, dataset, epochs, b, lr, momentum, weightDecay, warmupEpochs, seed, limitTrain, limitTest, width); }
        public Spec withLr(double l) { return new Spec(model, dataset, epochs, batchSize, l, momentum, weightDecay, warmupEpochs, seed, limitTrain, limitTest, width); }
        public Spec withWeightDecay(double wd) { return new Spec(model, dataset, epochs, batchSize, lr, momentum, wd, warmupEpochs, seed, limitTrain, limitTest, width); }
        public Spec withSeed(long s) { return new Spec(model, dataset, epochs, batchSize, lr, momentum, weightDecay, warmupEpochs, s, limitTrain, limitTest, width); }
        public Spec withLimitTrain(int n) { return new Spec(model, dataset, epochs, batchSize, lr, momentum, weightDecay, warmupEpochs, seed, n, limitTest, width); }
        public Spec withLimitTest(int n) { return new Spec(model, dataset, epochs, batchSize, lr, momentum, weightDecay, warmupEpochs, seed, limitTrain, n, width); }
        public Spec withWidth(int w) { return new Spec(model, dataset, epochs, batchSize, lr, momentum, weightDecay, warmupEpochs, seed, limitTrain, limitTest, w); }
    }

    /**
     * The training and test sets of a spec; {@code name} is the data set's name in file names and reports when it is not
     * the spec's built-in one (an image folder), else null.
     */
    public record Data(Dataset train, Dataset test, String name) {
        public Data(Dataset train, Dataset test) {
            this(train, test, null);
        }

        /** {@link #name()}, or the spec's data-set name for a built-in set. */
        public String name(Spec spec) {
            return name != null ? name : spec.dataset();
        }

        public int inChannels() { return train.sampleShape()[0]; }
        public int imageSize() { return train.sampleShape()[1]; }
        public int numClasses() { return train.numClasses(); }
    }

    /** Loads the data set: digits with the seeded 80/20 split, Fashion-MNIST with its official train/test files. */
    public static Data data(Spec spec) {
        Dataset train, test;
        if (spec.dataset().equals("digits")) {
            Splits.Split s = Splits.trainTest(Datasets.digits(), DIGITS_TEST_FRACTION, spec.seed());
            train = s.train();
            test = s.test();
        } else {
            train = Datasets.fashionMnist(true);
            test = Datasets.fashionMnist(false);
        }
        return limit(new Data(train, test), spec);
    }

    /** The spec's {@code limitTrain} (a seeded random subset) and {@code limitTest} (the first samples) applied to any data. */
    public static Data limit(Data data, Spec spec) {
        Dataset train = data.train(), test = data.test();
        if (spec.limitTrain() > 0 && spec.limitTrain() < train.size()) train = randomSubset(train, spec.limitTrain(), spec.seed());
        if (spec.limitTest() > 0 && spec.limitTest() < test.size()) test = Subset.first(test, spec.limitTest());
        return new Data(train, test, data.name());
    }

    /** A seeded random subset of {@code n} samples, kept in data-set order. */
    static Dataset randomSubset(Dataset ds, int n, long seed) {
        int[] idx = new int[ds.size()];
        for (int i = 0; i < idx.length; i++) idx[i] = i;
        SplittableRandom r = new SplittableRandom(seed ^ 0x5DEECE66DL);
        for (int i = idx.length - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
        int[] pick = Arrays.copyOf(idx, n);
        Arrays.sort(pick);
        return new Subset(ds, pick);
    }

    /** A freshly initialised model (seeded by the spec) sized for the data. */
    public static Module newModel(Spec spec, Data data) {
        Random rng = new Random(spec.seed());
        return switch (spec.model()) {
            case "lenet" -> new LeNet5(data.inChannels(), data.imageSize(), data.numClasses(), rng);
            case "resnet8" -> ResNet.resnet8(data.inChannels(), data.numClasses(), spec.width(), rng);
            case "resnet20" -> ResNet.resnet20(data.inChannels(), data.numClasses(), spec.width(), rng);
            case "mobilenetv2" -> new org.goldenstick.nn.models.MobileNetV2(data.inChannels(), data.numClasses(), rng);
            default -> throw new IllegalArgumentException("unknown model " + spec.model());
        };
    }

    /** The spec's model with the weights of {@code checkpoint} (from {@link Checkpoints#save}). */
    public static Module loadModel(Spec spec, Data data, java.nio.file.Path checkpoint) throws java.io.IOException {
        Module m = newModel(spec, data);
        Checkpoints.load(m, checkpoint);
        return m;
    }

    /** {@code given}'s network when there is one (a network from outside the recipes), else the spec's fresh model. */
    public static Module newModel(Spec spec, Data data, GivenNetwork given) {
        return given != null ? given.create() : newModel(spec, data);
    }

    /** {@link #newModel(Spec, Data, GivenNetwork)} with the weights of {@code checkpoint}. */
    public static Module loadModel(Spec spec, Data data, GivenNetwork given, java.nio.file.Path checkpoint) throws java.io.IOException {
        Module m = newModel(spec, data, given);
        Checkpoints.load(m, checkpoint);
        return m;
    }

    /** SGD with the spec's momentum (Nesterov) and weight decay over the model's parameters. */
    public static Optimizer newOptimizer(Spec spec, Module model) {
        return new SGD(model.parameters(), new SGD.Options(spec.lr(), spec.momentum(), 0, spec.weightDecay(), spec.momentum() > 0));
    }

    /** Linear warm-up then cosine annealing over the remaining epochs. */
    public static LrSchedule schedule(Spec spec) {
        LrSchedule cosine = new LrSchedule.CosineAnnealing(spec.epochs() - spec.warmupEpochs(), 0);
        return spec.warmupEpochs() > 0 ? new LrSchedule.Warmup(spec.warmupEpochs(), 0.1, cosine) : cosine;
    }

    /** The shuffled, seeded training loader (the last partial batch is dropped to keep BN statistics sane). */
    public static DataLoader trainLoader(Spec spec, Data data) {
        return new DataLoader(data.train(), spec.batchSize(), true, spec.seed(), data.train().size() > spec.batchSize());
    }

    public static DataLoader testLoader(Spec spec, Data data) {
        return DataLoader.sequential(data.test(), Math.max(spec.batchSize(), 256));
    }

    /** A trainer configured by the spec (optimizer, schedule, epochs, progress); add callbacks or a loss before {@code build()}. */
    public static Trainer.Builder trainer(Spec spec, Module model, ProgressListener progress) {
        return Trainer.builder(model, newOptimizer(spec, model)).epochs(spec.epochs()).schedule(schedule(spec)).progress(progress);
    }

    /** What {@link #train} produced. */
    public record Outcome(Module model, TrainResult training, Evaluator.Result test, long parameters) {
        public double testAccuracy() { return test.accuracy(); }
        public double trainSeconds() { return training.seconds(); }
        public double imagesPerSecond() { return training.samplesPerSecond(); }
    }

    /** Trains {@code model} by the spec with extra callbacks, then evaluates it on the test set. */
    public static Outcome train(Spec spec, Module model, Data data, List<TrainCallback> callbacks, ProgressListener progress) {
        Trainer.Builder b = trainer(spec, model, progress);
        for (TrainCallback cb : callbacks) b.callback(cb);
        TrainResult r = b.build().fit(trainLoader(spec, data));
        Evaluator.Result test = Evaluator.evaluate(model, testLoader(spec, data));
        return new Outcome(model, r, test, model.parameterCount());
    }

    /** Loads the data, builds the model and trains it: the whole of {@code gstick train}. */
    public static Outcome run(Spec spec, ProgressListener progress) {
        Data data = data(spec);
        return train(spec, newModel(spec, data), data, List.of(), progress);
    }
}
