package org.goldenstick.cli.bench;

import org.goldenstick.tensor.kernel.GgmlBlockKernels;
import org.goldenstick.tensor.kernel.Int8Weights;
import org.goldenstick.tensor.kernel.W8A8BlockKernels;
import org.goldenstick.tensor.kernel.PackedBits;
import org.goldenstick.tensor.kernel.PackedBitsKernels;
import org.goldenstick.tensor.kernel.Parallel;
import org.goldenstick.tensor.kernel.Sgemm;
import org.goldenstick.tensor.kernel.PackedIntWeights;
import org.goldenstick.tensor.kernel.W8A16Kernels;
import org.goldenstick.tensor.kernel.WNA16Kernels;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.goldenstick.cli.Json;
import java.util.Random;

/**
 * {@code gstick bench gemv}: decode-style GEMV with fp32 weights vs W8A16 (int8 weights, group scales) and W4A16
 * (compressed-tensors pack-quantized int4, {@link WNA16Kernels}), in GB/s of weight bytes streamed, over a working set of several matrices (larger than the caches);
 * plus prefill GEMM (m rows) fp32 vs W8A16 in GFLOPS. The int8 weights are also timed off-heap (as mapped) with float
 * activations and with int8-block ones ({@link W8A8BlockKernels}), and as ggml Q8_0 blocks both ways; the int4 weights
 * with float activations (W4A16) and with int8-block ones ({@link W8A8BlockKernels#packed4}).
 */
@Command(name = "gemv", mixinStandardHelpOptions = true,
        description = "fp32 vs W8A16 vs W4A16 GEMV (GB/s of weights) and GEMM for m rows (GFLOPS), median after warm-up.")
public final class GemvBench implements Runnable {
    @Option(names = "--rows", description = "Output features per matrix (default: ${DEFAULT-VALUE}).")
    int rows = 4096;
    @Option(names = "--cols", description = "Input features per matrix (default: ${DEFAULT-VALUE}).")
    int cols = 8192;
    @Option(names = "--matrices", description = "Matrices cycled through, to defeat the caches (default: ${DEFAULT-VALUE}).")
    int matrices = 8;
    @Option(names = "--group", description = "W8A16 and W4A16 scale group size along the input (0 = per channel; default: ${DEFAULT-VALUE}).")
    int group = 128;
    @Option(names = "--gemm-m", description = "Rows of the prefill GEMM case (default: ${DEFAULT-VALUE}).")
    int gemmM = 64;
    @Option(names = "--threads", description = "Comma-separated thread counts (default: ${DEFAULT-VALUE}).")
    String threads = "1,2";
    @Option(names = "--seconds", description = "Measuring time per case (default: ${DEFAULT-VALUE}).")
    double seconds = 2.0;
    @Option(names = "--warmup", description = "Warm-up time per case (default: ${DEFAULT-VALUE}).")
    double warmup = 3.0;
    @Option(names = "--low-bits", description = "Also time PackedBits GEMV at these bit widths, comma-separated, or none (default: ${DEFAULT-VALUE}).")
    String lowBits = "4,2,1";
    @Option(names = "--json", description = "Print a JSON array instead of a table.")
    boolean json;

    /** cpuValue: the same rate per CPU-second of the calling thread (1-thread cases; NaN otherwise). */
    record Row(String kernel, int threads, double value, double cpuValue, String unit) {}

    /** Times body; returns {rate by wall clock, rate by thread CPU time (1 thread only)} for {@code amount} per rep. */
    private double[] rate(Runnable body, double amount, int t) {
        double[] s = Timing.medians(body, warmup, seconds);
        return new double[] {amount / s[0], t == 1 ? amount / s[1] : Double.NaN};
    }

    /** The {@code --json} object: the matrix shape and one case per kernel and thread count. */
    record GemvJson(String bench, int rows, int cols, int matrices, int group, List<Case> cases, Map<String, String> nullReasons) {
        record Case(String kernel, int threads, double value, Double cpuValue, String unit) {}
    }

