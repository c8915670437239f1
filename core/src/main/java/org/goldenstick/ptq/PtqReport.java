package org.goldenstick.ptq;

import java.util.Locale;

/**
 * What a quantization run did: the CLI prints it ({@link #summary()}, or its fields as JSON with {@code --json}).
 *
 * @param inputBytes       size of the input checkpoint's safetensors files
 * @param outputBytes      size of the output checkpoint's safetensors file
 * @param seconds          wall time of the whole run
 * @param weightBytesRead  bytes of linear-layer weights read and quantized (the throughput numerator)
 * @param writeSeconds     the part of {@code seconds} spent writing the output and forcing it to disk; it is bounded by
 *                         the disk, not by the quantization, so it is reported apart
 */
public record PtqReport(String method, long inputBytes, long outputBytes, double seconds, int layersQuantized, int layersSkipped,
                        long weightBytesRead, double writeSeconds) {

    /** Quantized weight bytes processed per second of the whole run, in GB/s (10^9). */
    public double throughputGBps() {
        return seconds > 0 ? weightBytesRead / seconds / 1e9 : 0;
    }

    /** Quantized weight bytes per second of the run without the output write: read, convert, check and quantize. */
    public double quantizeGBps() {
        double q = seconds - writeSeconds;
        return q > 0 ? weightBytesRead / q / 1e9 : 0;
    }

    /** Output size as a fraction of the input. */
    public double sizeRatio() {
        return inputBytes > 0 ? (double) outputBytes / inputBytes : 0;
    }

    public String summary() {
        return String.format(Locale.ROOT, "%s: %d layers quantized, %d skipped; %.1f MB -> %.1f MB (%.1f%%) in %.2f s (%.2f GB/s of weights; %.2f s of it writing the output, %.2f GB/s without)",
                method, layersQuantized, layersSkipped, inputBytes / 1e6, outputBytes / 1e6, 100 * sizeRatio(), seconds, throughputGBps(), writeSeconds, quantizeGBps());
    }
}
