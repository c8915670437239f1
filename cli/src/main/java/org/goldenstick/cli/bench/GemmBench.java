package org.goldenstick.cli.bench;

import org.bytedeco.javacpp.FloatPointer;
import org.goldenstick.tensor.kernel.Parallel;
import org.goldenstick.tensor.kernel.Sgemm;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.goldenstick.cli.Json;
import java.util.Random;

/** {@code gstick bench gemm}: our SGEMM against OpenBLAS on square sizes, 1 and 2 threads. */
@Command(name = "gemm", mixinStandardHelpOptions = true,
        description = "SGEMM GFLOPS (ours vs OpenBLAS), square C = A·B, median after warm-up.")
public final class GemmBench implements Runnable {
    @Option(names = "--sizes", description = "Comma-separated square sizes (default: ${DEFAULT-VALUE}).")
    String sizes = "256,512,1024,2048";
    @Option(names = "--threads", description = "Comma-separated thread counts (default: ${DEFAULT-VALUE}).")
    String threads = "1,2";
    @Option(names = "--seconds", description = "Measuring time per case and engine (default: ${DEFAULT-VALUE}).")
    double seconds = 2.0;
    @Option(names = "--warmup", description = "Warm-up time per case and engine (default: ${DEFAULT-VALUE}).")
    double warmup = 3.0;
    @Option(names = "--json", description = "Print a JSON array instead of a table.")
    boolean json;

    /** cpu* fields: GFLOPS per CPU-second of the calling thread (single-thread cases only, else NaN). */
    record Row(int size, int threads, double gflops, double openblasGflops, double cpuGflops, double openblasCpuGflops) {
        double ratio() {
            return gflops / openblasGflops;
        }
    }

    /** The {@code --json} object: one case per size and thread count; {@code cpu_*} are null in multi-thread cases. */
    record GemmJson(String bench, List<Case> cases, Map<String, String> nullReasons) {
        record Case(int size, int threads, double gflops, double openblasGflops, double ratio, Double cpuGflops, Double openblasCpuGflops,
                    Double cpuRatio) {}
    }

    @Override
    public void run() {
        int[] ns = Timing.ints(sizes, "--sizes");
        int[] ts = Timing.ints(threads, "--threads");
        int saved = Parallel.threads();
        List<Row> rows = new ArrayList<>();
        try {
            OpenBlas.load();
            for (int n : ns) {
                if (n < 1) throw new IllegalArgumentException("--sizes: sizes must be >= 1, got " + n);
                Random rnd = new Random(n);
                float[] a = new float[n * n], b = new float[n * n], c = new float[n * n];
                for (int i = 0; i < a.length; i++) {
                    a[i] = (float) rnd.nextGaussian();
                    b[i] = (float) rnd.nextGaussian();
                }
                try (FloatPointer pa = new FloatPointer(a); FloatPointer pb = new FloatPointer(b); FloatPointer pc = new FloatPointer((long) n * n)) {
                    double flop = 2.0 * n * n * n;
                    for (int t : ts) {
                        if (t < 1) throw new IllegalArgumentException("--threads: must be >= 1, got " + t);
                        System.err.printf("bench gemm: size %d, %d thread(s)...%n", n, t);
                        Parallel.setThreads(t);
                        double[] ours = Timing.medians(() -> Sgemm.gemm(false, false, n, n, n, a, 0, n, b, 0, n, c, 0, n, false), warmup, seconds);
                        if (!OpenBlas.setThreads(t)) System.err.println("bench gemm: openblas_set_num_threads not found; OPENBLAS_NUM_THREADS applies");
                        double[] blas = Timing.medians(() -> OpenBlas.sgemm(n, pa, pb, pc), warmup, seconds);
                        rows.add(new Row(n, t, flop / ours[0] / 1e9, flop / blas[0] / 1e9,
                                t == 1 ? flop / ours[1] / 1e9 : Double.NaN, t == 1 ? flop / blas[1] / 1e9 : Double.NaN));
                        if (!json) System.err.printf("  ours %.1f GFLOPS, OpenBLAS %.1f GFLOPS%n", flop / ours[0] / 1e9, flop / blas[0] / 1e9);
                    }
                }
            }
        } finally {
            Parallel.setThreads(saved);
        }
        if (json) {
            List<GemmJson.Case> cases = rows.stream().map(r -> new GemmJson.Case(r.size(), r.threads(), r.gflops(), r.openblasGflops(), r.ratio(),
                    r.threads() == 1 ? r.cpuGflops() : null, r.threads() == 1 ? r.openblasCpuGflops() : null,
                    r.threads() == 1 ? r.cpuGflops() / r.openblasCpuGflops() : null)).toList();
            Json.print(new GemmJson("gemm", cases, Map.of("cpu_gflops", "per CPU-second of the calling thread: measured in 1-thread cases only")));
        } else {
            System.out.printf("%6s %7s %10s %16s %7s %11s %20s%n", "size", "threads", "gflops", "openblas_gflops", "ratio", "cpu_gflops", "openblas_cpu_gflops");
            for (Row r : rows) {
                System.out.printf(java.util.Locale.ROOT, "%6d %7d %10.1f %16.1f %7.3f %11.1f %20.1f%n", r.size(), r.threads(), r.gflops(), r.openblasGflops(), r.ratio(), r.cpuGflops(), r.openblasCpuGflops());
            }
            System.out.println("(cpu_*: per CPU-second of the calling thread, 1-thread cases only: excludes waiting for a core)");
            System.out.println("(shared machine: treat differences under ~15% (1 thread) / ~30% (2 threads) as noise)");
        }
    }
}
