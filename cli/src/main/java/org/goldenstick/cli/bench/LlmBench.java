package org.goldenstick.cli.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.goldenstick.cli.Json;
import org.goldenstick.data.DataPaths;
import org.goldenstick.llm.LlamaConfig;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.llm.LlamaSession;
import org.goldenstick.tensor.kernel.MemoryBandwidth;
import org.goldenstick.tensor.kernel.Parallel;
import org.goldenstick.tensor.kernel.W8A8BlockKernels;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code gstick bench llm}: prefill and decode tokens/s of the demo model and of a synthetic ~1 B-parameter
 * Llama with random f32 weights, beside the memory bandwidth measured in the same run. Decode reads every
 * weight once per token, so {@code weight bytes × tokens/s} over the bandwidth says how close it is to the
 * memory-bound ceiling.
 */
@Command(name = "llm", mixinStandardHelpOptions = true,
        description = {"Llama prefill/decode tokens/s (demo model + synthetic ~1B f32 model) and decode GB/s vs memory bandwidth.",
                "--model takes a float or quantized model folder or a GGUF file. Decode of 4-bit pack-quantized folders runs int8-block activations by default"
                        + " (-Dgstick.int8-activations=auto); =decode (GSTICK_JAVA_OPTS) adds 8-bit weights and GGUF Q8_0/Q4_0, =off keeps float activations."})
public final class LlmBench implements Runnable {
    @Option(names = "--model", description = {"Model folder or .gguf file to bench besides the synthetic one (default: models/gstick-llama-demo if present);",
            "repeatable: several models are all loaded and their decode runs in alternating rounds, so that all see the same machine"})
    List<Path> model;
    @Option(names = "--no-synthetic", description = "Skip the synthetic model.")
    boolean noSynthetic;
    @Option(names = "--hidden", description = "Synthetic hidden size (default: ${DEFAULT-VALUE}).")
    int hidden = 2048;
    @Option(names = "--layers", description = "Synthetic layer count (default: ${DEFAULT-VALUE}).")
    int layers = 16;
    @Option(names = "--intermediate", description = "Synthetic MLP size (default: ${DEFAULT-VALUE}).")
    int intermediate = 5632;
    @Option(names = "--heads", description = "Synthetic attention heads (default: ${DEFAULT-VALUE}).")
    int heads = 32;
    @Option(names = "--kv-heads", description = "Synthetic key/value heads (default: ${DEFAULT-VALUE}).")
    int kvHeads = 32;
    @Option(names = "--vocab", description = "Synthetic vocabulary (default: ${DEFAULT-VALUE}).")
    int vocab = 32000;
    @Option(names = "--prompt", description = "Prefill length in tokens (default: ${DEFAULT-VALUE}).")
    int prompt = 128;
    @Option(names = "--seconds", description = "Measuring time per phase (default: ${DEFAULT-VALUE}).")
    double seconds = 5;
    @Option(names = "--rounds", description = "Alternating decode rounds; the medians over them are reported (default: ${DEFAULT-VALUE}).")
    int rounds = 3;
    @Option(names = "--json", description = "Print JSON instead of a table.")
    boolean json;
    @Option(names = "--save-synthetic", description = "Write the synthetic model (f32, with the demo model's tokenizer files) as a model folder DIR and exit, "
            + "e.g. to export it to GGUF for llama-bench (scripts/llama-cpp-peer.sh bench).")
    Path saveSynthetic;

    record Row(String name, long parameters, long weightBytesPerToken, int promptTokens, double prefillTokensPerSecond,
               double decodeTokensPerSecond, double decodeGbPerSecond, double memoryBandwidthGbPerSecond, Double decodeTokensPerCpuSecond) {
        double bandwidthFraction() {
            return decodeGbPerSecond / memoryBandwidthGbPerSecond;
        }
    }

    /**
     * The {@code --json} object: one entry per model; {@code bandwidth_fraction} is decode GB/s over memory GB/s;
     * {@code int8_activations} the {@link W8A8BlockKernels.Mode} int8 weights ran with (off = W8A16);
     * {@code decode_tokens_per_cpu_second} decode tokens per CPU-second of the calling thread (1 thread only, else null:
     * on a shared machine it excludes the time spent waiting for a core).
     */
    record LlmJson(String bench, int threads, String int8Activations, List<Model> models) {
        record Model(String name, long parameters, long weightBytesPerToken, int promptTokens, double prefillTokensPerSecond,
                     double decodeTokensPerSecond, double decodeGbPerS, double memoryBandwidthGbPerS, double bandwidthFraction, Double decodeTokensPerCpuSecond) {}
    }

