package org.goldenstick.cli.bench;

import org.goldenstick.tensor.kernel.MemoryBandwidth;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.Locale;

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
    @Option(names = "--json", description = "Print a JSON array instead of a table.")
    boolean json;

    @Override
    public void run() {
        int[] ts = Timing.ints(threads, "--threads");
        StringBuilder sb = new StringBuilder(json ? "[" : String.format("%7s %8s%n", "threads", "GB/s"));
        for (int i = 0; i < ts.length; i++) {
            double gbs = MemoryBandwidth.measure(ts[i], mib << 20, seconds);
            if (json) sb.append(i == 0 ? "\n  " : ",\n  ").append(String.format(Locale.ROOT,
                    "{\"threads\": %d, \"bytes\": %d, \"gb_per_s\": %.2f}", ts[i], mib << 20, gbs));
            else sb.append(String.format(Locale.ROOT, "%7d %8.2f%n", ts[i], gbs));
        }
        System.out.print(json ? sb.append("\n]\n") : sb);
    }
}
