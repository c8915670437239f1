package org.goldenstick.cli;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Function;
import org.goldenstick.formats.AtomicFiles;
import org.goldenstick.qat.QatWorkflow;
import org.goldenstick.qat.SimQAT;
import org.goldenstick.qat.SimQATConfig;
import org.goldenstick.rewrite.CompAlgo;
import org.goldenstick.tensor.kernel.Parallel;
import org.goldenstick.train.Recipes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code gstick qat}: quantization-aware training end to end ({@link QatWorkflow}): FP32 training (or
 * {@code --from} a checkpoint), apply the algorithm, fine-tune, convert to int8, export safetensors + ONNX (QDQ),
 * evaluate FP32, int8 and the ONNX file in ONNX Runtime, and measure FP32 vs int8 inference images/s on our engine
 * in the same run. {@code --json} prints exactly one JSON object on stdout.
 */
@Command(name = "qat", mixinStandardHelpOptions = true,
        description = "Quantization-aware training: train FP32, apply the algorithm, fine-tune, convert to int8, export ONNX, evaluate and benchmark.")
public final class QatCommand implements Callable<Integer> {
    @Option(names = "--algo", defaultValue = "simqat", description = "simqat | slb (default: ${DEFAULT-VALUE})")
    String algo;

    @Option(names = "--weight-bits", description = "SLB: weight bits 1 | 2 | 4 (default: 1)")
    Integer weightBits;

    @Option(names = "--classifier-bits", defaultValue = "8", description = "SLB: the classifier's weight bits, 8 (int8) | 4 | 2 | 1 (default: ${DEFAULT-VALUE})")
    int classifierBits;

    @Option(names = "--act-bits", description = "SLB: 8 to fake-quantize activations to 8 bits (default: float activations)")
    Integer actBits;

    @Option(names = "--t-factor", description = "SLB: temperature factor per epoch (default: 3.2, upstream's LeNet test value)")
    Double tFactor;

    @Mixin
    RecipeOptions recipe;

    @Mixin
    OnnxModelOption onnx;

    @Option(names = "--model", defaultValue = "lenet", description = "lenet | resnet8 | resnet20 (default: ${DEFAULT-VALUE})")
    String model;

    @Option(names = "--qat-epochs", description = "fine-tuning epochs after apply (default: a quarter of the recipe's, at least 2)")
    Integer qatEpochs;

    @Option(names = "--qat-lr-scale", defaultValue = "0.1", description = "fine-tuning learning rate as a fraction of the recipe's (default: ${DEFAULT-VALUE})")
    double qatLrScale;

    @Option(names = "--from", description = "start from this FP32 checkpoint (safetensors from gstick train --out) instead of training")
    Path from;

    @Option(names = "--out", defaultValue = "runs/qat", description = "output folder (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--quant-delay", description = "SimQAT: training steps before fake quantization starts (default: 0)")
    Integer quantDelay;

    @Option(names = "--no-fusion", description = "SimQAT: do not fuse Conv2d+BatchNorm2d (by default ResNets are fused and BN-folded)")
    boolean noFusion;

    @Option(names = "--bench-seconds", defaultValue = "2", description = "seconds spent measuring each network's inference speed (0 = skip; default: ${DEFAULT-VALUE})")
    double benchSeconds;

    @Option(names = "--json", description = "print one JSON object instead of text (progress stays quiet)")
    boolean json;

    @Mixin
    ReportOption report;

    /** The algorithm for {@code --algo}; built before training so a bad configuration fails first. */
    Function<Recipes.Spec, CompAlgo> algorithm() {
        String a = algo.toLowerCase(Locale.ROOT);
        // an option of the other algorithm would be ignored silently: reject it instead
        if (a.equals("simqat") && (weightBits != null || actBits != null || tFactor != null)) {
            throw new IllegalArgumentException("--weight-bits, --act-bits and --t-factor apply to --algo slb only");
        }
        if (a.equals("slb") && (quantDelay != null || noFusion)) throw new IllegalArgumentException("--quant-delay and --no-fusion apply to --algo simqat only");
        int wb = weightBits == null ? 1 : weightBits;
        return switch (a) {
            case "simqat" -> spec -> {
                // ResNets and imported networks (conv → BN as exported) fuse; the graph finds the pairs
                boolean fuse = spec.model().startsWith("resnet") || onnx.given();
                Map<String, Object> cfg = new LinkedHashMap<>();
                cfg.put("quant_delay", quantDelay == null ? 0 : quantDelay);
                if (fuse && !noFusion) {
                    cfg.put("enable_fusion", true);
                    cfg.put("bn_fold", true);
                }
                return new SimQAT(cfg);
            };
            case "slb" -> spec -> {
                if (wb != 1 && wb != 2 && wb != 4) throw new IllegalArgumentException("--weight-bits must be 1, 2 or 4, got " + wb);
                if (classifierBits != 8 && classifierBits != 4 && classifierBits != 2 && classifierBits != 1) {
                    throw new IllegalArgumentException("--classifier-bits must be 8, 4, 2 or 1, got " + classifierBits);
                }
                if (actBits != null && actBits != 8) throw new IllegalArgumentException("--act-bits must be 8 (or left out for float activations), got " + actBits);
                Map<String, Object> cfg = new LinkedHashMap<>();
                cfg.put("classifier_quant_dtype", "INT" + classifierBits);
                cfg.put("quant_dtype", List.of(actBits == null ? "INT8" : "INT" + actBits, "INT" + wb));
                cfg.put("enable_act_quant", actBits != null);
                cfg.put("enable_bn_calibration", spec.model().startsWith("resnet") || onnx.given());
                cfg.put("epoch_size", qatEpochs != null ? qatEpochs : QatWorkflow.Options.defaults(spec.model(), spec.dataset(), out).qatEpochs());
                cfg.put("has_trained_epoch", 0);
                cfg.put("t_start_time", 0.0); // short fine-tunes: sharpen from the first epoch, hard argmax in the last
                cfg.put("t_end_time", 1.0);
                cfg.put("t_factor", tFactor == null ? 3.2 : tFactor);
                return new org.goldenstick.qat.slb.SlbQuantAwareTraining(cfg);
            };
            default -> throw new IllegalArgumentException("unknown --algo '" + algo + "'; choose one of [simqat, slb]");
        };
    }

