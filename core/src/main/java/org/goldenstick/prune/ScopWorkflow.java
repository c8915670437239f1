package org.goldenstick.prune;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.goldenstick.formats.AtomicFiles;
import org.goldenstick.data.Batch;
import org.goldenstick.nn.Module;
import org.goldenstick.quant.OnnxQdqExporter;
import org.goldenstick.progress.ProgressListener;
import org.goldenstick.rewrite.ApplyOptions;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.train.Adam;
import org.goldenstick.train.Checkpoints;
import org.goldenstick.train.Evaluator;
import org.goldenstick.train.GivenNetwork;
import org.goldenstick.train.Inference;
import org.goldenstick.train.Recipes;
import org.goldenstick.train.Trainer;
import org.goldenstick.train.TrainCallback;

/**
 * SCOP end to end, as {@code gstick prune} runs it: FP32 training (or a checkpoint), knockoff phase (only the
 * kfscales train, Adam), selection + physical channel removal, fine-tuning with the recipe's SGD at a fraction of
 * its learning rate, evaluation, parameters/MACs before and after, an inference images/s benchmark of both
 * networks in the same run (interleaved rounds, {@link Inference#compareImagesPerSecond}), and the pruned network
 * saved ({@link PrunedCheckpoints}) and exported to ONNX (float graph).
 *
 * <pre>{@code
 * var o = ScopWorkflow.Options.defaults(Recipes.Spec.defaults("resnet20", "fashion-mnist"), 0.45, Path.of("runs/prune"));
 * ScopWorkflow.Result r = ScopWorkflow.run(o, ProgressPrinter.auto());
 * }</pre>
 */
public final class ScopWorkflow {
    private ScopWorkflow() {}

    /**
     * @param kfEpochs knockoff epochs; {@code kfLr} their Adam learning rate for kfscale
     * @param ftEpochs fine-tuning epochs; {@code ftLrScale} their learning rate as a fraction of the recipe's
     */
    public record Options(Recipes.Spec fp32, double pruneRate, int kfEpochs, double kfLr, int ftEpochs, double ftLrScale, Path from, Path outDir,
            double benchSeconds, GivenNetwork network) {
        public Options(Recipes.Spec fp32, double pruneRate, int kfEpochs, double kfLr, int ftEpochs, double ftLrScale, Path from, Path outDir,
                double benchSeconds) {
            this(fp32, pruneRate, kfEpochs, kfLr, ftEpochs, ftLrScale, from, outDir, benchSeconds, null);
        }

        public Options {
            if (kfEpochs < 0) throw new IllegalArgumentException("--kf-epochs must be >= 0, got " + kfEpochs);
            if (ftEpochs < 0) throw new IllegalArgumentException("--ft-epochs must be >= 0, got " + ftEpochs);
            if (!(ftLrScale > 0)) throw new IllegalArgumentException("--ft-lr-scale must be > 0, got " + ftLrScale);
            if (outDir == null) throw new IllegalArgumentException("outDir is required");
            if (!(benchSeconds >= 0) || Double.isInfinite(benchSeconds)) throw new IllegalArgumentException("--bench-seconds must be >= 0 (0 = skip), got " + benchSeconds);
        }

        public static Options defaults(Recipes.Spec fp32, double pruneRate, Path outDir) {
            return new Options(fp32, pruneRate, 1, 0.01, Math.max(2, fp32.epochs() / 2), 0.2, null, outDir, 2);
        }

        /** Starts from {@code n} (a trained network, e.g. imported from ONNX) instead of the recipe's model. */
        public Options withNetwork(GivenNetwork n) {
            return new Options(fp32, pruneRate, kfEpochs, kfLr, ftEpochs, ftLrScale, from, outDir, benchSeconds, n);
        }

        /** The name files are written under: the given network's, or the recipe's model. */
        String modelName() { return network != null ? network.name() : fp32.model(); }
    }

    public record Result(double fp32Accuracy, double prunedAccuracy, double accuracyBeforeFineTune, ModelStats before, ModelStats after,
            double imagesPerSecondBefore, double imagesPerSecondAfter, List<PrunerFtCompressAlgo.LayerPruning> groups, List<SkippedLayer> skipped,
            Path fp32Checkpoint, Path prunedCheckpoint, Path onnx, Module pruned, Tensor testInputs, int[] testLabels, int[] prunedPredictions) {}

    /**
     * Runs the workflow. The output folder is swapped in whole at the end (files of earlier runs under other names are
     * kept, same-named ones replaced): an interrupted or failed run leaves the folder as it was, never a mix of two runs.
     */
    public static Result run(Options o, ProgressListener progress) throws IOException {
        return run(o, null, progress);
    }

    /** {@link #run(Options, ProgressListener)} on given data (e.g. an image folder) instead of the spec's built-in set. */
    public static Result run(Options o, Recipes.Data data, ProgressListener progress) throws IOException {
        progress = ProgressListener.orSilent(progress);
        PrunerFtCompressAlgo ft = new PrunerFtCompressAlgo(o.pruneRate());  // validates before any training
        try (AtomicFiles.StagedFolder out = AtomicFiles.stageFolder(o.outDir(), AtomicFiles.Existing.MERGE)) {
            Result r = run(o, data, ft, out.dir(), progress);
            out.commit();
            return new Result(r.fp32Accuracy(), r.prunedAccuracy(), r.accuracyBeforeFineTune(), r.before(), r.after(), r.imagesPerSecondBefore(),
                    r.imagesPerSecondAfter(), r.groups(), r.skipped(), out.finalPath(r.fp32Checkpoint()), out.finalPath(r.prunedCheckpoint()),
                    out.finalPath(r.onnx()), r.pruned(), r.testInputs(), r.testLabels(), r.prunedPredictions());
        }
    }

