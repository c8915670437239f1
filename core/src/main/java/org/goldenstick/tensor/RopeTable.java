package org.goldenstick.tensor;

/**
 * Precomputed rotary-embedding cosines and sines for positions {@code 0..maxPositions-1} and a head dimension
 * {@code D}: {@code angle(p, i) = p · invFreq[i]} with {@code invFreq[i] = theta^(−2i/D)} for {@code i < D/2},
 * optionally rescaled by {@link RopeScaling}. Angles are computed in float64 and rounded once (Hugging Face
 * multiplies in float32, which drifts by ~1e-4 rad at position 2000).
 *
 * <pre>{@code
 * RopeTable rope = RopeTable.create(64, 2048, 10000.0, null);
 * Tensor q = Functional.rotaryEmbedding(qHeads, rope, 0);   // [B, H, T, 64]
 * }</pre>
 */
public final class RopeTable {
    private final int headDim;
    private final int maxPositions;
    private final double[] invFreq;
    private final float[] cos; // [maxPositions, headDim/2]
    private final float[] sin;

    private RopeTable(int headDim, int maxPositions, double[] invFreq, float[] cos, float[] sin) {
        this.headDim = headDim;
        this.maxPositions = maxPositions;
        this.invFreq = invFreq;
        this.cos = cos;
        this.sin = sin;
    }

    /**
     * @param headDim       D, even
     * @param maxPositions  number of positions to precompute
     * @param theta         {@code rope_theta} (10000 for Llama 2, 500000 for Llama 3)
     * @param scalingOrNull the config's {@code rope_scaling}, or null for none
     */
    public static RopeTable create(int headDim, int maxPositions, double theta, RopeScaling scalingOrNull) {
        if (headDim < 2 || headDim % 2 != 0) throw new IllegalArgumentException("RopeTable: head dimension must be even and >= 2, got " + headDim);
        if (maxPositions < 1) throw new IllegalArgumentException("RopeTable: maxPositions must be >= 1, got " + maxPositions);
        if (!(theta > 1) || Double.isInfinite(theta)) throw new IllegalArgumentException("RopeTable: rope_theta must be > 1, got " + theta);
        int half = headDim / 2;
        if ((long) maxPositions * half > Integer.MAX_VALUE) throw new IllegalArgumentException("RopeTable: " + maxPositions + " positions x " + half + " is too large");
        double[] inv = new double[half];
        for (int i = 0; i < half; i++) {
            inv[i] = 1.0 / Math.pow(theta, (2.0 * i) / headDim);
            if (scalingOrNull != null) inv[i] = scalingOrNull.scale(inv[i]);
        }
        float[] c = new float[maxPositions * half], s = new float[maxPositions * half];
        for (int p = 0; p < maxPositions; p++)
            for (int i = 0; i < half; i++) {
                double a = p * inv[i];
                c[p * half + i] = (float) Math.cos(a);
                s[p * half + i] = (float) Math.sin(a);
            }
        return new RopeTable(headDim, maxPositions, inv, c, s);
    }

    public int headDim() {
        return headDim;
    }

    public int maxPositions() {
        return maxPositions;
    }

    /** The (scaled) inverse frequencies, one per rotated pair. */
    public double[] invFreq() {
        return invFreq.clone();
    }

    /** cos(angle) for position {@code pos} and pair {@code i < D/2}. */
    public float cos(int pos, int i) {
        return cos[pos * (headDim / 2) + i];
    }

    /** sin(angle) for position {@code pos} and pair {@code i < D/2}. */
    public float sin(int pos, int i) {
        return sin[pos * (headDim / 2) + i];
    }

    float[] cosArray() {
        return cos;
    }

    float[] sinArray() {
        return sin;
    }
}