    @Override
    public void run() {
        int[] ts = Timing.ints(threads, "--threads");
        if (rows < 1 || cols < 1 || matrices < 1) throw new IllegalArgumentException("--rows, --cols and --matrices must be >= 1");
        int g = group == 0 ? cols : group;
        Random rnd = new Random(1);
        System.err.printf("bench gemv: building %d matrices of [%d, %d] (fp32 %d MiB, int8 %d MiB)...%n",
                matrices, rows, cols, (long) matrices * rows * cols * 4 >> 20, (long) matrices * rows * cols >> 20);
        float[][] wf = new float[matrices][];
        Int8Weights[] wq = new Int8Weights[matrices];
        int groups = (cols + g - 1) / g;
        for (int i = 0; i < matrices; i++) {
            float[] w = new float[rows * cols];
            for (int j = 0; j < w.length; j++) w[j] = (float) (rnd.nextInt(255) - 127) * 0.01f;
            wf[i] = w;
            byte[] q = new byte[rows * cols];
            rnd.nextBytes(q);
            float[] sc = new float[rows * groups];
            java.util.Arrays.fill(sc, 0.01f);
            wq[i] = new Int8Weights(MemorySegment.ofArray(q), 0, rows, cols, sc, g);
        }
        // The same int8 values off-heap (as a mapped file holds them): Int8Weights for the W8A8-block kernel, and ggml
        // Q8_0 blocks (fp16 scale + 32 values) when 32 divides cols.
        Int8Weights[] wqNative = new Int8Weights[matrices];
        MemorySegment[] q8 = new MemorySegment[cols % 32 == 0 && W8A8BlockKernels.supports(wq[0]) ? matrices : 0];
        for (int i = 0; i < matrices; i++) {
            MemorySegment n = java.lang.foreign.Arena.ofAuto().allocate((long) rows * cols, 64);
            n.copyFrom(wq[i].data());
            wqNative[i] = new Int8Weights(n, 0, rows, cols, wq[i].scales(), g);
            if (q8.length == 0) continue;
            q8[i] = java.lang.foreign.Arena.ofAuto().allocate((long) rows * cols / 32 * 34, 64);
            for (long b = 0; b < (long) rows * cols / 32; b++) {
                q8[i].set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 34 * b, Float.floatToFloat16(0.01f));
                MemorySegment.copy(n, 32 * b, q8[i], 34 * b + 2, 32);
            }
        }
        PackedIntWeights[] w4 = new PackedIntWeights[matrices];
        for (int i = 0; i < matrices; i++) {
            byte[] q = new byte[rows * cols];
            for (int j = 0; j < q.length; j++) q[j] = (byte) (rnd.nextInt(16) - 8);
            float[] sc = new float[rows * groups];
            java.util.Arrays.fill(sc, 0.01f);
            w4[i] = PackedIntWeights.pack(q, rows, cols, 4, g, sc, null);
        }
        int[] widths = lowBits.isBlank() || lowBits.equals("none") ? new int[0] : Timing.ints(lowBits, "--low-bits");
        PackedBits[][] packed = new PackedBits[widths.length][matrices];
        for (int b = 0; b < widths.length; b++) {
            int[] idx = new int[rows * cols];
            for (int i = 0; i < idx.length; i++) idx[i] = rnd.nextInt(1 << widths[b]);
            float[] sc = new float[rows];
            java.util.Arrays.fill(sc, 0.01f);
            for (int i = 0; i < matrices; i++) packed[b][i] = PackedBits.pack(widths[b], idx, rows, cols, sc, PackedBits.linspaceLevels(widths[b]));
        }
        float[] x = new float[Math.max(gemmM, 1) * cols];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        float[] y = new float[Math.max(gemmM, 1) * rows];
        int saved = Parallel.threads();
        List<Row> out = new ArrayList<>();
        try {
            for (int t : ts) {
                Parallel.setThreads(t);
                System.err.printf("bench gemv: %d thread(s)...%n", t);
                double weights = (double) matrices * rows * cols;
                double[] fp = rate(() -> {
                    for (float[] w : wf) Sgemm.gemm(false, true, 1, rows, cols, x, 0, cols, w, 0, cols, y, 0, rows, false);
                }, weights * 4 / 1e9, t);
                double[] w8 = rate(() -> {
                    for (Int8Weights w : wq) W8A16Kernels.gemv(w, x, 0, y, 0, false);
                }, weights / 1e9, t);
                // float activations (W4A16) explicitly: the default mode gives 4-bit decode int8-block activations
                W8A8BlockKernels.Mode before = W8A8BlockKernels.setMode(W8A8BlockKernels.Mode.OFF);
                double[] w4r;
                try {
                    w4r = rate(() -> {
                        for (PackedIntWeights w : w4) WNA16Kernels.gemv(w, x, 0, y, 0, false);
                    }, weights / 1e9, t);
                } finally {
                    W8A8BlockKernels.setMode(before);
                }
                double[] w4a8 = W8A8BlockKernels.supports(w4[0]) ? rate(() -> {
                    for (PackedIntWeights w : w4) W8A8BlockKernels.packed4(w, x, 0, 1, y, 0, rows);
                }, weights / 1e9, t) : null;
                out.add(new Row("gemv_fp32", t, fp[0], fp[1], "GB/s"));
                out.add(new Row("gemv_w8a16", t, w8[0], w8[1], "GB/s"));
                if (W8A8BlockKernels.supports(wq[0])) {
                    double[] w8n = rate(() -> {
                        for (Int8Weights w : wqNative) W8A16Kernels.gemv(w, x, 0, y, 0, false);
                    }, weights / 1e9, t);
                    double[] a8 = rate(() -> {
                        for (Int8Weights w : wqNative) W8A8BlockKernels.int8(w, x, 0, 1, y, 0, rows);
                    }, weights / 1e9, t);
                    out.add(new Row("gemv_w8a16_offheap", t, w8n[0], w8n[1], "GB/s"));
                    out.add(new Row("gemv_w8a8_block_offheap", t, a8[0], a8[1], "GB/s"));
                }
                if (q8.length > 0) {
                    double blockBytes = weights * 34 / 32 / 1e9;
                    W8A8BlockKernels.Mode was = W8A8BlockKernels.setMode(W8A8BlockKernels.Mode.OFF);
                    try {
                        double[] qf = rate(() -> {
                            for (MemorySegment w : q8) GgmlBlockKernels.matmul(GgmlBlockKernels.Format.Q8_0, w, 0, rows, cols, x, 1, y);
                        }, blockBytes, t);
                        double[] qi = rate(() -> {
                            for (MemorySegment w : q8) W8A8BlockKernels.q8_0(w, 0, rows, cols, x, 1, y);
                        }, blockBytes, t);
                        out.add(new Row("gemv_q8_0_float_acts", t, qf[0], qf[1], "GB/s"));
                        out.add(new Row("gemv_q8_0_int8_acts", t, qi[0], qi[1], "GB/s"));
                    } finally {
                        W8A8BlockKernels.setMode(was);
                    }
                }
                out.add(new Row("gemv_w4a16", t, w4r[0] / 2, w4r[1] / 2, "GB/s"));
                out.add(new Row("gemv_w4a16_weights", t, w4r[0], w4r[1], "Gweights/s"));
                if (w4a8 != null) out.add(new Row("gemv_w4a8_block_weights", t, w4a8[0], w4a8[1], "Gweights/s"));
                for (int b = 0; b < widths.length; b++) {
                    PackedBits[] ws = packed[b];
                    long bytes = 0;
                    for (PackedBits w : ws) bytes += w.packedBytes();
                    double[] tb = rate(() -> {
                        for (PackedBits w : ws) PackedBitsKernels.gemv(w, x, 0, y, 0, false);
                    }, weights / 1e9, t);
                    double perByte = bytes / weights;
                    out.add(new Row("gemv_packed" + widths[b] + "bit", t, tb[0] * perByte, tb[1] * perByte, "GB/s"));
                    out.add(new Row("gemv_packed" + widths[b] + "bit_weights", t, tb[0], tb[1], "Gweights/s"));
                }
                if (gemmM > 1) {
                    double flop = 2.0 * gemmM * rows * cols;
                    double[] gf = rate(() -> Sgemm.gemm(false, true, gemmM, rows, cols, x, 0, cols, wf[0], 0, cols, y, 0, rows, false), flop / 1e9, t);
                    double[] gq = rate(() -> W8A16Kernels.gemm(gemmM, x, 0, cols, wq[0], y, 0, rows, false), flop / 1e9, t);
                    out.add(new Row("gemm_fp32_m" + gemmM, t, gf[0], gf[1], "GFLOPS"));
                    out.add(new Row("gemm_w8a16_m" + gemmM, t, gq[0], gq[1], "GFLOPS"));
                }
            }
        } finally {
            Parallel.setThreads(saved);
        }
        if (json) {
            List<GemvJson.Case> cases = out.stream().map(r -> new GemvJson.Case(r.kernel(), r.threads(), r.value(), r.threads() == 1 ? r.cpuValue() : null,
                    r.unit())).toList();
            Json.print(new GemvJson("gemv", rows, cols, matrices, g, cases, Map.of("cpu_value", "per CPU-second of the calling thread: measured in 1-thread cases only")));
        } else {
            System.out.printf("%-26s %7s %10s %10s%n", "kernel", "threads", "value", "cpu_value");
            for (Row r : out) System.out.printf(Locale.ROOT, "%-26s %7d %10.2f %10.2f %s%n", r.kernel(), r.threads(), r.value(), r.cpuValue(), r.unit());
            System.out.println("(cpu_value: per CPU-second of the calling thread, 1-thread cases only)");
            System.out.printf("(weights [%d, %d] x %d matrices, group %d; shared machine: differences under ~15%% are noise)%n", rows, cols, matrices, g);
        }
    }
}
