package org.goldenstick.cli.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;
import org.goldenstick.cli.Json;
import org.goldenstick.data.Batch;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.models.LeNet5;
import org.goldenstick.nn.models.MobileNetV2;
import org.goldenstick.nn.models.ResNet;
import org.goldenstick.importer.OnnxImport;
import org.goldenstick.qat.SimQAT;
import org.goldenstick.quant.OnnxQdqExporter;
import org.goldenstick.qat.SimQATConfig;
import org.goldenstick.tensor.StepBuffers;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.Parallel;
import org.goldenstick.train.Inference;
import org.goldenstick.train.LossFunction;
import org.goldenstick.train.SGD;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code gstick bench train}: the speed of one training step (forward, cross-entropy, backward, SGD with momentum) of
 * the built-in CNNs in FP32 and under SimQAT fake quantization, measured in alternating rounds, and the inference speed
 * of the FP32 network against its int8 deploy network and against ONNX Runtime on that network's QDQ export
 * ({@link OrtClassifier}), in the same interleaved rounds. {@code scripts/bench-train-peer.sh} runs PyTorch's step on the
 * same architectures beside it and prints the ratios.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Training-step speed of LeNet-5, ResNet-20 and a MobileNetV2-style network, FP32 and SimQAT.",
                "Steps alternate between FP32 and SimQAT; then FP32 vs int8 deploy inference. PyTorch beside it: scripts/bench-train-peer.sh."})
public final class TrainBench implements Callable<Integer> {
    @Option(names = "--models", description = "Comma-separated: lenet, resnet20, mobilenetv2 (default: ${DEFAULT-VALUE}).")
    String models = "lenet,resnet20,mobilenetv2";

    @Option(names = "--inputs", description = "Comma-separated input shapes CxHxW (default: ${DEFAULT-VALUE}).")
    String inputs = "1x28x28,3x32x32";

    @Option(names = "--batch", description = "Batch size (default: 64 for lenet, 128 for the others).")
    Integer batch;

    @Option(names = "--threads", description = "Threads (default: ${DEFAULT-VALUE}).")
    int threads = 2;

    @Option(names = "--seconds", description = "Measuring time per network and mode (default: ${DEFAULT-VALUE}).")
    double seconds = 6;

    @Option(names = "--warmup", description = "Training steps before timing, per network, in seconds (default: ${DEFAULT-VALUE}).")
    double warmup = 2;

    @Option(names = "--rounds", description = "Alternating rounds of FP32 and SimQAT steps; the median round counts (default: ${DEFAULT-VALUE}).")
    int rounds = 3;

    @Option(names = "--via-onnx", description = "Also measure each network after a round trip through a float ONNX file (our export, then importer.OnnxImport): rows named MODEL-onnx.")
    boolean viaOnnx;

    @Option(names = "--json", description = "Print one JSON object instead of a table.")
    boolean json;

    record TrainJson(String bench, int threads, List<Case> cases) {
        record Case(String model, String input, int batch, long parameters, double fp32TrainImagesPerSecond, double simqatTrainImagesPerSecond,
                    double simqatStepCost, double fp32InferImagesPerSecond, double int8InferImagesPerSecond, double int8Speedup,
                    double ortInt8InferImagesPerSecond, double ortInt8Speedup) {}
    }

    /** The network a bench name stands for, with the input's channels and 10 classes. */
    static Module network(String name, int channels, int size, Random rng) {
        return switch (name) {
            case "lenet" -> new LeNet5(channels, size, 10, rng);
            case "resnet20" -> ResNet.resnet20(channels, 10, 16, rng);
            case "mobilenetv2" -> new MobileNetV2(channels, 10, rng);
            default -> throw new IllegalArgumentException("--models: unknown model '" + name + "' (lenet, resnet20, mobilenetv2)");
        };
    }

    static int[] shape(String s) {
        String[] p = s.toLowerCase(Locale.ROOT).split("x");
        try {
            if (p.length == 3) {
                int[] out = {Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2])};
                if (out[0] > 0 && out[1] >= 8 && out[1] == out[2]) return out;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException("--inputs: expected square shapes CxHxW with H = W >= 8, e.g. 1x28x28, got '" + s + "'");
    }

