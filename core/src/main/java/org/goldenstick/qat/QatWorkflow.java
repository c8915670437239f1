package org.goldenstick.qat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.goldenstick.formats.AtomicFiles;
import org.goldenstick.data.Batch;
import org.goldenstick.nn.Module;
import org.goldenstick.progress.ProgressListener;
import org.goldenstick.rewrite.CompAlgo;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.train.Checkpoints;
import org.goldenstick.train.Evaluator;
import org.goldenstick.train.GivenNetwork;
import org.goldenstick.train.Inference;
import org.goldenstick.train.LossFunction;
import org.goldenstick.train.Recipes;
import org.goldenstick.train.TrainCallback;
import org.goldenstick.train.Trainer;

/**
 * The whole quantization-aware training flow, reusable by every QAT algorithm: train FP32 by the recipe (or load a
 * checkpoint), save the FP32 checkpoint, measure FP32 inference speed, {@code apply} the algorithm, fine-tune with
 * its callbacks and loss, {@code convert} to the deploy network, evaluate it, export it
 * ({@link CompAlgo#exportDeployModel}), and measure deploy inference speed on the same engine in the same run.
 *
 * <pre>{@code
 * var opts = QatWorkflow.Options.defaults("lenet", "digits", Path.of("runs/qat"));
 * QatWorkflow.Result r = QatWorkflow.run(opts, spec -> new SimQAT(SimQATConfig.defaults()), ProgressPrinter.auto());
 * }</pre>
 */
public final class QatWorkflow {
    private QatWorkflow() {}

    /**
     * @param fp32 the FP32 training recipe (its epochs are the FP32 epochs)
     * @param qatEpochs fine-tuning epochs after apply
     * @param qatLrScale fine-tuning learning rate as a fraction of the recipe's
     * @param from an FP32 checkpoint to start from instead of training, or null
     * @param outDir where checkpoints and exports go
     * @param benchSeconds time spent measuring each network's inference speed (0 to skip)
     * @param network a trained network to start from instead of the recipe's model (e.g. imported from ONNX), or null
     */
    public record Options(Recipes.Spec fp32, int qatEpochs, double qatLrScale, Path from, Path outDir, double benchSeconds, GivenNetwork network) {
        public Options(Recipes.Spec fp32, int qatEpochs, double qatLrScale, Path from, Path outDir, double benchSeconds) {
            this(fp32, qatEpochs, qatLrScale, from, outDir, benchSeconds, null);
        }

        public Options {
            if (qatEpochs < 1) throw new IllegalArgumentException("qat epochs must be >= 1, got " + qatEpochs);
            if (!(qatLrScale > 0)) throw new IllegalArgumentException("qat learning-rate scale must be > 0, got " + qatLrScale);
            if (outDir == null) throw new IllegalArgumentException("outDir is required");
            if (!(benchSeconds >= 0) || Double.isInfinite(benchSeconds)) throw new IllegalArgumentException("--bench-seconds must be >= 0 (0 = skip), got " + benchSeconds);
        }

        public static Options defaults(String model, String dataset, Path outDir) {
            Recipes.Spec spec = Recipes.Spec.defaults(model, dataset);
            int qat = Math.max(2, spec.epochs() / 4);
            return new Options(spec, qat, 0.1, null, outDir, 1.5);
        }

        public Options withFp32(Recipes.Spec s) { return new Options(s, qatEpochs, qatLrScale, from, outDir, benchSeconds, network); }
        public Options withQatEpochs(int e) { return new Options(fp32, e, qatLrScale, from, outDir, benchSeconds, network); }
        public Options withFrom(Path p) { return new Options(fp32, qatEpochs, qatLrScale, p, outDir, benchSeconds, network); }
        public Options withBenchSeconds(double s) { return new Options(fp32, qatEpochs, qatLrScale, from, outDir, s, network); }
        public Options withNetwork(GivenNetwork n) { return new Options(fp32, qatEpochs, qatLrScale, from, outDir, benchSeconds, n); }

        /** The name files are written under: the given network's, or the recipe's model. */
        String modelName() { return network != null ? network.name() : fp32.model(); }
    }

    /**
     * What the flow measured. {@code deployPredictions} are the deploy network's top-1 classes on the test set (for
     * agreement checks against another runtime), {@code testInputs}/{@code testLabels} that test set.
     */
    public record Result(String algorithm, double fp32Accuracy, double fakeQuantAccuracy, double quantAccuracy, long fp32Bytes, long deployBytes,
                         Path fp32Checkpoint, List<Path> exported, double fp32ImagesPerSecond, double deployImagesPerSecond,
                         int[] deployPredictions, Tensor testInputs, int[] testLabels, Module deploy, CompAlgo algo) {
        /** The exported file with this suffix (e.g. ".onnx"), or null. */
        public Path exported(String suffix) {
            for (Path p : exported) if (p.toString().endsWith(suffix)) return p;
            return null;
        }
    }

