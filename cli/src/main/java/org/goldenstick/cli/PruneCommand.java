package org.goldenstick.cli;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import java.util.List;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.goldenstick.formats.AtomicFiles;
import org.goldenstick.prune.ModelStats;
import org.goldenstick.prune.PrunerFtCompressAlgo;
import org.goldenstick.prune.ScopWorkflow;
import org.goldenstick.tensor.kernel.Parallel;
import org.goldenstick.train.Recipes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code gstick prune}: SCOP structured pruning end to end ({@link ScopWorkflow}): FP32 training (or {@code --from}),
 * knockoff phase, channel selection and physical removal, fine-tuning, evaluation, params/MACs before and after,
 * and inference images/s of both networks measured in the same run. {@code --json} prints one JSON object.
 */
@Command(name = "prune", mixinStandardHelpOptions = true,
        description = "SCOP structured pruning: train FP32, knockoff phase, remove channels, fine-tune, evaluate and benchmark.")
public final class PruneCommand implements Callable<Integer> {
    @Option(names = "--algo", defaultValue = "scop", description = "scop (default: ${DEFAULT-VALUE})")
    String algo;

    @Option(names = "--prune-rate", defaultValue = "0.45", description = "fraction of channels removed per group, in [0, 1) (default: ${DEFAULT-VALUE})")
    double pruneRate;

    @Mixin
    RecipeOptions recipe;

    @Mixin
    OnnxModelOption onnx;

    @Option(names = "--model", defaultValue = "resnet20", description = "lenet | resnet8 | resnet20 (default: ${DEFAULT-VALUE})")
    String model;

    @Option(names = "--kf-epochs", defaultValue = "1", description = "knockoff epochs (default: ${DEFAULT-VALUE})")
    int kfEpochs;

    @Option(names = "--ft-epochs", description = "fine-tuning epochs after removal (default: half the recipe's, at least 2)")
    Integer ftEpochs;

    @Option(names = "--ft-lr-scale", defaultValue = "0.2", description = "fine-tuning learning rate as a fraction of the recipe's (default: ${DEFAULT-VALUE})")
    double ftLrScale;

    @Option(names = "--from", description = "start from this FP32 checkpoint instead of training")
    Path from;

    @Option(names = "--out", defaultValue = "runs/prune", description = "output folder (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--bench-seconds", defaultValue = "2", description = "seconds spent measuring each network's inference speed (0 = skip)")
    double benchSeconds;

    @Option(names = "--json", description = "print one JSON object instead of text")
    boolean json;

    @Mixin
    ReportOption report;

    /** The {@code --json} object: the shared compression keys plus parameters and MACs (multiply-accumulates) before and after. */
    record PruneJson(@JsonUnwrapped CompressionJson result, double pruneRate, double compressedAccuracyBeforeFinetune, long paramsBefore, long paramsAfter,
                     long macsBefore, long macsAfter, double paramsReduction, double macsReduction, List<String> skipped, int epochs, int kfEpochs,
                     int ftEpochs, Map<String, String> nullReasons) {}

