package org.goldenstick.cli.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process's peak resident memory (Linux {@code VmHWM}); {@code bench ptq} runs each measured step in its own
 * JVM, which prints this at its end.
 *
 * <pre>{@code
 * long peak = PeakRss.peakBytes();   // -1 if unknown
 * }</pre>
 */
final class PeakRss {
    private PeakRss() {}

    /** The peak resident size in bytes since the process started, or -1. */
    static long peakBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) return 1024 * Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        } catch (IOException | SecurityException | NumberFormatException e) {
            // not Linux
        }
        return -1;
    }
}
