package org.goldenstick.cli.bench;

import org.goldenstick.tensor.kernel.MemoryBandwidth;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.goldenstick.cli.Json;

/** {@code gstick bench membw}: streaming read bandwidth (sum of a large float array). */
@Command(name = "membw", mixinStandardHelpOptions = true,
        description = "Memory read bandwidth in GB/s: median pass summing a large float array.")
public final class MemBwBench implements Runnable {
    @Option(names = "--threads", description = "Comma-separated thread counts (default: ${DEFAULT-VALUE}).")
    String threads = "1,2";
    @Option(names = "--mib", description = "Array size in MiB (default: ${DEFAULT-VALUE}).")
    long mib = 1024;
    @Option(names = "--seconds", description = "Measuring time per thread count (default: ${DEFAULT-VALUE}).")
    double seconds = 3.0;
    @Option(names = "--json", description = "Print one JSON object instead of a table.")
    boolean json;

    /** The {@code --json} object: one case per thread count. */
    record MemBwJson(String bench, List<Case> cases) {
        record Case(int threads, long bytes, double gbPerS) {}
    }

    @Override
    public void run() {
        int[] ts = Timing.ints(threads, "--threads");
        List<MemBwJson.Case> cases = new ArrayList<>();
        for (int t : ts) cases.add(new MemBwJson.Case(t, mib << 20, MemoryBandwidth.measure(t, mib << 20, seconds)));
        if (json) {
            Json.print(new MemBwJson("membw", cases));
            return;
        }
        System.out.printf("%7s %8s%n", "threads", "GB/s");
        for (MemBwJson.Case c : cases) System.out.printf(Locale.ROOT, "%7d %8.2f%n", c.threads(), c.gbPerS());
    }
}
