package org.goldenstick.cli.bench;

import org.goldenstick.tensor.kernel.Int8Gemm;
import org.goldenstick.tensor.kernel.Parallel;
import org.goldenstick.tensor.kernel.QMatrix;
import org.goldenstick.tensor.kernel.Sgemm;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;
import org.goldenstick.cli.Json;
import java.util.Locale;
import java.util.Random;

/** {@code gstick bench int8}: exact u8×s8→s32 GEMM (fp32-widening path) beside fp32 SGEMM, same sizes, same run. */
@Command(name = "int8", mixinStandardHelpOptions = true,
        description = "Int8Gemm GOPS (uint8 × int8 → int32, exact) vs Sgemm GFLOPS on square sizes, median after warm-up.")
public final class Int8Bench implements Runnable {
    @Option(names = "--sizes", description = "Comma-separated square sizes (default: ${DEFAULT-VALUE}).")
    String sizes = "512,1024";
    @Option(names = "--threads", description = "Comma-separated thread counts (default: ${DEFAULT-VALUE}).")
    String threads = "1,2";
    @Option(names = "--seconds", description = "Measuring time per case (default: ${DEFAULT-VALUE}).")
    double seconds = 2.0;
    @Option(names = "--warmup", description = "Warm-up time per case (default: ${DEFAULT-VALUE}).")
    double warmup = 3.0;
    @Option(names = "--json", description = "Print a JSON array instead of a table.")
    boolean json;

    /** The {@code --json} object: one case per size and thread count; {@code ratio} is int8 GOPS over SGEMM GFLOPS. */
    record Int8Json(String bench, List<Case> cases) {
        record Case(int size, int threads, double int8Gops, double sgemmGflops, double ratio) {}
    }

    @Override
    public void run() {
        int saved = Parallel.threads();
        List<Int8Json.Case> rows = new ArrayList<>();
        try {
            for (int n : Timing.ints(sizes, "--sizes")) {
                Random rnd = new Random(n);
                byte[] a = new byte[n * n], b = new byte[n * n];
                rnd.nextBytes(a);
                rnd.nextBytes(b);
                float[] fa = new float[n * n], fb = new float[n * n], fc = new float[n * n];
                for (int i = 0; i < fa.length; i++) {
                    fa[i] = a[i];
                    fb[i] = b[i];
                }
                int[] c = new int[n * n];
                QMatrix qa = QMatrix.uint8(a, 0, n, 128), qb = QMatrix.int8(b, 0, n, 0);
                double ops = 2.0 * n * n * n;
                for (int t : Timing.ints(threads, "--threads")) {
                    Parallel.setThreads(t);
                    System.err.printf("bench int8: size %d, %d thread(s)...%n", n, t);
                    double ti = Timing.median(() -> Int8Gemm.gemm(n, n, n, qa, qb, c, 0, n, false), warmup, seconds);
                    double tf = Timing.median(() -> Sgemm.gemm(false, false, n, n, n, fa, 0, n, fb, 0, n, fc, 0, n, false), warmup, seconds);
                    rows.add(new Int8Json.Case(n, t, ops / ti / 1e9, ops / tf / 1e9, tf / ti));
                    if (!json) System.out.printf(Locale.ROOT, "size %5d threads %d: int8 %.1f GOPS, sgemm %.1f GFLOPS (int8/sgemm %.2f)%n",
                            n, t, ops / ti / 1e9, ops / tf / 1e9, tf / ti);
                }
            }
        } finally {
            Parallel.setThreads(saved);
        }
        if (json) Json.print(new Int8Json("int8", rows));
        else System.out.println("(shared machine: differences under ~15% are noise)");
    }
}