    @Override
    public Integer call() throws Exception {
        if (!algo.equalsIgnoreCase("scop")) throw new IllegalArgumentException("unknown --algo '" + algo + "'; choose one of [scop]");
        new PrunerFtCompressAlgo(pruneRate);  // a bad rate fails before training
        report.check();
        Recipes.Spec spec = recipe.spec(onnx.recipeModel(model));
        String name = onnx.name(spec.model());
        ScopWorkflow.Options d = ScopWorkflow.Options.defaults(spec, pruneRate, out);
        ScopWorkflow.Options o = new ScopWorkflow.Options(spec, pruneRate, kfEpochs, d.kfLr(), ftEpochs != null ? ftEpochs : d.ftEpochs(), ftLrScale, from, out,
                benchSeconds);
        AtomicFiles.checkFolderTarget(out, AtomicFiles.Existing.REPLACE, "--out");
        if (from != null && !java.nio.file.Files.isRegularFile(from)) throw new IllegalArgumentException("--from " + from + ": no such checkpoint file");
        Recipes.Data data = recipe.data(spec); // an image folder is read and checked before any training
        String dataset = data.name(spec);
        o = o.withNetwork(onnx.network(data));  // a bad ONNX file fails here, before any work
        if (!json) System.err.printf(Locale.ROOT, "prune: SCOP %s on %s at prune_rate %.2f, %d threads%n", name, dataset, pruneRate, Parallel.threads());
        ScopWorkflow.Result r = ScopWorkflow.run(o, data, CliProgress.of(json));
        OnnxRuntimeCheck.Result ort = OnnxRuntimeCheck.run(r.onnx(), r.testInputs(), r.testLabels(), r.prunedPredictions());
        if (report.wanted()) report.write(org.goldenstick.cli.report.Reports.prune(name, spec, pruneRate, r, ort.accuracy()));
        ModelStats b = r.before(), a = r.after();
        var why = new Json.Reasons();
        CompressionJson c = CompressionJson.of("scop", name, dataset, r.fp32Accuracy(), r.prunedAccuracy(), ort,
                java.nio.file.Files.size(r.fp32Checkpoint()), java.nio.file.Files.size(r.prunedCheckpoint()), r.prunedCheckpoint(), r.onnx(), r.fp32Checkpoint(),
                r.imagesPerSecondBefore(), r.imagesPerSecondAfter(), r.testLabels().length, Parallel.threads(), why);
        if (json) {
            Json.print(new PruneJson(c, pruneRate, r.accuracyBeforeFineTune(), b.params(), a.params(), b.macs(), a.macs(), 1 - a.params() / (double) b.params(),
                    1 - a.macs() / (double) b.macs(), r.skipped().stream().map(Object::toString).toList(), this.onnx.given() ? 0 : spec.epochs(), o.kfEpochs(), o.ftEpochs(), why.map()));
        } else {
            System.out.printf(Locale.ROOT, "%-28s %12s %12s %14s %14s%n", "layer", "params", "params'", "MACs", "MACs'");
            for (int i = 0; i < b.layers().size(); i++) {
                ModelStats.Layer lb = b.layers().get(i), la = a.layers().get(i);
                System.out.printf(Locale.ROOT, "%-28s %,12d %,12d %,14d %,14d%n", lb.path(), lb.params(), la.params(), lb.macs(), la.macs());
            }
            System.out.printf(Locale.ROOT, "total params %,d -> %,d (-%.1f%%), MACs %,d -> %,d (-%.1f%%)%n", b.params(), a.params(),
                    100 * (1 - a.params() / (double) b.params()), b.macs(), a.macs(), 100 * (1 - a.macs() / (double) b.macs()));
            System.out.printf(Locale.ROOT, "accuracy: FP32 %.2f%%, pruned %.2f%% (before fine-tuning %.2f%%)%n", 100 * r.fp32Accuracy(), 100 * r.prunedAccuracy(),
                    100 * r.accuracyBeforeFineTune());
            if (benchSeconds > 0) {
                System.out.printf(Locale.ROOT, "inference on this engine: unpruned %.0f images/s, pruned %.0f images/s (x%.2f)%n", r.imagesPerSecondBefore(),
                        r.imagesPerSecondAfter(), r.imagesPerSecondAfter() / r.imagesPerSecondBefore());
            }
            System.out.printf(Locale.ROOT, "ONNX Runtime on the exported pruned network: accuracy %.2f%%, top-1 agreement with ours %.2f%%%n", 100 * ort.accuracy(),
                    100 * ort.agreement());
            System.out.println("written: " + r.fp32Checkpoint() + ", " + r.prunedCheckpoint() + ", " + r.onnx());
        }
        return 0;
    }
}