    @Override
    public void run() {
        int threads = Parallel.threads();
        if (rounds < 1) throw new IllegalArgumentException("--rounds must be >= 1, got " + rounds);
        if (saveSynthetic != null) {
            saveSynthetic();
            return;
        }
        List<Prepared> models = new ArrayList<>();
        for (Path demo : model != null ? model : List.of(DataPaths.root().resolve("models/gstick-llama-demo"))) {
            if (Files.isRegularFile(demo.resolve("config.json")) || (org.goldenstick.llm.LlamaGguf.isGguf(demo) && Files.isRegularFile(demo))) {
                try {
                    models.add(new Prepared(demo.getFileName().toString(), org.goldenstick.ptq.QuantizedCheckpoints.loadModel(demo)));
                } catch (java.io.IOException e) {
                    throw new IllegalArgumentException("cannot load " + demo + ": " + e.getMessage(), e);
                }
            } else if (model != null) {
                throw new IllegalArgumentException(demo + ": no config.json (not a model folder)");
            } else {
                System.err.println("bench llm: no demo model at " + demo + " (skipped)");
            }
        }
        List<Row> rows = bench(models);
        models.clear();
        if (!noSynthetic) {
            LlamaConfig c = syntheticConfig();
            System.err.printf(Locale.ROOT, "bench llm: creating synthetic model (%.2f B parameters, %.1f GB f32)...%n",
                    c.parameterCount() / 1e9, c.parameterCount() * 4 / 1e9);
            long t0 = System.nanoTime();
            LlamaModel syn = LlamaModel.withRandomStoredWeights(c, 1234); // weights off the heap, read in place as a mapped checkpoint's
            System.err.printf(Locale.ROOT, "bench llm: created in %.1f s%n", (System.nanoTime() - t0) / 1e9);
            rows.addAll(bench(List.of(new Prepared(String.format(Locale.ROOT, "synthetic-%.1fB", c.parameterCount() / 1e9), syn))));
            syn = null;
        }
        print(rows, threads);
    }

    private LlamaConfig syntheticConfig() {
        return LlamaConfig.of(hidden, intermediate, layers, heads, kvHeads, vocab, Math.max(2048, prompt + 64));
    }

    private void saveSynthetic() {
        LlamaConfig c = syntheticConfig();
        Path demo = DataPaths.root().resolve("models/gstick-llama-demo");
        System.err.printf(Locale.ROOT, "bench llm: writing synthetic model (%.2f B parameters, %.1f GB f32) to %s%n", c.parameterCount() / 1e9, c.parameterCount() * 4 / 1e9, saveSynthetic);
        try {
            org.goldenstick.llm.HfCheckpoint.save(LlamaModel.withRandomWeights(c, 1234), saveSynthetic, org.goldenstick.formats.safetensors.DType.F32,
                    Files.isDirectory(demo) ? demo : null, true);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot write " + saveSynthetic + ": " + e.getMessage(), e);
        }
    }

    /** One model under measurement: its prefill is timed on creation, then decode steps run round by round. */
    private final class Prepared {
        final String name;
        final LlamaModel m;
        final int t;
        final double prefillSec;
        final Runnable step;
        final double[] decodeRounds = new double[rounds], cpuRounds = new double[rounds];

        Prepared(String name, LlamaModel m) {
            this.name = name;
            this.m = m;
            LlamaConfig c = m.config();
            t = Math.min(prompt, c.maxPositionEmbeddings() - 8);
            Random rng = new Random(7);
            int[] ids = new int[t];
            for (int i = 0; i < t; i++) ids[i] = rng.nextInt(c.vocabSize());
            System.err.printf(Locale.ROOT, "bench llm: %s prefill (%d tokens)...%n", name, t);
            prefillSec = Timing.median(() -> m.newSession(t).prefill(ids), Math.min(2, seconds / 2), seconds);
            int capacity = Math.min(c.maxPositionEmbeddings(), 256);
            int start = Math.min(16, t);
            LlamaSession s = m.newSession(capacity);
            int[] next = {ids[0]};
            step = () -> {
                if (s.position() == capacity) {
                    s.reset();
                    s.prefill(Arrays.copyOf(ids, start));
                }
                next[0] = argmax(s.decode(next[0]).data());
            };
            s.prefill(Arrays.copyOf(ids, start));
        }

