package org.goldenstick.cli;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.goldenstick.data.Batch;
import org.goldenstick.data.Dataset;
import org.goldenstick.data.ImageFolder;
import org.goldenstick.data.Splits;
import org.goldenstick.formats.AtomicFiles;
import org.goldenstick.nn.Module;
import org.goldenstick.progress.ProgressListener;
import org.goldenstick.ptq.ActCalibration;
import org.goldenstick.ptq.CnnPtq;
import org.goldenstick.ptq.CnnPtqConfig;
import org.goldenstick.ptq.CnnPtqWorkflow;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.Parallel;
import org.goldenstick.train.Checkpoints;
import org.goldenstick.train.Evaluator;
import org.goldenstick.train.GivenNetwork;
import org.goldenstick.train.Inference;
import org.goldenstick.train.Recipes;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The CNN kind of {@code gstick ptq} (a mixin of {@link PtqCommand}): static int8 post-training quantization
 * ({@link CnnPtqWorkflow}) of a built-in network (trained by its recipe, or {@code --from} a checkpoint) or a float ONNX
 * network ({@code --onnx}, imported by {@link OnnxModelOption}) on a built-in data set or an image folder; writes the FP32 checkpoint (when trained here), the int8 deploy file and its QDQ ONNX export
 * into one folder, swapped in whole at the end; checks the export in ONNX Runtime.
 *
 * <p>Calibration images: {@code --calib DIR}, else the first {@code --calib-samples} of a seeded shuffle of the training
 * set. Validation for {@code --max-drop}: the next {@code --val-samples} of that shuffle (never the test set, which only
 * measures).
 */
public final class CnnPtqRun {
    @Option(names = "--model", description = "CNN: lenet | resnet8 | resnet20 (default: lenet)")
    String model;

    @Mixin
    RecipeOptions recipe;

    @Option(names = "--from", description = "CNN: the FP32 checkpoint to quantize (safetensors from gstick train --out); default: train by the recipe first")
    Path from;

    @Option(names = "--calibration", description = "CNN: activation ranges by minmax | moving-average | percentile | mse | entropy (default: percentile)")
    String calibration;

    @Option(names = "--percentile", description = "CNN: the percentile of --calibration percentile (default: 99.99)")
    Double percentile;

    @Option(names = "--calib-samples", description = "CNN: calibration images used (default: 300)")
    Integer calibSamples;

    @Option(names = "--no-bias-correction", description = "CNN: leave biases as folded (no correction of the mean shift quantization causes)")
    boolean noBiasCorrection;

    @Option(names = "--max-drop", description = "CNN: accuracy control: keep the most sensitive layers in float until the validation accuracy drop is at most this many points")
    Double maxDrop;

    @Option(names = "--val-samples", description = "CNN: validation images for --max-drop (default: 1000, from the training set, after the calibration ones)")
    Integer valSamples;

    /** One row of the per-layer table. */
    record LayerRow(String layer, String kind, Double sqnrDb) {}

    /** The {@code --json} object (docs/cli.md, "gstick ptq --model --json"). */
    record CnnPtqJson(@JsonUnwrapped CompressionJson result, Integer epochs, String calibration, int calibrationSamples, boolean biasCorrection, int foldedBatchNorms,
                      Double maxDropPoints, List<String> keptFloat, Boolean dropMet, Double validationFp32Accuracy, Double validationAccuracy,
                      int validationSamples, List<LayerRow> layers, Map<String, String> nullReasons) {}

    /** Options only the CNN kind takes, given to the encoder kind, are an error (they would be ignored). */
    void refuseForEncoder() {
        List<String> given = new ArrayList<>();
        if (model != null) given.add("--model");
        if (from != null) given.add("--from");
        if (recipe.data != null) given.add("--data");
        if (calibration != null) given.add("--calibration");
        if (percentile != null) given.add("--percentile");
        if (calibSamples != null) given.add("--calib-samples");
        if (noBiasCorrection) given.add("--no-bias-correction");
        if (maxDrop != null) given.add("--max-drop");
        if (valSamples != null) given.add("--val-samples");
        if (!given.isEmpty()) throw new IllegalArgumentException(given + " apply to CNN post-training quantization (no --tokenizer); the encoder kind does not take them");
    }

    CnnPtqConfig config(String skip) {
        CnnPtqConfig c = CnnPtqConfig.defaults();
        if (calibration != null) c = c.withCalibration(ActCalibration.parse(calibration));
        if (percentile != null) {
            if (c.calibration() != ActCalibration.PERCENTILE) throw new IllegalArgumentException("--percentile applies to --calibration percentile");
            c = c.withPercentile(percentile);
        }
        if (calibSamples != null) c = c.withCalibrationSamples(calibSamples);
        if (noBiasCorrection) c = c.withBiasCorrection(false);
        if (skip != null) c = c.withSkipLayers(List.of(skip));
        return c;
    }