    @Override
    public Integer call() throws Exception {
        if (threads < 1) throw new IllegalArgumentException("--threads must be >= 1, got " + threads);
        if (!(seconds > 0) || rounds < 1 || warmup < 0) throw new IllegalArgumentException("--seconds must be > 0, --warmup >= 0 and --rounds >= 1");
        List<int[]> shapes = Arrays.stream(inputs.split(",")).map(String::trim).filter(s -> !s.isEmpty()).map(TrainBench::shape).toList();
        List<String> names = Arrays.stream(models.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
        for (String n : names) network(n, 1, 28, new Random(0)); // unknown names fail before any work
        int before = Parallel.threads();
        Parallel.setThreads(threads);
        List<TrainJson.Case> rows = new ArrayList<>();
        try {
            for (String name : names) {
                for (int[] sh : shapes) {
                    int b = batch != null ? batch : name.equals("lenet") ? 64 : 128;
                    if (!json) System.err.printf(Locale.ROOT, "bench train: %s %dx%dx%d batch %d...%n", name, sh[0], sh[1], sh[2], b);
                    rows.add(measure(name, () -> network(name, sh[0], sh[1], new Random(1)), sh, b));
                    if (!json) System.err.println("bench train: " + format(rows.getLast())); // a long run that is cut short keeps its rows
                    if (viaOnnx) {
                        if (!json) System.err.printf(Locale.ROOT, "bench train: %s-onnx (float ONNX export, imported)...%n", name);
                        Path dir = Files.createTempDirectory("gstick-bench-import");
                        try {
                            Path file = dir.resolve(name + ".onnx");
                            OnnxQdqExporter.export(network(name, sh[0], sh[1], new Random(1)), sh, file);
                            rows.add(measure(name + "-onnx", () -> {
                                try {
                                    return OnnxImport.load(file).module();
                                } catch (java.io.IOException e) {
                                    throw new java.io.UncheckedIOException(e);
                                }
                            }, sh, b));
                            if (!json) System.err.println("bench train: " + format(rows.getLast()));
                        } finally {
                            deleteTree(dir);
                        }
                    }
                }
            }
        } finally {
            Parallel.setThreads(before);
        }
        if (json) {
            Json.print(new TrainJson("train", threads, rows));
        } else {
            System.out.printf(Locale.ROOT, "%-12s %-8s %5s %9s %12s %12s %8s %12s %12s %8s %12s %8s%n", "model", "input", "batch", "params", "fp32 img/s", "simqat img/s",
                    "cost", "infer fp32", "infer int8", "int8 x", "ort int8", "ort x");
            for (var r : rows) System.out.println(format(r));
            System.out.println("threads " + threads + "; cost = SimQAT step time / FP32 step time; int8 x = int8 deploy images/s / FP32 images/s;"
                    + " ort int8 = ONNX Runtime on our QDQ export of the int8 network, ort x = its images/s / our FP32 images/s (same interleaved rounds)");
        }
        return 0;
    }

    private static String format(TrainJson.Case r) {
        return String.format(Locale.ROOT, "%-12s %-8s %5d %9d %12.0f %12.0f %8.2f %12.0f %12.0f %8.2f %12.0f %8.2f", r.model(), r.input(), r.batch(), r.parameters(),
                r.fp32TrainImagesPerSecond(), r.simqatTrainImagesPerSecond(), r.simqatStepCost(), r.fp32InferImagesPerSecond(),
                r.int8InferImagesPerSecond(), r.int8Speedup(), r.ortInt8InferImagesPerSecond(), r.ortInt8Speedup());
    }

    /** One row: {@code make} gives the same network (same weights) on every call. */
    private TrainJson.Case measure(String name, java.util.function.Supplier<Module> make, int[] sh, int b) throws Exception {
        Random rng = new Random(42);
        Module fp32 = make.get();
        Module q = make.get();
        SimQAT algo = new SimQAT(SimQATConfig.defaults().withEnableFusion(true));
        q = algo.apply(q, org.goldenstick.rewrite.ApplyOptions.of(java.util.Map.of("input_shape", sh)));
        Tensor x = Tensor.randn(rng, b, sh[0], sh[1], sh[2]);
        int[] labels = rng.ints(b, 0, 10).toArray();
        Batch batchData = new Batch(x, labels);
        Step f = new Step(fp32, batchData), s = new Step(q, batchData);
        f.secondsPerStep(warmup); // before timing: optimizer state, and the JIT's compiled code
        s.secondsPerStep(warmup);
        double[] fr = new double[rounds], sr = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            fr[r] = b / f.secondsPerStep(seconds / rounds);
            sr[r] = b / s.secondsPerStep(seconds / rounds);
        }
        double fTrain = median(fr), sTrain = median(sr);
        Module deploy = algo.convert(q);
        Tensor test = Tensor.randn(rng, Inference.BATCH, sh[0], sh[1], sh[2]);
        double[] ips;
        Path dir = Files.createTempDirectory("gstick-bench-train");
        try {
            Path onnx = algo.exportDeployModel(deploy, dir.resolve(name + "-int8"), sh).get(1);
            try (OrtClassifier ort = new OrtClassifier(onnx, threads)) {
                // ours and ONNX Runtime in the same interleaved rounds, so load changes hit all three alike
                ips = Inference.compareImagesPerSecond(List.of(fp32, deploy, ort), test, 3 * seconds);
            }
        } finally {
            deleteTree(dir);
        }
        long params = 0;
        for (Tensor p : fp32.parameters()) params += p.numel();
        return new TrainJson.Case(name, sh[0] + "x" + sh[1] + "x" + sh[2], b, params, fTrain, sTrain, fTrain / sTrain, ips[0], ips[1], ips[1] / ips[0],
                ips[2], ips[2] / ips[0]);
    }

    /** Deletes a temporary folder of files. */
    private static void deleteTree(Path dir) throws java.io.IOException {
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) Files.deleteIfExists(f);
        }
        Files.deleteIfExists(dir);
    }

    private static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        return c[c.length / 2];
    }

    /** One training step of a network on a fixed batch, as {@code Trainer} takes it. */
    private static final class Step {
        private final Module net;
        private final Batch batch;
        private final SGD opt;
        private final LossFunction loss = LossFunction.crossEntropy();
        private final StepBuffers buffers = new StepBuffers(); // as Trainer: each step reuses the previous one's arrays

        Step(Module net, Batch batch) {
            this.net = net;
            this.batch = batch;
            net.train();
            this.opt = new SGD(net.parameters(), new SGD.Options(0.01, 0.9, 0, 5e-4, true));
        }

        void run() {
            try (StepBuffers.Step ignored = buffers.open()) {
                opt.zeroGrad();
                net.zeroGrad();
                Tensor l = loss.compute(net.forward(batch.inputs()), batch);
                l.backward();
                opt.step();
            }
        }

        /** Steps for about {@code budget} seconds (at least two); seconds per step. */
        double secondsPerStep(double budget) {
            long t0 = System.nanoTime();
            int steps = 0;
            do {
                run();
                steps++;
            } while (steps < 2 || System.nanoTime() - t0 < budget * 1e9);
            return (System.nanoTime() - t0) / 1e9 / steps;
        }
    }
}
