package org.goldenstick.ptq;

import java.util.ArrayList;
import java.util.List;
import org.goldenstick.rewrite.LayerFilter;

/**
 * Settings of static int8 post-training quantization of a CNN ({@link CnnPtq}), validated when built. Weights are always
 * int8, symmetric, per output channel; activations uint8, asymmetric, per tensor (the grid SimQAT deploys).
 *
 * @param calibration        how activation ranges are chosen
 * @param percentile         the percentile of {@link ActCalibration#PERCENTILE}, in (50, 100]
 * @param calibrationSamples images used for calibration at most (the first ones given)
 * @param batchSize          calibration batch size (also the batches {@link ActCalibration#MOVING_AVERAGE} averages over)
 * @param movingAverage      weight of a new batch in {@link ActCalibration#MOVING_AVERAGE}, in (0, 1]
 * @param biasCorrection     correct each layer's bias by the mean shift quantization causes in its output
 * @param skipLayers         regular expressions of dotted layer paths kept in float
 *
 * <pre>{@code
 * CnnPtqConfig cfg = CnnPtqConfig.defaults().withCalibration(ActCalibration.ENTROPY).withCalibrationSamples(300);
 * }</pre>
 */
public record CnnPtqConfig(ActCalibration calibration, double percentile, int calibrationSamples, int batchSize, float movingAverage,
                           boolean biasCorrection, List<String> skipLayers) {
    public CnnPtqConfig {
        if (calibration == null) throw new IllegalArgumentException("CnnPtqConfig: calibration is null");
        if (!(percentile > 50 && percentile <= 100)) throw new IllegalArgumentException("CnnPtqConfig: percentile must be in (50, 100], got " + percentile);
        if (calibrationSamples < 1) throw new IllegalArgumentException("CnnPtqConfig: calibration samples must be >= 1, got " + calibrationSamples);
        if (batchSize < 1) throw new IllegalArgumentException("CnnPtqConfig: batch size must be >= 1, got " + batchSize);
        if (!(movingAverage > 0 && movingAverage <= 1)) throw new IllegalArgumentException("CnnPtqConfig: moving-average constant must be in (0, 1], got " + movingAverage);
        skipLayers = List.copyOf(skipLayers == null ? List.of() : skipLayers);
        LayerFilter.ignoring("CnnPtq", "skip_layers", skipLayers);
    }

    /** Percentile 99.99 calibration on 300 images in batches of 32, moving average 0.1, bias correction on, nothing skipped. */
    public static CnnPtqConfig defaults() {
        return new CnnPtqConfig(ActCalibration.PERCENTILE, 99.99, 300, 32, 0.1f, true, List.of());
    }

    public CnnPtqConfig withCalibration(ActCalibration c) {
        return new CnnPtqConfig(c, percentile, calibrationSamples, batchSize, movingAverage, biasCorrection, skipLayers);
    }

    public CnnPtqConfig withPercentile(double p) {
        return new CnnPtqConfig(calibration, p, calibrationSamples, batchSize, movingAverage, biasCorrection, skipLayers);
    }

    public CnnPtqConfig withCalibrationSamples(int n) {
        return new CnnPtqConfig(calibration, percentile, n, batchSize, movingAverage, biasCorrection, skipLayers);
    }

    public CnnPtqConfig withBatchSize(int b) {
        return new CnnPtqConfig(calibration, percentile, calibrationSamples, b, movingAverage, biasCorrection, skipLayers);
    }

    public CnnPtqConfig withBiasCorrection(boolean on) {
        return new CnnPtqConfig(calibration, percentile, calibrationSamples, batchSize, movingAverage, on, skipLayers);
    }

    public CnnPtqConfig withSkipLayers(List<String> regexes) {
        return new CnnPtqConfig(calibration, percentile, calibrationSamples, batchSize, movingAverage, biasCorrection, regexes);
    }

    /** These skip patterns plus the exact dotted paths {@code layers} (anchored, quoted). */
    public CnnPtqConfig plusExactLayers(List<String> layers) {
        List<String> s = new ArrayList<>(skipLayers);
        for (String l : layers) s.add("^" + java.util.regex.Pattern.quote(l) + "$");
        return withSkipLayers(s);
    }
}