    int run(Path onnx, Path calibDir, String skip, Path out, boolean json, ReportOption report) throws Exception {
        if (onnx != null && model != null) throw new IllegalArgumentException("--onnx and --model are alternatives; give one");
        // everything checked before any work
        CnnPtqConfig cfg = config(skip);
        if (maxDrop != null && !(maxDrop >= 0)) throw new IllegalArgumentException("--max-drop must be >= 0 points, got " + maxDrop);
        if (valSamples != null && maxDrop == null) throw new IllegalArgumentException("--val-samples applies to --max-drop");
        int nVal = valSamples == null ? 1000 : valSamples;
        if (nVal < 1) throw new IllegalArgumentException("--val-samples must be >= 1, got " + nVal);
        Path outDir = out != null ? out : Path.of("runs/ptq");
        AtomicFiles.checkFolderTarget(outDir, AtomicFiles.Existing.REPLACE, "--out");
        if (from != null && !Files.isRegularFile(from)) throw new IllegalArgumentException("--from " + from + ": no such checkpoint file");
        if (calibDir != null && !Files.isDirectory(calibDir)) throw new IllegalArgumentException("--calib " + calibDir + ": a CNN calibrates on a folder of images");
        recipe.checkImageOptions(calibDir != null);
        Recipes.Spec spec = recipe.spec(model == null ? "lenet" : model);  // an ONNX network trains by no recipe; LeNet's names the data settings
        Recipes.Data data = recipe.data(spec);
        String datasetName = data.name(spec);
        // an ONNX network is imported and checked against the data (input shape, classes) now, before any work
        OnnxModelOption imported = new OnnxModelOption();
        imported.file = onnx;
        GivenNetwork given = imported.network(data);
        String name = imported.name(spec.model());
        if (given != null && from != null) throw new IllegalArgumentException("--from loads weights into a built-in --model; an --onnx network brings its own");
        int[] sample = data.train().sampleShape();
        Tensor calibImages = calibDir != null ? folderImages(calibDir, recipe.preprocess(), sample, cfg.calibrationSamples()) : null;
        ProgressListener progress = CliProgress.of(json);
        if (!json) {
            System.err.printf(Locale.ROOT, "ptq: %s on %s (%d train / %d test images, %s), %s calibration, %d threads%n", name, datasetName,
                    data.train().size(), data.test().size(), Arrays.toString(sample), cfg.calibration().cliName(), Parallel.threads());
        }

        int[] order = shuffled(data.train().size(), spec.seed());
        if (calibImages == null) {
            int n = Math.min(cfg.calibrationSamples(), data.train().size());
            calibImages = images(data.train(), Arrays.copyOfRange(order, 0, n));
        }
        Batch validation = null;
        if (maxDrop != null) {
            int start = calibDir == null ? Math.min(cfg.calibrationSamples(), order.length) : 0;
            int end = Math.min(order.length, start + nVal);
            if (end <= start) throw new IllegalArgumentException("--max-drop: no training image left for validation after the " + start + " calibration images");
            int[] idx = Arrays.copyOfRange(order, start, end);
            int[] labels = new int[idx.length];
            for (int i = 0; i < idx.length; i++) labels[i] = data.train().label(idx[i]);
            validation = new Batch(images(data.train(), idx), labels);
        }

        try (AtomicFiles.StagedFolder staged = AtomicFiles.stageFolder(outDir, AtomicFiles.Existing.REPLACE)) {
            Module net = Recipes.newModel(spec, data, given);
            Path fp32File;
            if (from != null || given != null) {
                if (from != null) Checkpoints.load(net, from);
                fp32File = from != null ? from : onnx;
            } else {
                Recipes.train(spec, net, data, List.of(), progress);
                fp32File = staged.dir().resolve(name + "-" + datasetName + "-fp32.safetensors");
                Checkpoints.save(net, fp32File, Map.of("model", name, "dataset", datasetName));
            }
            double fp32Acc = Evaluator.evaluate(net, Recipes.testLoader(spec, data)).accuracy();
            progress.printf("FP32 test accuracy %.4f%n", fp32Acc);
            Batch test = Inference.wholeTestSet(spec, data);

            CnnPtqWorkflow.Result r = CnnPtqWorkflow.quantize(net, calibImages, validation, cfg, maxDrop, progress);
            Module deploy = r.deploy();
            double qAcc = Evaluator.evaluate(deploy, Recipes.testLoader(spec, data)).accuracy();
            int[] preds = Inference.predict(deploy, test.inputs());
            List<Path> files = r.algorithm().exportDeployModel(deploy, staged.dir().resolve(name + "-" + datasetName + "-" + r.algorithm().deployTag()), sample);
            long fp32Bytes = Files.size(fp32File), deployBytes = Files.size(files.getFirst());
            staged.commit();
            Path st = staged.finalPath(files.get(0)), onnxOut = staged.finalPath(files.get(1));
            boolean trainedHere = from == null && given == null;
            Path fp32Final = trainedHere ? staged.finalPath(fp32File) : fp32File;

            OnnxRuntimeCheck.Result ort = OnnxRuntimeCheck.run(onnxOut, test.inputs(), test.labels(), preds);
            var why = new Json.Reasons();
            CompressionJson c = CompressionJson.of("ptq", name, datasetName, fp32Acc, qAcc, ort, fp32Bytes, deployBytes, st, onnxOut, fp32Final, 0, 0,
                    test.labels().length, Parallel.threads(), why);
            List<LayerRow> rows = new ArrayList<>();
            for (CnnPtq.LayerSqnr l : r.sqnr()) rows.add(new LayerRow(l.layer(), l.kind(), Double.isFinite(l.sqnrDb()) ? l.sqnrDb() : null));
            if (report.wanted()) {
                Map<String, Double> sqnr = new java.util.LinkedHashMap<>();
                for (LayerRow l : rows) if (l.sqnrDb() != null) sqnr.put(l.layer(), l.sqnrDb());
                report.write(org.goldenstick.cli.report.Reports.cnnPtq(name, datasetName, cfg.calibration().cliName(), fp32Acc, qAcc, ort.accuracy(), ort.agreement(),
                        fp32Bytes, deployBytes, sqnr, r.keptFloat()));
            }
            if (json) {
                String noControl = "no --max-drop (no accuracy control)";
                Json.print(new CnnPtqJson(c, why.present("epochs", trainedHere ? spec.epochs() : null, "not trained here (--from a checkpoint or --onnx)"), cfg.calibration().cliName(), Math.min(cfg.calibrationSamples(), calibImages.dim(0)), cfg.biasCorrection(),
                        r.algorithm().foldedBatchNorms(), why.present("max_drop_points", maxDrop, noControl), r.keptFloat(),
                        why.present("drop_met", maxDrop == null ? null : r.dropMet(), noControl),
                        why.finite("validation_fp32_accuracy", r.fp32Validation(), noControl), why.finite("validation_accuracy", r.quantValidation(), noControl),
                        validation == null ? 0 : validation.labels().length, rows, why.map()));
            } else {
                System.out.printf(Locale.ROOT, "FP32 accuracy %.2f%%, int8 accuracy %.2f%% (%s, %d calibration images, bias correction %s), ONNX Runtime %.2f%% (agreement %.2f%%)%n",
                        100 * fp32Acc, 100 * qAcc, cfg.calibration().cliName(), Math.min(cfg.calibrationSamples(), calibImages.dim(0)),
                        cfg.biasCorrection() ? "on" : "off", 100 * ort.accuracy(), 100 * ort.agreement());
                if (maxDrop != null) {
                    System.out.printf(Locale.ROOT, "accuracy control (max drop %.2f points on %d validation images): %s; kept in float: %s%n", maxDrop,
                            validation.labels().length, r.dropMet() ? String.format(Locale.ROOT, "met (%.2f%% vs float %.2f%%)", 100 * r.quantValidation(), 100 * r.fp32Validation())
                                    : "NOT met with all but one layer in float", r.keptFloat().isEmpty() ? "none" : r.keptFloat());
                }
                System.out.println("per-layer output SQNR against float (dB):");
                for (LayerRow l : rows) System.out.printf(Locale.ROOT, "  %-28s %-8s %s%n", l.layer(), l.kind(), l.sqnrDb() == null ? "exact" : String.format(Locale.ROOT, "%.1f", l.sqnrDb()));
                System.out.printf(Locale.ROOT, "size: FP32 checkpoint %,d bytes, int8 deploy %,d bytes (%.1f%%)%n", fp32Bytes, deployBytes, 100.0 * deployBytes / fp32Bytes);
                System.out.println("written: " + st + ", " + onnxOut + (trainedHere ? ", " + fp32Final : ""));
            }
        }
        return 0;
    }

