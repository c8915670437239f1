package org.goldenstick.cli.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.goldenstick.cli.Json;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.formats.safetensors.SafetensorsWriter;
import org.goldenstick.llm.HfCheckpoint;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.llm.LlamaSession;
import org.goldenstick.ptq.LlamaLayout;
import org.goldenstick.ptq.PTQConfig;
import org.goldenstick.ptq.PtqReport;
import org.goldenstick.ptq.QuantizedCheckpoints;
import org.goldenstick.ptq.RoundToNearest;
import org.goldenstick.ptq.SequentialSmoothQuant;
import org.goldenstick.progress.ProgressListener;
import org.goldenstick.progress.ProgressPrinter;
import org.goldenstick.progress.ProgressTask;
import org.goldenstick.tensor.kernel.MemoryBandwidth;
import org.goldenstick.tensor.kernel.Parallel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code gstick bench ptq}: writes a synthetic bf16 Llama checkpoint (random weights, ~1 B parameters by default) into
 * a temporary folder, quantizes it with RTN W8A16 from the memory-mapped file (lm_head int8 per channel by default, as
 * llama.cpp's quantized files keep their output tensor quantized: {@code --head-bits}), and reports in one run: output size
 * vs input, quantization throughput next to the machine's memory bandwidth, RTN's peak resident memory, and decode
 * tokens/s of the quantized model against the same float model stored two ways: FP32 weights (4 bytes each, a copy of
 * the checkpoint written as F32) and the bf16 checkpoint itself (2 bytes each). All three are read in place from their
 * files and compute in float, so the two baselines differ only in the bytes a decode step streams. Temporary folders
 * are deleted afterwards.
 *
 * <p>{@code --size-gb G} is the larger-than-RAM case: a checkpoint of about {@code G} GB (Llama-2-7B layer shapes, as
 * many layers as fit) is streamed to disk, then quantized with RTN (streamed) and with SmoothQuant layer by layer
 * ({@link SequentialSmoothQuant}); each reports its peak resident memory (Linux: the peak is reset before each step)
 * and GB/s of bf16 input. No decode step (the float model would not fit).
 *
 * <pre>{@code
 * GSTICK_JAVA_OPTS=-Xmx3g gstick bench ptq --size-gb 30 --dir /big/tmp
 * }</pre>
 */
@Command(name = "ptq", mixinStandardHelpOptions = true,
        description = {"RTN W8A16 (or W4A16 with --bits 4 --group-size 128) on a synthetic bf16 Llama checkpoint, measured in one run.",
                "Size, quantization GB/s beside memory bandwidth, and decode tokens/s of the quantized model vs the same float model with FP32 and with bf16 weights.",
                "The machine is shared: treat <15%% as noise."})
public final class PtqBench implements Callable<Integer> {
    @Option(names = "--size", defaultValue = "1b", description = "1b (hidden 2048, 20 layers, ~1.0 B params) | small (hidden 512, 4 layers) (default: ${DEFAULT-VALUE})")
    String size;

    @Option(names = "--decode-tokens", defaultValue = "4", description = "timed decode steps per model and round (default: ${DEFAULT-VALUE})")
    int decodeTokens;

    @Option(names = "--dir", description = "where to create the temporary checkpoints (default: the system temp folder)")
    Path dir;

    @Option(names = "--bits", defaultValue = "8", description = "weight bits: 8 (W8A16) or 4 (W4A16) (default: ${DEFAULT-VALUE})")
    int bits;

    @Option(names = "--group-size", defaultValue = "0", description = "input columns per scale, 0 = per channel (default: ${DEFAULT-VALUE}; W4A16 usually 128)")
    int groupSize;

    @Option(names = "--head-bits", defaultValue = "8", description = {"lm_head: 8 = int8 per output channel (like-for-like with llama.cpp, whose Q8_0 and Q4 files quantize",
            "the output tensor too), 4 = the layers' W4 scheme, 0 = float (quantize's default) (default: ${DEFAULT-VALUE})"})
    int headBits;

    @Option(names = "--size-gb", defaultValue = "0", description = "larger-than-RAM case: a bf16 checkpoint of about this many GB (7B layer shapes), RTN and layer-by-layer SmoothQuant, peak RSS of each; no decode (default: off)")
    double sizeGb;

    @Option(names = "--calib-samples", defaultValue = "4", description = "--size-gb: SmoothQuant calibration samples of random token ids (default: ${DEFAULT-VALUE})")
    int calibSamples;

    @Option(names = "--calib-len", defaultValue = "64", description = "--size-gb: tokens per calibration sample (default: ${DEFAULT-VALUE})")
    int calibLen;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    /**
     * The {@code --json} object: the RTN run ({@code rtn_*}), memory bandwidth, decode tokens/s of the three models
     * (FP32 weights, bf16 weights, quantized; null with {@code --size-gb}) and the quantized model's speed-up over each
     * (median of the per-round ratios), and the layer-by-layer SmoothQuant run ({@code smoothquant_*}, only with
     * {@code --size-gb}).
     */
    record PtqJson(String bench, long params, int threads, int weightBits, int groupSize, long inputBytes, long outputBytes, double sizeRatio, double rtnSeconds, double rtnGbPerS,
                   double rtnWriteSeconds, double rtnQuantizeGbPerS, Long rtnPeakRssBytes, double rtnCpuSeconds, double memBwGbPerS, Double fp32DecodeTokS, Double bf16DecodeTokS, Double quantizedDecodeTokS,
                   Double decodeSpeedup, Double decodeSpeedupVsBf16, int layersQuantized, int layersSkipped, String lmHead, Double smoothquantSeconds, Double smoothquantGbPerS, Long smoothquantPeakRssBytes, Double smoothquantCpuSeconds,
                   Map<String, String> nullReasons) {}

    @Override
    public Integer call() throws Exception {
        if (bits != 4 && bits != 8) throw new IllegalArgumentException("--bits must be 4 or 8, got " + bits);
        if (sizeGb < 0) throw new IllegalArgumentException("--size-gb must be positive, got " + sizeGb);
        if (headBits != 0) org.goldenstick.ptq.WeightScheme.forHead(headBits, org.goldenstick.ptq.WeightScheme.of(bits, groupSize, true)); // checked before the checkpoint is written
        Map<String, Object> cfg = sizeGb > 0 ? configOfSize(sizeGb) : switch (size) {
            case "1b" -> config(2048, 5632, 20, 32, 4, 32000);
            case "small" -> config(512, 1408, 4, 8, 4, 8000);
            default -> throw new IllegalArgumentException("--size must be 1b or small, got '" + size + "'");
        };
        Path base = Files.createTempDirectory(dir != null ? Files.createDirectories(dir) : Path.of(System.getProperty("java.io.tmpdir")), "gstick-bench-ptq-");
        ProgressListener progress = json ? ProgressListener.SILENT : ProgressPrinter.auto();
        try {
            Path fp = base.resolve("bf16"), q = base.resolve("w" + bits + "a16");
            long t0 = System.nanoTime();
            LlamaLayout layout = writeSynthetic(fp, cfg, DType.BF16, progress);
            long params = 0;
            for (int[] s : layout.expectedShapes().values()) params += (long) s[0] * (s.length > 1 ? s[1] : 1);
            System.err.printf(Locale.ROOT, "bench ptq: wrote %.2f B-parameter bf16 checkpoint in %.1f s%n", params / 1e9, (System.nanoTime() - t0) / 1e9);

            int threads = Parallel.threads();
            double bw = MemoryBandwidth.measure(threads, Math.min(1L << 30, Runtime.getRuntime().maxMemory() / 4), 3.0);
            // each measured step runs in its own JVM with this one's heap limit: its peak RSS is the step's alone
            Step rtn = Step.run(List.of("rtn", fp.toString(), q.toString(), Integer.toString(bits), Integer.toString(groupSize), Integer.toString(headBits)));
            PtqReport r = rtn.report();
            String head = QuantizedCheckpoints.scheme(q).headLabel();
            String label = "w" + bits + "a16";
            Map<String, String> nullReasons = new LinkedHashMap<>();
            Long rtnPeakRss = rtn.peakRss();
            if (rtnPeakRss == null) nullReasons.put("rtn_peak_rss_bytes", "peak resident memory cannot be read here (Linux /proc/self/status)");
            Double fpTps = null, bfTps = null, qTps = null, speedup = null, speedupBf = null, sqSeconds = null, sqGbps = null;
            Long sqPeakRss = null;
            Double sqCpu = null;
            if (sizeGb > 0) {
                for (String k : List.of("fp32_decode_tok_s", "bf16_decode_tok_s", "quantized_decode_tok_s", "decode_speedup", "decode_speedup_vs_bf16")) nullReasons.put(k, "--size-gb: the float model is not loaded (larger than RAM)");
                deleteTree(q); // disk space for the next output
                Step sq = Step.run(List.of("smoothquant", fp.toString(), base.resolve("w8a8").toString(), Integer.toString(calibSamples), Integer.toString(calibLen)));
                sqSeconds = sq.report().seconds();
                sqGbps = sq.report().inputBytes() / 1e9 / sqSeconds;
                sqPeakRss = sq.peakRss();
                sqCpu = sq.cpuSeconds();
                if (sqPeakRss == null) nullReasons.put("smoothquant_peak_rss_bytes", "peak resident memory cannot be read here (Linux /proc/self/status)");
                deleteTree(base.resolve("w8a8"));
            } else {
                for (String k : List.of("smoothquant_seconds", "smoothquant_gb_per_s", "smoothquant_peak_rss_bytes", "smoothquant_cpu_seconds")) nullReasons.put(k, "SmoothQuant runs with --size-gb only");
                // the FP32 baseline: the same values (bf16 widens exactly) stored as F32, 4 bytes per weight
                Path f32 = base.resolve("f32");
                long t1 = System.nanoTime();
                writeSynthetic(f32, cfg, DType.F32, progress);
                System.err.printf(Locale.ROOT, "bench ptq: wrote the same checkpoint as F32 in %.1f s%n", (System.nanoTime() - t1) / 1e9);
                // all models resident, measured in interleaved rounds so that they see the same machine noise
                // the quantized model first: its loader briefly holds a float skeleton, which is garbage before the float ones load
                LlamaModel qModel = QuantizedCheckpoints.loadModel(q);
                System.gc();
                LlamaModel f32Model = QuantizedCheckpoints.loadModel(f32), bf16Model = QuantizedCheckpoints.loadModel(fp);
                System.gc();
                double[][] d = interleavedDecode(List.of("fp32", "bf16", label), List.of(f32Model, bf16Model, qModel));
                fpTps = d[0][0];
                bfTps = d[0][1];
                qTps = d[0][2];
                speedup = d[1][0];
                speedupBf = d[1][1];
            }
            if (json) {
                Json.print(new PtqJson("ptq", params, threads, bits, groupSize, r.inputBytes(), r.outputBytes(), r.sizeRatio(), r.seconds(), r.throughputGBps(), r.writeSeconds(),
                        r.quantizeGBps(), rtnPeakRss, rtn.cpuSeconds(), bw, fpTps, bfTps, qTps, speedup, speedupBf, r.layersQuantized(), r.layersSkipped(), head, sqSeconds, sqGbps, sqPeakRss, sqCpu, nullReasons));
            } else {
                System.out.printf(Locale.ROOT, "synthetic Llama: %.3f B parameters, bf16 %.2f GB, %d threads (shared machine)%n", params / 1e9, r.inputBytes() / 1e9, threads);
                System.out.printf(Locale.ROOT, "RTN " + label.toUpperCase(Locale.ROOT) + " (group " + groupSize + ", lm_head " + head + "): output %.2f GB = %.1f%% of the input; %.2f s, %.2f GB/s of bf16 weights; %.2f s of it writing the output,"
                                + " %.2f GB/s without (memory bandwidth %.2f GB/s); %.1f CPU-s; peak RSS %s (max heap %s)%n",
                        r.outputBytes() / 1e9, 100 * r.sizeRatio(), r.seconds(), r.throughputGBps(), r.writeSeconds(), r.quantizeGBps(), bw, rtn.cpuSeconds(), mb(rtnPeakRss), mb(Runtime.getRuntime().maxMemory()));
                if (sqSeconds != null) {
                    System.out.printf(Locale.ROOT, "SmoothQuant W8A8 layer by layer (%d samples x %d tokens): %.1f s, %.2f GB/s of bf16 input; %.1f CPU-s; peak RSS %s%n",
                            calibSamples, calibLen, sqSeconds, sqGbps, sqCpu, mb(sqPeakRss));
                } else {
                    System.out.printf(Locale.ROOT, "decode: FP32 weights %.2f tok/s, bf16 weights %.2f tok/s, " + label.toUpperCase(Locale.ROOT) + " %.2f tok/s; speed-up %.2fx over FP32 weights,"
                                    + " %.2fx over bf16 weights (medians of %d interleaved rounds of %d tokens; int8-block activations %s: %s)%n",
                            fpTps, bfTps, qTps, speedup, speedupBf, ROUNDS, decodeTokens,
                            org.goldenstick.tensor.kernel.W8A8BlockKernels.mode().name().toLowerCase(Locale.ROOT),
                            org.goldenstick.tensor.kernel.W8A8BlockKernels.appliesTo(1, bits == 4) ? "on at decode" : "off");
                }
            }
            return 0;
        } finally {
            deleteTree(base);
        }
    }

    private static String mb(Long bytes) {
        return bytes == null ? "n/a" : String.format(Locale.ROOT, "%.0f MB", bytes / 1e6);
    }

    /** Llama-2-7B layer shapes (hidden 4096, MLP 11008, GQA 32/8, vocab 32000) with as many layers as make about {@code gb} GB of bf16. */
    static Map<String, Object> configOfSize(double gb) {
        int hidden = 4096, inter = 11008, heads = 32, kv = 8, vocab = 32000;
        long kvDim = (long) hidden / heads * kv;
        long perLayer = 2L * hidden * hidden + 2 * hidden * kvDim + 3L * hidden * inter + 2L * hidden;
        long fixed = 2L * vocab * hidden + hidden;
        int layers = (int) Math.max(1, Math.round((gb * 1e9 / 2 - fixed) / perLayer));
        return config(hidden, inter, layers, heads, kv, vocab);
    }

    private static Map<String, Object> config(int hidden, int inter, int layers, int heads, int kv, int vocab) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("architectures", new String[] {"LlamaForCausalLM"});
        c.put("model_type", "llama");
        c.put("hidden_size", hidden);
        c.put("intermediate_size", inter);
        c.put("num_hidden_layers", layers);
        c.put("num_attention_heads", heads);
        c.put("num_key_value_heads", kv);
        c.put("vocab_size", vocab);
        c.put("max_position_embeddings", 2048);
        c.put("rms_norm_eps", 1e-5);
        c.put("rope_theta", 10000.0);
        c.put("tie_word_embeddings", false);
        c.put("bos_token_id", 1);
        c.put("eos_token_id", 2);
        c.put("torch_dtype", "bfloat16");
        return c;
    }

    /**
     * Writes config.json and one shard per decoder layer (plus one for embeddings/head) with an index, streamed:
     * random values are made in pieces while each file is written, so memory stays small for any size. The values are
     * bf16 numbers whatever {@code dtype} (BF16 or F32) stores them: both checkpoints hold the same model.
     */
    private static LlamaLayout writeSynthetic(Path dir, Map<String, Object> cfg, DType dtype, ProgressListener progress) throws IOException {
        if (dtype != DType.BF16 && dtype != DType.F32) throw new IllegalArgumentException("synthetic checkpoints are BF16 or F32, not " + dtype);
        int bytes = dtype == DType.F32 ? 4 : 2;
        Files.createDirectories(dir);
        ObjectMapper json = new ObjectMapper();
        Map<String, Object> config = new LinkedHashMap<>(cfg);
        config.put("torch_dtype", dtype == DType.F32 ? "float32" : "bfloat16");
        Files.writeString(dir.resolve("config.json"), json.writeValueAsString(config), StandardCharsets.UTF_8);
        LlamaLayout layout = LlamaLayout.read(dir);
        Map<String, java.util.List<String>> shards = new LinkedHashMap<>();
        long total = 0;
        for (var e : layout.expectedShapes().entrySet()) {
            String name = e.getKey();
            String shard = name.startsWith("model.layers.") ? "layer" + name.split("\\.")[2] : "other";
            shards.computeIfAbsent(shard, k -> new java.util.ArrayList<>()).add(name);
            total += bytes * numel(e.getValue());
        }
        ObjectNode index = json.createObjectNode();
        index.putObject("metadata");
        ObjectNode map = index.putObject("weight_map");
        ProgressTask task = ProgressTask.start(progress, "write " + (bytes == 4 ? "F32" : "bf16") + " checkpoint", total, "tensor");
        int i = 0;
        long seed = 42;
        for (var shard : shards.entrySet()) {
            String file = String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", ++i, shards.size());
            SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
            for (String name : shard.getValue()) {
                int[] shape = layout.expectedShapes().get(name);
                long tensorSeed = seed * 1_000_003L + name.hashCode();
                w.addStreamed(name, dtype, shape, out -> {
                    randomBf16(out, numel(shape), name.endsWith("norm.weight"), tensorSeed, bytes == 4);
                    task.advance(bytes * numel(shape), 1, name);
                });
                map.put(name, file);
            }
            w.write(dir.resolve(file));
        }
        task.finish(shards.size() + " files");
        Files.writeString(dir.resolve("model.safetensors.index.json"), json.writeValueAsString(index), StandardCharsets.UTF_8);
        return layout;
    }

    private static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    /** Values per piece of a synthetic tensor (8 MB of bf16), made on all threads. */
    private static final int PIECE = 1 << 22;

    /**
     * {@code n} little-endian bf16 values: random sign and mantissa with |w| in [2^-8, 2^-4) for weights, [1, 1.5) for
     * norms; each piece of {@link #PIECE} values has its own seed, so the content does not depend on the thread count.
     * With {@code asF32} each value is written as the float32 it equals (its bf16 bits in the high half).
     */
    private static void randomBf16(java.nio.channels.WritableByteChannel out, long n, boolean norm, long seed, boolean asF32) throws IOException {
        int threads = Parallel.threads(), width = asF32 ? 4 : 2;
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(width * PIECE * threads).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (long start = 0; start < n; start += (long) PIECE * threads) {
            long first = start;
            int pieces = (int) Math.min(threads, (n - start + PIECE - 1) / PIECE);
            buf.clear();
            Parallel.forEach(pieces, p -> {
                long from = first + (long) p * PIECE;
                int len = (int) Math.min(PIECE, n - from);
                SplittableRandom rng = new SplittableRandom(seed + from);
                int at = width * p * PIECE;
                for (int k = 0; k < len; k += 4) {
                    long r = rng.nextLong();
                    for (int j = 0; j < 4 && k + j < len; j++, r >>>= 16) {
                        int v = (int) (r & 0xFFFF);
                        int bits = norm ? 0x3F80 | (v & 0x3F) : (v & 0x807F) | ((119 + ((v >>> 7) & 3)) << 7);
                        if (asF32) buf.putInt(at + 4 * (k + j), bits << 16);
                        else buf.putShort(at + 2 * (k + j), (short) bits);
                    }
                }
            });
            long len = Math.min((long) PIECE * threads, n - start);
            buf.limit((int) (width * len));
            buf.position(0);
            while (buf.hasRemaining()) out.write(buf);
        }
    }

    /**
     * One measured step in a child JVM (same java, class path and heap limit as this one): {@code rtn IN OUT BITS GROUP HEAD_BITS}
     * (0: float head)
     * or {@code smoothquant IN OUT SAMPLES LENGTH} (random token ids, seed 7). The child prints its report and peak RSS.
     */
    record Step(PtqReport report, Long peakRss, double cpuSeconds) {
        static Step run(List<String> args) throws IOException, InterruptedException {
            List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "--add-modules", "jdk.incubator.vector",
                    "--enable-native-access=ALL-UNNAMED", "-Xss4m", "-Xmx" + (Runtime.getRuntime().maxMemory() >> 20) + "m", "-Dgstick.threads=" + Parallel.threads(),
                    "-cp", System.getProperty("java.class.path"), PtqBench.class.getName() + "$Step"));
            cmd.addAll(args);
            Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (p.waitFor() != 0) throw new IllegalStateException("bench ptq: the " + args.get(0) + " step failed (exit " + p.exitValue() + ")");
            String[] f = out.substring(out.lastIndexOf('\n') + 1).split(" ");
            long peak = Long.parseLong(f[8]);
            return new Step(new PtqReport(f[0], Long.parseLong(f[1]), Long.parseLong(f[2]), Double.parseDouble(f[3]), Integer.parseInt(f[4]), Integer.parseInt(f[5]),
                    Long.parseLong(f[6]), Double.parseDouble(f[7])), peak > 0 ? peak : null, Double.parseDouble(f[9]));
        }

        /** The child's entry point. */
        public static void main(String[] a) throws Exception {
            Path in = Path.of(a[1]), out = Path.of(a[2]);
            ProgressListener progress = ProgressPrinter.auto();
            PtqReport r;
            if (a[0].equals("rtn")) {
                var body = org.goldenstick.ptq.WeightScheme.of(Integer.parseInt(a[3]), Integer.parseInt(a[4]), true);
                int headBits = Integer.parseInt(a[5]);
                r = RoundToNearest.quantizeCheckpoint(in, out, PTQConfig.rtn(body).withHead(headBits == 0 ? null : org.goldenstick.ptq.WeightScheme.forHead(headBits, body)), progress);
            } else {
                int vocab = org.goldenstick.llm.LlamaConfig.load(in.resolve("config.json")).vocabSize();
                SplittableRandom rng = new SplittableRandom(7);
                List<int[]> samples = new ArrayList<>();
                for (int i = 0; i < Integer.parseInt(a[3]); i++) samples.add(rng.ints(Integer.parseInt(a[4]), 0, vocab).toArray());
                r = SequentialSmoothQuant.quantize(in, out, PTQConfig.smoothQuant(), null, samples, SequentialSmoothQuant.DEFAULT_SPILL_BYTES, progress);
            }
            System.out.println(r.method() + " " + r.inputBytes() + " " + r.outputBytes() + " " + r.seconds() + " " + r.layersQuantized() + " " + r.layersSkipped() + " "
                    + r.weightBytesRead() + " " + r.writeSeconds() + " " + PeakRss.peakBytes() + " "
                    + ProcessHandle.current().info().totalCpuDuration().map(d -> d.toNanos() / 1e9).orElse(Double.NaN));
            System.exit(0);
        }
    }

    private static final int ROUNDS = 5;
    /**
     * Decode steps per model before the timed rounds. Four were too few for the 4-bit model: its rounds of 4 tokens rose
     * from 24 to 29–30 tokens/s over the first three rounds while the float models' stayed flat (the JIT still compiling
     * the quantized decode path; docs/results.md, 2026-12-05 18:00 UTC).
     */
    static final int WARMUP_TOKENS = 32;

    /**
     * Decode tokens/s of {@code models} in {@link #ROUNDS} interleaved rounds of {@code decodeTokens} steps each, after
     * {@link #WARMUP_TOKENS} warm-up steps per model, in turn. Returns {medians of tok/s per model, medians of the per-round ratios last / model i}
     * (the last model is the one under test; its ratio to itself is 1).
     */
    private double[][] interleavedDecode(List<String> names, List<LlamaModel> models) {
        int n = models.size();
        List<LlamaSession> sessions = new ArrayList<>();
        for (LlamaModel m : models) {
            LlamaSession s = m.newSession(ROUNDS * decodeTokens + WARMUP_TOKENS + 4);
            s.prefill(new int[] {1});
            sessions.add(s);
        }
        for (int i = 0; i < WARMUP_TOKENS; i++) for (LlamaSession s : sessions) s.decode(3 + i);
        double[][] tps = new double[n][ROUNDS], ratio = new double[n][ROUNDS];
        for (int r = 0; r < ROUNDS; r++) {
            StringBuilder line = new StringBuilder("decode round " + (r + 1) + ":");
            for (int k = 0; k < n; k++) {
                tps[k][r] = decode(sessions.get(k), r);
                line.append(String.format(Locale.ROOT, " %s %.2f tok/s", names.get(k), tps[k][r]));
            }
            for (int k = 0; k < n; k++) ratio[k][r] = tps[n - 1][r] / tps[k][r];
            System.err.println(line);
        }
        double[][] out = new double[2][n];
        for (int k = 0; k < n; k++) {
            out[0][k] = median(tps[k]);
            out[1][k] = median(ratio[k]);
        }
        return out;
    }

    private double decode(LlamaSession s, int round) {
        long t0 = System.nanoTime();
        for (int i = 0; i < decodeTokens; i++) s.decode(7 + round * decodeTokens + i);
        return decodeTokens / ((System.nanoTime() - t0) / 1e9);
    }

    private static double median(double[] v) {
        double[] c = v.clone();
        java.util.Arrays.sort(c);
        return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
    }

    private static void deleteTree(Path p) {
        try (Stream<Path> s = Files.walk(p)) {
            s.sorted(Comparator.reverseOrder()).forEach(f -> {
                try {
                    Files.deleteIfExists(f);
                } catch (IOException e) {
                    System.err.println("warning: could not delete " + f + ": " + e.getMessage());
                }
            });
        } catch (IOException e) {
            System.err.println("warning: could not clean up " + p + ": " + e.getMessage());
        }
    }
}
