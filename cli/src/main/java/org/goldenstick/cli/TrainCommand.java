package org.goldenstick.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.goldenstick.cli.report.Reports;
import org.goldenstick.formats.AtomicFiles;
import org.goldenstick.tensor.kernel.Parallel;
import org.goldenstick.train.EpochEvaluation;
import org.goldenstick.quant.OnnxQdqExporter;
import org.goldenstick.train.Checkpoints;
import org.goldenstick.train.GivenNetwork;
import org.goldenstick.train.Recipes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code gstick train}: trains a model on a data set with its named recipe ({@link Recipes}) and reports
 * test accuracy; {@code --json} prints exactly one JSON object on stdout.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a model on a data set with its recipe (SGD + Nesterov, warm-up + cosine) and print the test accuracy.")
public final class TrainCommand implements Callable<Integer> {
    @Mixin
    RecipeOptions recipe;

    @Mixin
    OnnxModelOption onnx;

    @Option(names = "--model", defaultValue = "lenet", description = "lenet | resnet8 | resnet20 (default: ${DEFAULT-VALUE})")
    String model;

    @Option(names = "--batch-size", description = "mini-batch size (default: the recipe's)")
    Integer batchSize;

    @Option(names = "--lr", description = "peak learning rate (default: the recipe's)")
    Double lr;

    @Option(names = "--out", description = "write the trained weights here (safetensors); with --onnx also the trained network as ONNX, same name with .onnx")
    Path out;

    @Option(names = "--overwrite", description = "replace an existing --out file")
    boolean overwrite;

    @Option(names = "--json", description = "print one JSON object instead of text (progress stays quiet)")
    boolean json;

    @Mixin
    ReportOption report;

    /** The {@code --json} object (docs/cli.md): {@code accuracy} is the test accuracy, {@code out} the weights written. */
    record TrainJson(String model, String dataset, double accuracy, double testLoss, Path out, Path onnx, double trainSeconds, double imagesPerSecond, long params,
                     int epochs, int batchSize, double lr, long seed, int trainSamples, long testSamples, Double finalTrainLoss, int threads,
                     Map<String, String> nullReasons) {}

    @Override
    public Integer call() throws Exception {
        report.check();
        if (out != null) AtomicFiles.checkFileTarget(out, overwrite, "--out", "--overwrite"); // before training, not after
        Recipes.Spec spec = recipe.spec(onnx.recipeModel(model));
        if (batchSize != null) spec = spec.withBatchSize(batchSize);
        if (lr != null) spec = spec.withLr(lr);
        String name = onnx.name(spec.model());
        Path onnxOut = onnx.given() && out != null ? out.resolveSibling(out.getFileName().toString().replaceFirst("(?i)\\.safetensors$", "") + ".onnx") : null;
        if (onnxOut != null) AtomicFiles.checkFileTarget(onnxOut, overwrite, "--out (its .onnx)", "--overwrite");
        Recipes.Data data = recipe.data(spec); // an image folder is read and checked before any training
        String dataset = data.name(spec);
        GivenNetwork given = onnx.network(data);  // a bad ONNX file fails here, before any training
        if (!json) {
            System.err.printf(Locale.ROOT, "train: %s on %s (%d train / %d test samples), %d epochs, batch %d, lr %g, seed %d, %d threads%n",
                    name, dataset, data.train().size(), data.test().size(), spec.epochs(), spec.batchSize(), spec.lr(), spec.seed(), Parallel.threads());
        }
        var model = Recipes.newModel(spec, data, given);
        // the report's accuracy curve needs a test-set evaluation after every epoch; without --report none is run
        EpochEvaluation perEpoch = report.wanted() ? new EpochEvaluation(Recipes.testLoader(spec, data), 1, e -> {}) : null;
        Recipes.Outcome o = Recipes.train(spec, model, data, perEpoch == null ? List.of() : List.of(perEpoch), CliProgress.of(json));
        if (report.wanted()) report.write(Reports.train(name, spec, data, o, perEpoch));
        if (out != null) {
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("model", name);
            meta.put("dataset", dataset);
            meta.put("epochs", Integer.toString(spec.epochs()));
            meta.put("seed", Long.toString(spec.seed()));
            meta.put("test_accuracy", String.format(Locale.ROOT, "%.4f", o.testAccuracy()));
            Checkpoints.save(model, out, meta);
            if (onnxOut != null) OnnxQdqExporter.export(model, data.train().sampleShape(), onnxOut);
        }
        if (json) {
            var why = new Json.Reasons();
            Json.print(new TrainJson(name, dataset, o.testAccuracy(), o.test().meanLoss(), why.present("out", out, "no --out given"),
                    why.present("onnx", onnxOut, onnx.given() ? "no --out given" : "no --onnx given (the built-in models are written as safetensors only)"),
                    o.trainSeconds(), o.imagesPerSecond(), o.parameters(), spec.epochs(), spec.batchSize(), spec.lr(), spec.seed(), data.train().size(),
                    o.test().count(), why.finite("final_train_loss", o.training().finalLoss(), "no training step ran"), Parallel.threads(), why.map()));
        } else {
            System.out.printf(Locale.ROOT, "test accuracy %.2f%% (%d samples), test loss %.4f%n", 100 * o.testAccuracy(), o.test().count(), o.test().meanLoss());
            System.out.printf(Locale.ROOT, "trained %s (%,d parameters) in %.1f s, %.0f images/s%n", name, o.parameters(), o.trainSeconds(), o.imagesPerSecond());
            if (out != null) System.out.println("weights written to " + out + (onnxOut != null ? ", ONNX to " + onnxOut : ""));
        }
        return 0;
    }
}
