package org.goldenstick.llm;

/**
 * The {@code rope_scaling} entry of a Hugging Face Llama config.json: how rotary frequencies are stretched
 * for contexts longer than the model was pre-trained on.
 *
 * <pre>{@code
 * RopeScaling s = new RopeScaling.Llama3(8.0, 1.0, 4.0, 8192);
 * RopeTable table = config.withRopeScaling(s).ropeTable(4096);
 * }</pre>
 */
public sealed interface RopeScaling {

    /** The {@code rope_type} / {@code type} string used in config.json. */
    String type();

    /** Scales every frequency by {@code 1/factor} (positions divided by factor). */
    record Linear(double factor) implements RopeScaling {
        public Linear {
            if (!(factor > 0) || Double.isInfinite(factor)) throw new IllegalArgumentException("rope_scaling.factor must be > 0, got " + factor);
        }

        @Override
        public String type() {
            return "linear";
        }
    }

    /**
     * Llama 3.1 frequency-dependent scaling: long wavelengths are divided by {@code factor}, short ones kept,
     * and the band between is interpolated smoothly.
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
    }
}