    /**
     * The {@code --json} object: the shared compression keys plus the widths and the fake-quant accuracy.
     *
     * @param actBits activation bits, or null for float activations (SLB without {@code --act-bits})
     */
    record QatJson(@JsonUnwrapped CompressionJson result, int weightBits, Integer actBits, int classifierBits, double fakeQuantAccuracy, int epochs, int qatEpochs,
                   Map<String, String> nullReasons) {}

    @Override
    public Integer call() throws Exception {
        report.check();
        Recipes.Spec spec = recipe.spec(onnx.recipeModel(model));
        String name = onnx.name(spec.model());
        QatWorkflow.Options opts = QatWorkflow.Options.defaults(spec.model(), spec.dataset(), out).withFp32(spec).withBenchSeconds(benchSeconds)
                .withFrom(from);
        if (qatEpochs != null) opts = opts.withQatEpochs(qatEpochs);
        opts = new QatWorkflow.Options(opts.fp32(), opts.qatEpochs(), qatLrScale, opts.from(), opts.outDir(), opts.benchSeconds());
        Function<Recipes.Spec, CompAlgo> factory = algorithm();
        factory.apply(spec); // validate the configuration before any training
        AtomicFiles.checkFolderTarget(out, AtomicFiles.Existing.REPLACE, "--out");
        if (from != null && !java.nio.file.Files.isRegularFile(from)) throw new IllegalArgumentException("--from " + from + ": no such checkpoint file");
        Recipes.Data data = recipe.data(spec); // an image folder is read and checked before any training
        String dataset = data.name(spec);
        opts = opts.withNetwork(onnx.network(data));  // a bad ONNX file fails here, before any work
        if (!json) System.err.printf(Locale.ROOT, "qat: %s on %s with %s, %d threads%n", name, dataset, algo, Parallel.threads());
        QatWorkflow.Result r = QatWorkflow.run(opts, data, factory, CliProgress.of(json));
        Path onnx = r.exported(".onnx");
        OnnxRuntimeCheck.Result ort = OnnxRuntimeCheck.run(onnx, r.testInputs(), r.testLabels(), r.deployPredictions());
        if (report.wanted()) report.write(org.goldenstick.cli.report.Reports.qat(algo, name, spec, r, opts.qatEpochs(), ort.accuracy()));
        var why = new Json.Reasons();
        CompressionJson c = CompressionJson.of(algo.toLowerCase(Locale.ROOT), name, dataset, r.fp32Accuracy(), r.quantAccuracy(), ort,
                r.fp32Bytes(), r.deployBytes(), r.exported(".safetensors"), onnx, r.fp32Checkpoint(), r.fp32ImagesPerSecond(), r.deployImagesPerSecond(),
                r.testLabels().length, Parallel.threads(), why);
        boolean slb = algo.equalsIgnoreCase("slb");
        if (json) {
            Integer acts = slb ? why.present("act_bits", actBits, "float activations (no --act-bits)") : Integer.valueOf(8);
            Json.print(new QatJson(c, slb ? (weightBits == null ? 1 : weightBits) : 8, acts, slb ? classifierBits : 8, r.fakeQuantAccuracy(), this.onnx.given() ? 0 : spec.epochs(), opts.qatEpochs(), why.map()));
        } else {
            String deploy = slb
                    ? "W" + (weightBits == null ? 1 : weightBits) + (actBits != null ? "A" + actBits : "") + " packed (classifier " + (classifierBits == 8 ? "int8" : classifierBits + "-bit") + ")"
                    : "int8";
            System.out.printf(Locale.ROOT, "FP32 accuracy %.2f%%, %s accuracy %.2f%% (fake-quant %.2f%%), ONNX Runtime %.2f%% (agreement %.2f%%)%n",
                    100 * r.fp32Accuracy(), deploy, 100 * r.quantAccuracy(), 100 * r.fakeQuantAccuracy(), 100 * ort.accuracy(), 100 * ort.agreement());
            System.out.printf(Locale.ROOT, "size: FP32 checkpoint %,d bytes, %s deploy %,d bytes (%.1f%%)%n", r.fp32Bytes(), deploy, r.deployBytes(),
                    100.0 * r.deployBytes() / r.fp32Bytes());
            if (benchSeconds > 0) {
                System.out.printf(Locale.ROOT, "inference on this engine: FP32 %.0f images/s, %s %.0f images/s (x%.2f)%n", r.fp32ImagesPerSecond(), deploy,
                        r.deployImagesPerSecond(), r.deployImagesPerSecond() / r.fp32ImagesPerSecond());
            }
            System.out.println("written: " + r.fp32Checkpoint() + ", " + List.copyOf(r.exported()));
        }
        return 0;
    }
}
