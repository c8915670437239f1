package org.goldenstick.tensor;

import java.util.Locale;

/**
 * The {@code rope_scaling} block of a Hugging Face Llama config, for {@link RopeTable#create}.
 *
 * <ul>
 *   <li>{@code "llama3"}: Llama 3.1 frequency-dependent scaling; low frequencies (wavelength above
 *       {@code originalMaxPositions / lowFreqFactor}) are divided by {@code factor}, high frequencies (wavelength below
 *       {@code originalMaxPositions / highFreqFactor}) are kept, and the band between is interpolated smoothly.
 *   <li>{@code "linear"}: every frequency divided by {@code factor} (position interpolation); the other fields are unused.
 * </ul>
 *
 * <pre>{@code
 * RopeScaling s = RopeScaling.llama3(8.0, 1.0, 4.0, 8192);   // Llama 3.1/3.2 defaults
 * RopeTable rope = RopeTable.create(64, 4096, 500000.0, s);
 * }</pre>
 *
 * @param type                 "llama3" or "linear" (case-insensitive; HF's key is {@code rope_type} or {@code type})
 * @param factor               scale factor (&gt; 0)
 * @param lowFreqFactor        llama3 {@code low_freq_factor}
 * @param highFreqFactor       llama3 {@code high_freq_factor} (&gt; lowFreqFactor)
 * @param originalMaxPositions llama3 {@code original_max_position_embeddings}
 */
public record RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {
    public RopeScaling {
        if (type == null) throw new IllegalArgumentException("rope_scaling: type is missing (expected \"llama3\" or \"linear\")");
        type = type.toLowerCase(Locale.ROOT);
        if (!(factor > 0) || Double.isInfinite(factor)) throw new IllegalArgumentException("rope_scaling: factor must be > 0, got " + factor);
        switch (type) {
            case "linear" -> {}
            case "llama3" -> {
                if (!(lowFreqFactor > 0) || !(highFreqFactor > lowFreqFactor)) {
                    throw new IllegalArgumentException("rope_scaling (llama3): need 0 < low_freq_factor < high_freq_factor, got "
                            + lowFreqFactor + " and " + highFreqFactor);
                }
                if (originalMaxPositions < 1) {
                    throw new IllegalArgumentException("rope_scaling (llama3): original_max_position_embeddings must be >= 1, got " + originalMaxPositions);
                }
            }
            default -> throw new IllegalArgumentException("rope_scaling: unsupported type \"" + type + "\" (supported: llama3, linear)");
        }
    }

    /** Llama 3.1-style scaling. */
    public static RopeScaling llama3(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {
        return new RopeScaling("llama3", factor, lowFreqFactor, highFreqFactor, originalMaxPositions);
    }

    /** Linear position interpolation. */
    public static RopeScaling linear(double factor) {
        return new RopeScaling("linear", factor, 0, 0, 0);
    }

    /** Applies this scaling to one inverse frequency (radians per position). */
    double scale(double invFreq) {
        if (type.equals("linear")) return invFreq / factor;
        double lowFreqWavelen = originalMaxPositions / lowFreqFactor;
        double highFreqWavelen = originalMaxPositions / highFreqFactor;
        double wavelen = 2 * Math.PI / invFreq;
        if (wavelen < highFreqWavelen) return invFreq;
        if (wavelen > lowFreqWavelen) return invFreq / factor;
        double smooth = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        return (1 - smooth) * invFreq / factor + smooth * invFreq;
    }
}
