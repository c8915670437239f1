package org.goldenstick.tensor;

/**
 * The {@code rope_scaling} entry of a Hugging Face Llama config.json: how rotary frequencies are stretched for
 * contexts longer than the model was pre-trained on. {@link RopeTable#create} applies it; {@code llm.LlamaConfig}
 * parses and writes it.
 *
 * <pre>{@code
 * RopeScaling s = new RopeScaling.Llama3(8.0, 1.0, 4.0, 8192);   // Llama 3.1/3.2 defaults
 * RopeTable rope = RopeTable.create(64, 4096, 500000.0, s);
 * }</pre>
 */
public sealed interface RopeScaling {

    /** The {@code rope_type} / {@code type} string used in config.json. */
    String type();

    /** Applies this scaling to one inverse frequency (radians per position). */
    double scale(double invFreq);

    /** Position interpolation: every frequency divided by {@code factor}. */
    record Linear(double factor) implements RopeScaling {
        public Linear {
            if (!(factor > 0) || Double.isInfinite(factor)) throw new IllegalArgumentException("rope_scaling.factor must be > 0, got " + factor);
        }

        @Override
        public String type() {
            return "linear";
        }

        @Override
        public double scale(double invFreq) {
            return invFreq / factor;
        }
    }

    /**
     * Llama 3.1 frequency-dependent scaling: low frequencies (wavelength above
     * {@code originalMaxPositionEmbeddings / lowFreqFactor}) are divided by {@code factor}, high frequencies
     * (wavelength below {@code originalMaxPositionEmbeddings / highFreqFactor}) are kept, and the band between is
     * interpolated smoothly.
     */
    record Llama3(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositionEmbeddings) implements RopeScaling {
        public Llama3 {
            if (!(factor > 0) || Double.isInfinite(factor)) throw new IllegalArgumentException("rope_scaling.factor must be > 0, got " + factor);
            if (!(lowFreqFactor > 0)) throw new IllegalArgumentException("rope_scaling.low_freq_factor must be > 0, got " + lowFreqFactor);
            if (!(highFreqFactor > lowFreqFactor)) throw new IllegalArgumentException("rope_scaling.high_freq_factor (" + highFreqFactor + ") must be > low_freq_factor (" + lowFreqFactor + ")");
            if (originalMaxPositionEmbeddings <= 0) throw new IllegalArgumentException("rope_scaling.original_max_position_embeddings must be > 0, got " + originalMaxPositionEmbeddings);
        }

        @Override
        public String type() {
            return "llama3";
        }

        @Override
        public double scale(double invFreq) {
            double lowFreqWavelen = originalMaxPositionEmbeddings / lowFreqFactor;
            double highFreqWavelen = originalMaxPositionEmbeddings / highFreqFactor;
            double wavelen = 2 * Math.PI / invFreq;
            if (wavelen < highFreqWavelen) return invFreq;
            if (wavelen > lowFreqWavelen) return invFreq / factor;
            double smooth = (originalMaxPositionEmbeddings / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
            return (1 - smooth) * invFreq / factor + smooth * invFreq;
        }
    }
}
