package org.goldenstick.llm;

import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;

/**
 * Root-mean-square layer norm {@code y = x / sqrt(mean(x²) + eps) · weight} over the last axis, as
 * Hugging Face's {@code LlamaRMSNorm} (weight initialised to ones).
 *
 * <pre>{@code
 * RmsNorm norm = new RmsNorm(512, 1e-5);
 * Tensor y = norm.forward(x);          // x [..., 512]
 * }</pre>
 */
public final class RmsNorm extends Module {
    private final int size;
    private final double eps;

    public RmsNorm(int size, double eps) {
        this.size = size;
        this.eps = eps;
        registerParameter("weight", Tensor.ones(size));
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
        return Functional.rmsNorm(x, weight(), (float) eps);
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
            for (int i = 0; i < size; i++) out[o + i] = x[o + i] * inv * w[i];
        }
    }

    @Override
    public String describe() {
        return "RmsNorm(" + size + ", eps=" + eps + ")";
    }
}
