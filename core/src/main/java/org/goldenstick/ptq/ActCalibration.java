package org.goldenstick.ptq;

import java.util.Arrays;
import java.util.Locale;

/**
 * How post-training quantization of a CNN ({@link CnnPtq}) picks each activation's range from calibration data
 * (float activations, every quantizer bypassed):
 * <ul>
 *   <li>{@code MIN_MAX}: the smallest and largest value seen ({@link org.goldenstick.quant.MinMaxObserver});</li>
 *   <li>{@code MOVING_AVERAGE}: batch min/max averaged over the calibration batches
 *       ({@link org.goldenstick.quant.MovingAverageMinMaxObserver});</li>
 *   <li>{@code PERCENTILE}: the (100 − p)-th to p-th percentile, p = 99.99 by default;</li>
 *   <li>{@code MSE}: the clipping with the least squared quantization error;</li>
 *   <li>{@code ENTROPY}: the clipping with the least KL divergence (TensorRT's entropy calibration).</li>
 * </ul>
 * The last three read a {@link org.goldenstick.quant.HistogramObserver} filled in a second pass over the data.
 *
 * <pre>{@code
 * ActCalibration c = ActCalibration.parse("entropy");
 * }</pre>
 */
public enum ActCalibration {
    MIN_MAX("minmax"), MOVING_AVERAGE("moving-average"), PERCENTILE("percentile"), MSE("mse"), ENTROPY("entropy");

    private final String cliName;

    ActCalibration(String cliName) {
        this.cliName = cliName;
    }

    /** The name used on the command line and in reports. */
    public String cliName() {
        return cliName;
    }

    /** Whether the range comes from a histogram (a second calibration pass). */
    public boolean needsHistogram() {
        return this == PERCENTILE || this == MSE || this == ENTROPY;
    }

    /** From its command-line name ({@code minmax}, {@code moving-average}, {@code percentile}, {@code mse}, {@code entropy}). */
    public static ActCalibration parse(String name) {
        for (ActCalibration c : values()) if (c.cliName.equals(name.toLowerCase(Locale.ROOT))) return c;
        throw new IllegalArgumentException("unknown activation calibration '" + name + "'; choose one of "
                + Arrays.stream(values()).map(ActCalibration::cliName).toList());
    }
}