    private static int[] shuffled(int n, long seed) {
        return Splits.permutation(n, new SplittableRandom(seed ^ 0xCA11BL));
    }

    private static Tensor images(Dataset ds, int[] idx) {
        int per = ds.sampleSize();
        float[] x = new float[idx.length * per];
        for (int i = 0; i < idx.length; i++) ds.fill(idx[i], x, i * per);
        int[] shape = new int[1 + ds.sampleShape().length];
        shape[0] = idx.length;
        System.arraycopy(ds.sampleShape(), 0, shape, 1, shape.length - 1);
        return Tensor.of(x, shape);
    }

    /** The calibration folder's images (flat or in class folders), checked against the network's input shape. */
    private static Tensor folderImages(Path dir, ImageFolder.Preprocess p, int[] sample, int max) throws java.io.IOException {
        ImageFolder f = ImageFolder.loadImages(dir, p);
        if (!Arrays.equals(f.sampleShape(), sample)) {
            throw new IllegalArgumentException("--calib " + dir + ": images are " + Arrays.toString(f.sampleShape()) + " but the network takes " + Arrays.toString(sample)
                    + " (use --image-size / --grayscale)");
        }
        // a seeded shuffle, so a cap below the folder's size does not take the first classes only
        return images(f, Arrays.copyOf(shuffled(f.size(), 0), Math.min(max, f.size())));
    }
}