        void decodeRound(int r) {
            System.err.printf(Locale.ROOT, "bench llm: %s decode (round %d of %d)...%n", name, r + 1, rounds);
            double[] wallCpu = Timing.medians(step, r == 0 ? Math.min(2, seconds / 2) : 0.2, seconds / rounds);
            decodeRounds[r] = wallCpu[0];
            cpuRounds[r] = wallCpu[1];
        }
    }

    /**
     * Decode of every model and the memory bandwidth in alternating rounds, so that all see the same (shared, noisy)
     * machine; medians over the rounds.
     */
    private List<Row> bench(List<Prepared> models) {
        double[] bwRounds = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            for (Prepared p : models) p.decodeRound(r);
            bwRounds[r] = MemoryBandwidth.measure(Parallel.threads(), 1L << 30, Math.max(1, seconds / rounds));
        }
        double bw = median(bwRounds);
        List<Row> rows = new ArrayList<>();
        for (Prepared p : models) {
            long[] wb = weightsAndBytesPerToken(p.m);
            double tps = 1 / median(p.decodeRounds);
            Double perCpu = Parallel.threads() == 1 ? 1 / median(p.cpuRounds) : null;
            rows.add(new Row(p.name, wb[0], wb[1], p.t, p.t / p.prefillSec, tps, wb[1] * tps / 1e9, bw, perCpu));
        }
        return rows;
    }

    /**
     * {weights, bytes decode reads per token}: float parameters at 4 bytes, weights held otherwise (mapped views, int8,
     * packed int4, GGUF blocks) at their stored size; the input embedding table is only indexed (one row) unless tied.
     */
    static long[] weightsAndBytesPerToken(LlamaModel m) {
        boolean tied = m.config().tieWordEmbeddings();
        long weights = 0, bytes = 0;
        for (var e : m.namedModules().entrySet()) {
            if (!(e.getValue() instanceof org.goldenstick.llm.StoredWeights s)) continue;
            weights += s.weightCount();
            if (tied || !e.getKey().equals("model.embed_tokens")) bytes += s.weightBytes();
        }
        for (var e : m.namedParameters().entrySet()) {
            long n = e.getValue().numel();
            weights += n;
            if (tied || !e.getKey().equals("model.embed_tokens.weight")) bytes += 4 * n;
        }
        return new long[] {weights, bytes};
    }


    private static double median(double[] x) {
        double[] y = x.clone();
        Arrays.sort(y);
        return y[y.length / 2];
    }

    private static int argmax(float[] x) {
        int b = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[b]) b = i;
        return b;
    }

    private void print(List<Row> rows, int threads) {
        if (json) {
            Json.print(new LlmJson("llm", threads, W8A8BlockKernels.mode().name().toLowerCase(Locale.ROOT), rows.stream().map(r -> new LlmJson.Model(r.name, r.parameters, r.weightBytesPerToken, r.promptTokens,
                    r.prefillTokensPerSecond, r.decodeTokensPerSecond, r.decodeGbPerSecond, r.memoryBandwidthGbPerSecond, r.bandwidthFraction(), r.decodeTokensPerCpuSecond)).toList()));
            return;
        }
        System.out.printf(Locale.ROOT, "threads %d; int8 activations %s; decode and memory bandwidth measured in alternating rounds (shared machine: treat ±15%% as noise)%n",
                threads, W8A8BlockKernels.mode().name().toLowerCase(Locale.ROOT));
        System.out.printf(Locale.ROOT, "%-22s %10s %7s %14s %13s %11s %10s %7s %13s%n", "model", "params", "prompt", "prefill tok/s", "decode tok/s", "decode GB/s", "mem GB/s", "of bw",
                "tok/CPU-s");
        for (Row r : rows) {
            System.out.printf(Locale.ROOT, "%-22s %9.3fB %7d %14.1f %13.2f %11.2f %10.2f %6.0f%% %13s%n", r.name, r.parameters / 1e9, r.promptTokens,
                    r.prefillTokensPerSecond, r.decodeTokensPerSecond, r.decodeGbPerSecond, r.memoryBandwidthGbPerSecond, 100 * r.bandwidthFraction(),
                    r.decodeTokensPerCpuSecond == null ? "-" : String.format(Locale.ROOT, "%.3f", r.decodeTokensPerCpuSecond));
        }
    }
}