    private static Result run(Options o, Recipes.Data given, PrunerFtCompressAlgo ft, Path outDir, ProgressListener progress) throws IOException {
        Recipes.Spec spec = o.fp32();
        Recipes.Data data = given != null ? given : Recipes.data(spec);
        String dataset = data.name(spec);
        Module model = Recipes.newModel(spec, data, o.network());
        double fp32Acc;
        if (o.from() != null || o.network() != null) {
            if (o.from() != null) Checkpoints.load(model, o.from());
            fp32Acc = Evaluator.evaluate(model, Recipes.testLoader(spec, data)).accuracy();
            progress.printf("FP32 %s: test accuracy %.4f%n", o.from() != null ? "checkpoint " + o.from() : o.modelName(), fp32Acc);
        } else {
            fp32Acc = Recipes.train(spec, model, data, List.of(), progress).testAccuracy();
            progress.printf("FP32 %s on %s, %d epochs: test accuracy %.4f%n", spec.model(), dataset, spec.epochs(), fp32Acc);
        }
        String stem = o.modelName() + "-" + dataset;
        Path fp32File = outDir.resolve(stem + "-fp32.safetensors");
        Checkpoints.save(model, fp32File, Map.of("model", o.modelName(), "dataset", dataset));
        int[] sample = data.train().sampleShape();
        Batch test = Inference.wholeTestSet(spec, data);
        ModelStats before = ModelStats.measure(model, sample);

        PrunerKfCompressAlgo kf = new PrunerKfCompressAlgo(Map.of("seed", spec.seed()));
        Module kfNet = kf.apply(model, ApplyOptions.of(Map.of("input_shape", sample)));
        List<Tensor> kfscales = new ArrayList<>();
        kfNet.namedParameters().forEach((n, t) -> {
            if (n.endsWith("kfscale")) kfscales.add(t);
        });
        if (kfscales.isEmpty()) throw new IllegalStateException("SCOP: no prunable layer in " + o.modelName() + ": " + kf.skipped());
        if (o.kfEpochs() > 0) {
            Trainer.Builder tb = Trainer.builder(kfNet, new Adam(kfscales, new Adam.Options(o.kfLr(), 0.9, 0.999, 1e-8, 0))).epochs(o.kfEpochs()).progress(progress);
            for (TrainCallback cb : kf.callbacks()) tb.callback(cb);
            tb.build().fit(Recipes.trainLoader(spec, data));
        }
        Module pruned = ft.apply(kfNet, ApplyOptions.of(Map.of("input_shape", sample)));
        progress.printf("SCOP selection at prune_rate %.2f: %s%n", o.pruneRate(), ft.report());
        if (!ft.skipped().isEmpty()) progress.printf("not pruned: %s%n", ft.skipped());
        double accNoFt = Evaluator.evaluate(pruned, Recipes.testLoader(spec, data)).accuracy();
        progress.printf("pruned, before fine-tuning: test accuracy %.4f%n", accNoFt);
        double prunedAcc = accNoFt;
        if (o.ftEpochs() > 0) {
            Recipes.Spec ftSpec = spec.withEpochs(o.ftEpochs()).withLr(spec.lr() * o.ftLrScale());
            prunedAcc = Recipes.train(ftSpec, pruned, data, ft.callbacks(), progress).testAccuracy();
            progress.printf("fine-tuned %d epochs: test accuracy %.4f%n", o.ftEpochs(), prunedAcc);
        }
        ModelStats after = ModelStats.measure(pruned, sample);
        // the knockoff phase rewrote the trained model, so the benchmark reloads the FP32 one
        double[] speed = o.benchSeconds() > 0
                ? Inference.compareImagesPerSecond(List.of(Recipes.loadModel(spec, data, o.network(), fp32File), pruned), test.inputs(), 2 * o.benchSeconds())
                : new double[2];
        // the rate is part of the name so that runs at different rates never overwrite each other
        String tag = stem + "-scop-r" + String.format(java.util.Locale.ROOT, "%.2f", o.pruneRate());
        Path prunedFile = outDir.resolve(tag + ".safetensors");
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("model", o.modelName());
        meta.put("dataset", dataset);
        meta.put("prune_rate", Double.toString(o.pruneRate()));
        PrunedCheckpoints.save(pruned, prunedFile, meta);
        Path onnx = outDir.resolve(tag + ".onnx");
        OnnxQdqExporter.export(pruned, sample, onnx);
        return new Result(fp32Acc, prunedAcc, accNoFt, before, after, speed[0], speed[1], ft.report(), ft.skipped(), fp32File, prunedFile, onnx, pruned,
                test.inputs(), test.labels(), Inference.predict(pruned, test.inputs()));
    }
}
