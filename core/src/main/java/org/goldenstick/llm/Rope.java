package org.goldenstick.llm;

/**
 * Rotary position embedding frequencies and cos/sin tables in the Hugging Face "rotate half" convention:
 * for a head vector {@code x} of size {@code d}, pairs are {@code (x[i], x[i + d/2])} rotated by angle
 * {@code pos · invFreq[i]}.
 *
 * <pre>{@code
 * Rope rope = Rope.of(config);
 * rope.apply(q, qOffset, position);   // in place, one head vector
 * }</pre>
 */
public final class Rope {
    private final int headDim;
    private final double[] invFreq;
    private final float[] invFreqF;

    private Rope(int headDim, double[] invFreq) {
        this.headDim = headDim;
        this.invFreq = invFreq;
        this.invFreqF = new float[invFreq.length];
        for (int i = 0; i < invFreq.length; i++) invFreqF[i] = (float) invFreq[i];
    }

    public static Rope of(LlamaConfig c) {
        return new Rope(c.headDim(), inverseFrequencies(c.headDim(), c.ropeTheta(), c.ropeScaling()));
    }

    /**
     * {@code invFreq[i] = theta^(-2i/d)} for i in [0, d/2), adjusted by the scaling rule (null = none), as
     * transformers' {@code _compute_default_rope_parameters}, {@code _compute_linear_scaling_rope_parameters}
     * and {@code _compute_llama3_parameters} define them.
     */
    public static double[] inverseFrequencies(int headDim, double theta, RopeScaling scaling) {
        if (headDim <= 0 || headDim % 2 != 0) throw new IllegalArgumentException("rotary head_dim must be even and positive, got " + headDim);
        int half = headDim / 2;
        double[] inv = new double[half];
        for (int i = 0; i < half; i++) inv[i] = 1.0 / Math.pow(theta, (2.0 * i) / headDim);
        switch (scaling) {
            case null -> {}
            case RopeScaling.Linear l -> {
                for (int i = 0; i < half; i++) inv[i] /= l.factor();
            }
            case RopeScaling.Llama3 s -> {
                double lowWavelen = s.originalMaxPositionEmbeddings() / s.lowFreqFactor();
                double highWavelen = s.originalMaxPositionEmbeddings() / s.highFreqFactor();
                for (int i = 0; i < half; i++) {
                    double wavelen = 2 * Math.PI / inv[i];
                    if (wavelen > lowWavelen) {
                        inv[i] = inv[i] / s.factor();
                    } else if (wavelen >= highWavelen) {
                        // medium band: interpolate between scaled and unscaled
                        double smooth = (s.originalMaxPositionEmbeddings() / wavelen - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
                        inv[i] = (1 - smooth) * inv[i] / s.factor() + smooth * inv[i];
                    }
                }
            }
        }
        return inv;
    }

    public int headDim() {
        return headDim;
    }

    /** A copy of the inverse frequencies (length headDim/2). */
    public double[] inverseFrequencies() {
        return invFreq.clone();
    }

    /** Fills {@code cos}/{@code sin} (length headDim/2) for one position. */
    public void angles(int position, float[] cos, float[] sin) {
        for (int i = 0; i < invFreqF.length; i++) {
            // float32 product then cos/sin, as transformers computes the angle in float32
            float a = (float) position * invFreqF[i];
            cos[i] = (float) Math.cos(a);
            sin[i] = (float) Math.sin(a);
        }
    }

    /** Rotates one head vector {@code x[off, off+headDim)} in place using precomputed cos/sin. */
    public static void rotate(float[] x, int off, int half, float[] cos, float[] sin) {
        for (int i = 0; i < half; i++) {
            float a = x[off + i], b = x[off + i + half];
            x[off + i] = a * cos[i] - b * sin[i];
            x[off + i + half] = b * cos[i] + a * sin[i];
        }
    }
}
