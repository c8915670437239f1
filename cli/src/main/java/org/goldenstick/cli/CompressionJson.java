package org.goldenstick.cli;

import java.nio.file.Path;

/**
 * The keys every compression command ({@code qat}, {@code prune}, and any later one) reports alike, unwrapped into
 * its {@code --json} object (docs/cli.md). Sizes are bytes of the files written; speeds are inference images/s of
 * both networks on this engine, measured in the same run, or null (with a reason) when not measured.
 *
 * @param out                     the compressed network's file (safetensors)
 * @param onnx                    its ONNX export, which ONNX Runtime ran
 * @param onnxRuntimeAccuracy     top-1 accuracy of {@code onnx} in ONNX Runtime on the test set
 * @param onnxAgreement           fraction of test samples on which ONNX Runtime and our engine predict the same class
 */
record CompressionJson(String algo, String model, String dataset, double fp32Accuracy, double compressedAccuracy, double accuracyDropPoints,
                       double onnxRuntimeAccuracy, double onnxAgreement, long fp32Bytes, long compressedBytes, double compressedRatio, Path out,
                       Path onnx, Path fp32Checkpoint, Double fp32ImagesPerSecond, Double compressedImagesPerSecond, Double speedup, int testSamples,
                       int threads) {

    /** Fills the derived keys (drop in points, size ratio, speed-up) and turns unmeasured speeds into null with a reason. */
    static CompressionJson of(String algo, String model, String dataset, double fp32Accuracy, double compressedAccuracy, OnnxRuntimeCheck.Result ort,
                              long fp32Bytes, long compressedBytes, Path out, Path onnx, Path fp32Checkpoint, double fp32Ips, double compressedIps,
                              int testSamples, int threads, Json.Reasons why) {
        String notMeasured = "not measured (--bench-seconds 0)";
        Double a = why.positive("fp32_images_per_second", fp32Ips, notMeasured);
        Double b = why.positive("compressed_images_per_second", compressedIps, notMeasured);
        Double s = a != null && b != null ? b / a : why.present("speedup", null, notMeasured);
        return new CompressionJson(algo, model, dataset, fp32Accuracy, compressedAccuracy, 100 * (fp32Accuracy - compressedAccuracy), ort.accuracy(),
                ort.agreement(), fp32Bytes, compressedBytes, compressedBytes / (double) fp32Bytes, out, onnx, fp32Checkpoint, a, b, s, testSamples, threads);
    }
}
