package org.goldenstick.llm;

import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;

/**
 * Root-mean-square layer norm {@code y = x / sqrt(mean(x²) + eps) · (offset + weight)} over the last axis: Hugging
 * Face's {@code LlamaRMSNorm} with offset 0 (weight initialised to ones), {@code GemmaRMSNorm} with offset 1 (weight
 * initialised to zeros, so the stored weight is the deviation from one).
 *
 * <pre>{@code
 * RmsNorm norm = new RmsNorm(512, 1e-5);
 * Tensor y = norm.forward(x);          // x [..., 512]
 * }</pre>
 */
public final class RmsNorm extends Module {
    private final int size;
    private final double eps;
    private final float offset;

    public RmsNorm(int size, double eps) {
        this(size, eps, 0f);
    }

    /** A norm multiplying by {@code offset + weight} (offset 0 or 1); the weight starts at {@code 1 - offset}. */
    public RmsNorm(int size, double eps, float offset) {
        this.size = size;
        this.eps = eps;
        this.offset = offset;
        Tensor w = Tensor.ones(size);
        if (offset != 0) java.util.Arrays.fill(w.data(), 1f - offset);
        registerParameter("weight", w);
    }

    /** A norm with the given weight {@code [size]} (taken, not copied), multiplying by {@code offset + weight}. */
    public RmsNorm(Tensor weight, double eps, float offset) {
        if (weight.rank() != 1) throw new IllegalArgumentException("RmsNorm: weight must be a vector, got shape " + java.util.Arrays.toString(weight.shape()));
        this.size = weight.numel();
        this.eps = eps;
        this.offset = offset;
        registerParameter("weight", weight);
    }

    /** What is added to the stored weight before it multiplies (1 for Gemma, else 0). */
    public float offset() {
        return offset;
    }

    /**
     * Divides the norm's output channels by {@code s} (how SmoothQuant and AWQ fold scales into it): the effective
     * gain {@code offset + weight} becomes {@code (offset + weight) / s}.
     */
    public void divideOutputs(float[] s) {
        float[] w = weight().data();
        if (s.length != w.length) throw new IllegalArgumentException(describe() + ": " + s.length + " scales for " + w.length + " channels");
        for (int j = 0; j < w.length; j++) w[j] = (offset + w[j]) / s[j] - offset;
    }

    public Tensor weight() {
        return parameter("weight");
    }

    public double eps() {
        return eps;
    }

    public int size() {
        return size;
    }

    @Override
    public Tensor forward(Tensor x) {
        return Functional.rmsNorm(x, offset == 0 ? weight() : weight().add(offset), (float) eps);
    }

    /**
     * Inference kernel: normalises {@code rows} rows of {@code x} (row length {@link #size()}) into {@code out},
     * accumulating the mean square in double for stability.
     */
    public void apply(float[] x, float[] out, int rows) {
        float[] w = weight().data();
        for (int r = 0; r < rows; r++) {
            int o = r * size;
            double ss = 0;
            for (int i = 0; i < size; i++) ss += (double) x[o + i] * x[o + i];
            float inv = (float) (1.0 / Math.sqrt(ss / size + eps));
            for (int i = 0; i < size; i++) out[o + i] = x[o + i] * inv * (offset + w[i]);
        }
    }

    @Override
    public String describe() {
        return "RmsNorm(" + size + ", eps=" + eps + (offset != 0 ? ", 1 + weight" : "") + ")";
    }
}