    /**
     * Runs the workflow. The output folder is swapped in whole at the end (files of earlier runs under other names are
     * kept, same-named ones replaced): an interrupted or failed run leaves the folder as it was, never a mix of two runs.
     */
    public static Result run(Options o, Function<Recipes.Spec, CompAlgo> algorithm, ProgressListener progress) throws IOException {
        return run(o, null, algorithm, progress);
    }

    /** {@link #run(Options, Function, ProgressListener)} on given data (e.g. an image folder) instead of the spec's built-in set. */
    public static Result run(Options o, Recipes.Data data, Function<Recipes.Spec, CompAlgo> algorithm, ProgressListener progress) throws IOException {
        ProgressListener listener = ProgressListener.orSilent(progress);
        try (AtomicFiles.StagedFolder out = AtomicFiles.stageFolder(o.outDir(), AtomicFiles.Existing.MERGE)) {
            Result r = run(o, data, out.dir(), algorithm, listener);
            out.commit();
            return new Result(r.algorithm(), r.fp32Accuracy(), r.fakeQuantAccuracy(), r.quantAccuracy(), r.fp32Bytes(), r.deployBytes(),
                    out.finalPath(r.fp32Checkpoint()), r.exported().stream().map(out::finalPath).toList(), r.fp32ImagesPerSecond(),
                    r.deployImagesPerSecond(), r.deployPredictions(), r.testInputs(), r.testLabels(), r.deploy(), r.algo());
        }
    }

    private static Result run(Options o, Recipes.Data given, Path outDir, Function<Recipes.Spec, CompAlgo> algorithm, ProgressListener progress) throws IOException {
        Recipes.Spec spec = o.fp32();
        CompAlgo algo = algorithm.apply(spec); // built (and validated) before any training
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
        Path fp32File = outDir.resolve(o.modelName() + "-" + dataset + "-fp32.safetensors");
        Checkpoints.save(model, fp32File, Map.of("model", o.modelName(), "dataset", dataset));

        Batch test = Inference.wholeTestSet(spec, data);

        Module qnet = algo.apply(model);
        if (algo.applySummary() != null) progress.message(algo.getClass().getSimpleName() + ": " + model.getClass().getSimpleName() + "\n" + algo.applySummary().stripTrailing());
        Recipes.Spec qspec = spec.withEpochs(o.qatEpochs()).withLr(spec.lr() * o.qatLrScale());
        Trainer.Builder tb = Recipes.trainer(qspec, qnet, progress).loss(algo.loss(LossFunction.crossEntropy()));
        for (TrainCallback cb : algo.callbacks()) tb.callback(cb);
        tb.build().fit(Recipes.trainLoader(qspec, data));
        double fqAcc = Evaluator.evaluate(qnet, Recipes.testLoader(spec, data)).accuracy();
        progress.printf("%s fine-tuned %d epochs: fake-quant test accuracy %.4f%n", algo.getClass().getSimpleName(), o.qatEpochs(), fqAcc);

        Module deploy = algo.convert(qnet);
        double qAcc = Evaluator.evaluate(deploy, Recipes.testLoader(spec, data)).accuracy();
        int[] preds = Inference.predict(deploy, test.inputs());
        int[] sample = java.util.Arrays.copyOfRange(test.inputs().shape(), 1, test.inputs().rank());
        List<Path> files = new ArrayList<>(algo.exportDeployModel(deploy, outDir.resolve(o.modelName() + "-" + dataset + "-" + algo.deployTag()), sample));
        long deployBytes = Files.size(files.getFirst());
        // apply rewrote the trained model, so the benchmark reloads the FP32 one
        double[] speed = o.benchSeconds() > 0
                ? Inference.compareImagesPerSecond(List.of(Recipes.loadModel(spec, data, o.network(), fp32File), deploy), test.inputs(), 2 * o.benchSeconds())
                : new double[2];
        progress.printf("deploy: test accuracy %.4f, %d bytes (FP32 checkpoint %d bytes)%n", qAcc, deployBytes, Files.size(fp32File));
        return new Result(algo.getClass().getSimpleName(), fp32Acc, fqAcc, qAcc, Files.size(fp32File), deployBytes, fp32File, files, speed[0], speed[1],
                preds, test.inputs(), test.labels(), deploy, algo);
    }
}
