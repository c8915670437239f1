package org.goldenstick.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Function;
import org.goldenstick.qat.QatWorkflow;
import org.goldenstick.qat.SimQAT;
import org.goldenstick.qat.SimQATConfig;
import org.goldenstick.rewrite.CompAlgo;
import org.goldenstick.tensor.kernel.Parallel;
import org.goldenstick.train.ProgressBar;
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

    @Option(names = "--weight-bits", defaultValue = "1", description = "SLB: weight bits 1 | 2 | 4 (default: ${DEFAULT-VALUE})")
    int weightBits;

    @Option(names = "--classifier-bits", defaultValue = "8", description = "SLB: the classifier's weight bits, 8 (int8) | 4 | 2 | 1 (default: ${DEFAULT-VALUE})")
    int classifierBits;

    @Option(names = "--act-bits", description = "SLB: 8 to fake-quantize activations to 8 bits (default: float activations)")
    Integer actBits;

    @Option(names = "--t-factor", defaultValue = "3.2", description = "SLB: temperature factor per epoch (default: ${DEFAULT-VALUE}, upstream's LeNet test value)")
    double tFactor;

    @Mixin
    RecipeOptions recipe;

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

    @Option(names = "--quant-delay", defaultValue = "0", description = "SimQAT: training steps before fake quantization starts (default: ${DEFAULT-VALUE})")
    int quantDelay;

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
        return switch (algo.toLowerCase(Locale.ROOT)) {
            case "simqat" -> spec -> {
                boolean resnet = spec.model().startsWith("resnet");
                Map<String, Object> cfg = new LinkedHashMap<>();
                cfg.put("quant_delay", quantDelay);
                if (resnet && !noFusion) {
                    cfg.put("enable_fusion", true);
                    cfg.put("bn_fold", true);
                }
                return new SimQAT(cfg).log(json ? null : System.err);
            };
            case "slb" -> spec -> {
                if (weightBits != 1 && weightBits != 2 && weightBits != 4) throw new IllegalArgumentException("--weight-bits must be 1, 2 or 4, got " + weightBits);
                if (classifierBits != 8 && classifierBits != 4 && classifierBits != 2 && classifierBits != 1) {
                    throw new IllegalArgumentException("--classifier-bits must be 8, 4, 2 or 1, got " + classifierBits);
                }
                if (actBits != null && actBits != 8) throw new IllegalArgumentException("--act-bits must be 8 (or left out for float activations), got " + actBits);
                Map<String, Object> cfg = new LinkedHashMap<>();
                cfg.put("classifier_quant_dtype", "INT" + classifierBits);
                cfg.put("quant_dtype", List.of(actBits == null ? "INT8" : "INT" + actBits, "INT" + weightBits));
                cfg.put("enable_act_quant", actBits != null);
                cfg.put("enable_bn_calibration", spec.model().startsWith("resnet"));
                cfg.put("epoch_size", qatEpochs != null ? qatEpochs : QatWorkflow.Options.defaults(spec.model(), spec.dataset(), out).qatEpochs());
                cfg.put("has_trained_epoch", 0);
                cfg.put("t_start_time", 0.0); // short fine-tunes: sharpen from the first epoch, hard argmax in the last
                cfg.put("t_end_time", 1.0);
                cfg.put("t_factor", tFactor);
                return new org.goldenstick.qat.slb.SlbQuantAwareTraining(cfg).log(json ? null : System.err);
            };
            default -> throw new IllegalArgumentException("unknown --algo '" + algo + "'; choose one of [simqat, slb]");
        };
    }

    @Override
    public Integer call() throws Exception {
        report.check();
        Recipes.Spec spec = recipe.spec(model);
        QatWorkflow.Options opts = QatWorkflow.Options.defaults(spec.model(), spec.dataset(), out).withFp32(spec).withBenchSeconds(benchSeconds)
                .withFrom(from);
        if (qatEpochs != null) opts = opts.withQatEpochs(qatEpochs);
        opts = new QatWorkflow.Options(opts.fp32(), opts.qatEpochs(), qatLrScale, opts.from(), opts.outDir(), opts.benchSeconds());
        Function<Recipes.Spec, CompAlgo> factory = algorithm();
        factory.apply(spec); // validate the configuration before any training
        if (!json) System.err.printf(Locale.ROOT, "qat: %s on %s with %s, %d threads%n", spec.model(), spec.dataset(), algo, Parallel.threads());
        var log = json ? new java.io.PrintStream(java.io.OutputStream.nullOutputStream()) : System.err;
        QatWorkflow.Result r = QatWorkflow.run(opts, factory, ProgressBar.auto(json), log);
        Path onnx = r.exported(".onnx");
        OnnxRuntimeCheck.Result ort = OnnxRuntimeCheck.run(onnx, r.testInputs(), r.testLabels(), r.deployPredictions());
        if (report.wanted()) report.write(org.goldenstick.cli.report.Reports.qat(algo, spec, r, opts.qatEpochs(), ort.accuracy()));
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("algo", algo);
        j.put("model", spec.model());
        j.put("dataset", spec.dataset());
        if (algo.equalsIgnoreCase("slb")) {
            j.put("weight_bits", weightBits);
            j.put("classifier_bits", classifierBits);
        }
        j.put("fp32_accuracy", r.fp32Accuracy());
        j.put("fake_quant_accuracy", r.fakeQuantAccuracy());
        j.put("quant_accuracy", r.quantAccuracy());
        j.put("accuracy_drop_points", 100 * (r.fp32Accuracy() - r.quantAccuracy()));
        j.put("fp32_bytes", r.fp32Bytes());
        j.put("deploy_bytes", r.deployBytes());
        j.put("deploy_ratio", r.deployBytes() / (double) r.fp32Bytes());
        j.put("fp32_checkpoint", r.fp32Checkpoint().toString());
        j.put("deploy_path", r.exported(".safetensors").toString());
        j.put("onnx_path", onnx.toString());
        j.put("onnx_runtime_accuracy", ort.accuracy());
        j.put("onnx_agreement", ort.agreement());
        j.put("fp32_images_per_second", r.fp32ImagesPerSecond());
        j.put("int8_images_per_second", r.deployImagesPerSecond());
        j.put("int8_speedup", r.fp32ImagesPerSecond() > 0 ? r.deployImagesPerSecond() / r.fp32ImagesPerSecond() : Double.NaN);
        j.put("test_samples", r.testLabels().length);
        j.put("epochs", spec.epochs());
        j.put("qat_epochs", opts.qatEpochs());
        j.put("threads", Parallel.threads());
        if (json) {
            System.out.println(new ObjectMapper().writeValueAsString(j));
        } else {
            // the JSON keys keep SimQAT's names for both algorithms; the text names what the deploy network really is
            String deploy = algo.equalsIgnoreCase("slb")
                    ? "W" + weightBits + (actBits != null ? "A" + actBits : "") + " packed (classifier " + (classifierBits == 8 ? "int8" : classifierBits + "-bit") + ")"
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
