package org.goldenstick.cli.bench;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code gstick bench ...}: kernel benchmarks (GEMM against OpenBLAS, memory bandwidth, quantized GEMV). */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Kernel benchmarks. The machine is shared, so treat differences under ~15%% as noise.",
        subcommands = {
                GemmBench.class,
                MemBwBench.class,
                GemvBench.class,
                Int8Bench.class,
                LlmBench.class,
                PtqBench.class,
                TrainBench.class,
        })
public final class BenchCommand implements Runnable {
    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }
}
