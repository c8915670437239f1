package org.goldenstick.cli.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
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
import org.goldenstick.tensor.kernel.MemoryBandwidth;
import org.goldenstick.tensor.kernel.Parallel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code gstick bench ptq}: writes a synthetic bf16 Llama checkpoint (random weights, ~1 B parameters by default) into
 * a temporary folder, quantizes it with RTN W8A16 from the memory-mapped file, and reports in one run: output size
 * vs input, quantization throughput next to the machine's memory bandwidth, and decode tokens/s of the FP32 model
 * vs the W8A16 model. Temporary folders are deleted afterwards.
 */
@Command(name = "ptq", mixinStandardHelpOptions = true,
        description = {"RTN W8A16 (or W4A16 with --bits 4 --group-size 128) on a synthetic bf16 Llama checkpoint, measured in one run.",
                "Size, quantization GB/s beside memory bandwidth, and FP32 vs quantized decode tokens/s. The machine is shared: treat <15%% as noise."})
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

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    /** The {@code --json} object: the RTN run ({@code rtn_*}), memory bandwidth, and decode tokens/s of both models. */
    record PtqJson(String bench, long params, int threads, int weightBits, int groupSize, long inputBytes, long outputBytes, double sizeRatio, double rtnSeconds, double rtnGbPerS,
                   double rtnWriteSeconds, double rtnQuantizeGbPerS, double memBwGbPerS, double fp32DecodeTokS, double quantizedDecodeTokS,
                   double decodeSpeedup, int layersQuantized, int layersSkipped) {}

    @Override
    public Integer call() throws Exception {
        Map<String, Object> cfg = switch (size) {
            case "1b" -> config(2048, 5632, 20, 32, 4, 32000);
            case "small" -> config(512, 1408, 4, 8, 4, 8000);
            default -> throw new IllegalArgumentException("--size must be 1b or small, got '" + size + "'");
        };
        Path base = Files.createTempDirectory(dir != null ? Files.createDirectories(dir) : Path.of(System.getProperty("java.io.tmpdir")), "gstick-bench-ptq-");
        try {
            Path fp = base.resolve("bf16"), q = base.resolve("w8a16");
            long t0 = System.nanoTime();
            LlamaLayout layout = writeSynthetic(fp, cfg);
            long params = 0;
            for (int[] s : layout.expectedShapes().values()) params += (long) s[0] * (s.length > 1 ? s[1] : 1);
            System.err.printf(Locale.ROOT, "bench ptq: wrote %.2f B-parameter bf16 checkpoint in %.1f s%n", params / 1e9, (System.nanoTime() - t0) / 1e9);

            int threads = Parallel.threads();
            double bw = MemoryBandwidth.measure(threads, 1L << 30, 3.0);
            if (bits != 4 && bits != 8) throw new IllegalArgumentException("--bits must be 4 or 8, got " + bits);
            PtqReport r = RoundToNearest.quantizeCheckpoint(fp, q, PTQConfig.rtn(org.goldenstick.ptq.WeightScheme.of(bits, groupSize, true)));
            String label = "w" + bits + "a16";

            // both models resident, measured in interleaved rounds so that both see the same machine noise
            // the quantized model first: its loader briefly holds a float skeleton, which is garbage before FP32 loads
            LlamaModel qModel = QuantizedCheckpoints.loadModel(q);
            System.gc();
            LlamaModel fpModel = QuantizedCheckpoints.loadModel(fp);
            System.gc();
            double[] tps = interleavedDecode(fpModel, qModel);
            double fpTps = tps[0], qTps = tps[1];
            if (json) {
                Json.print(new PtqJson("ptq", params, threads, bits, groupSize, r.inputBytes(), r.outputBytes(), r.sizeRatio(), r.seconds(), r.throughputGBps(), r.writeSeconds(),
                        r.quantizeGBps(), bw, fpTps, qTps, tps[2], r.layersQuantized(), r.layersSkipped()));
            } else {
                System.out.printf(Locale.ROOT, "synthetic Llama: %.3f B parameters, bf16 %.2f GB, %d threads (shared machine)%n", params / 1e9, r.inputBytes() / 1e9, threads);
                System.out.printf(Locale.ROOT, "RTN " + label.toUpperCase(Locale.ROOT) + " (group " + groupSize + "): output %.2f GB = %.1f%% of the input; %.2f s, %.2f GB/s of bf16 weights; %.2f s of it writing the output,"
                                + " %.2f GB/s without (memory bandwidth %.2f GB/s)%n",
                        r.outputBytes() / 1e9, 100 * r.sizeRatio(), r.seconds(), r.throughputGBps(), r.writeSeconds(), r.quantizeGBps(), bw);
                System.out.printf(Locale.ROOT, "decode: FP32 %.2f tok/s, " + label.toUpperCase(Locale.ROOT) + " %.2f tok/s, speed-up %.2fx (medians of %d interleaved rounds of %d tokens)%n",
                        fpTps, qTps, tps[2], ROUNDS, decodeTokens);
            }
            return 0;
        } finally {
            deleteTree(base);
        }
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

    /** Writes config.json and one bf16 shard per decoder layer (plus one for embeddings/head) with an index. */
    private static LlamaLayout writeSynthetic(Path dir, Map<String, Object> cfg) throws IOException {
        Files.createDirectories(dir);
        ObjectMapper json = new ObjectMapper();
        Files.writeString(dir.resolve("config.json"), json.writeValueAsString(cfg), StandardCharsets.UTF_8);
        LlamaLayout layout = LlamaLayout.read(dir);
        Map<String, java.util.List<String>> shards = new LinkedHashMap<>();
        for (String name : layout.expectedShapes().keySet()) {
            String shard = name.startsWith("model.layers.") ? "layer" + name.split("\\.")[2] : "other";
            shards.computeIfAbsent(shard, k -> new java.util.ArrayList<>()).add(name);
        }
        ObjectNode index = json.createObjectNode();
        index.putObject("metadata");
        ObjectNode map = index.putObject("weight_map");
        int i = 0;
        long seed = 42;
        for (var shard : shards.entrySet()) {
            String file = String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", ++i, shards.size());
            var names = shard.getValue();
            byte[][] data = new byte[names.size()][];
            long shardSeed = seed + i;
            Parallel.forEach(names.size(), t -> data[t] = randomBf16(layout.expectedShapes().get(names.get(t)), names.get(t).endsWith("norm.weight"), shardSeed * 1000 + t));
            SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
            for (int t = 0; t < names.size(); t++) {
                w.addRaw(names.get(t), DType.BF16, layout.expectedShapes().get(names.get(t)), java.lang.foreign.MemorySegment.ofArray(data[t]));
                map.put(names.get(t), file);
            }
            w.write(dir.resolve(file));
        }
        Files.writeString(dir.resolve("model.safetensors.index.json"), json.writeValueAsString(index), StandardCharsets.UTF_8);
        return layout;
    }

    /** Little-endian bf16 values: ~U(−0.03, 0.03) for weights, ~1 for norms. */
    private static byte[] randomBf16(int[] shape, boolean norm, long seed) {
        long n = 1;
        for (int d : shape) n *= d;
        byte[] out = new byte[(int) (2 * n)];
        SplittableRandom rng = new SplittableRandom(seed);
        for (int k = 0; k < n; k++) {
            float v = norm ? 1f + 0.05f * (rng.nextFloat() - 0.5f) : 0.06f * (rng.nextFloat() - 0.5f);
            int bits = Float.floatToRawIntBits(v) >>> 16;
            out[2 * k] = (byte) bits;
            out[2 * k + 1] = (byte) (bits >>> 8);
        }
        return out;
    }

    private static final int ROUNDS = 5;

    /**
     * Decode tokens/s of two models in {@link #ROUNDS} interleaved rounds of {@code decodeTokens} steps each, after
     * 4 warm-up steps per model; returns the median tok/s of each and the median of the per-round ratios.
     */
    private double[] interleavedDecode(LlamaModel a, LlamaModel b) {
        LlamaSession sa = a.newSession(ROUNDS * decodeTokens + 8), sb = b.newSession(ROUNDS * decodeTokens + 8);
        sa.prefill(new int[] {1});
        sb.prefill(new int[] {1});
        for (int i = 0; i < 4; i++) {
            sa.decode(3 + i);
            sb.decode(3 + i);
        }
        double[] ta = new double[ROUNDS], tb = new double[ROUNDS], ratio = new double[ROUNDS];
        for (int r = 0; r < ROUNDS; r++) {
            ta[r] = decode(sa, r);
            tb[r] = decode(sb, r);
            ratio[r] = tb[r] / ta[r];
            System.err.printf(Locale.ROOT, "decode round %d: fp32 %.2f tok/s, quantized %.2f tok/s%n", r + 1, ta[r], tb[r]);
        }
        return new double[] {median(ta), median(tb), median(ratio)};
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
