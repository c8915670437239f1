package org.goldenstick.train;

import java.util.List;
import org.goldenstick.tensor.Tensor;

/**
 * Adam ({@code torch.optim.Adam}) and, with {@code decoupled = true}, AdamW ({@code torch.optim.AdamW}).
 *
 * <pre>
 *   Adam:  g = grad + weightDecay·p                 (L2 penalty folded into the gradient)
 *   AdamW: p = p·(1 − lr·weightDecay)               (decay applied to the weights directly)
 *   m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²
 *   p = p − lr · (m / (1 − β1ᵗ)) / (√(v / (1 − β2ᵗ)) + eps)
 * </pre>
 *
 * <pre>{@code
 * var opt = new Adam(model.parameters(), Adam.Options.defaults(1e-3));
 * }</pre>
 */
public class Adam implements Optimizer {
    public record Options(double lr, double beta1, double beta2, double eps, double weightDecay) {
        public Options {
            if (!(lr >= 0)) throw new IllegalArgumentException("Adam: lr must be >= 0, got " + lr);
            if (beta1 < 0 || beta1 >= 1 || beta2 < 0 || beta2 >= 1) throw new IllegalArgumentException("Adam: betas must be in [0, 1), got " + beta1 + ", " + beta2);
            if (!(eps > 0)) throw new IllegalArgumentException("Adam: eps must be > 0, got " + eps);
            if (weightDecay < 0) throw new IllegalArgumentException("Adam: weightDecay must be >= 0, got " + weightDecay);
        }

        /** β = (0.9, 0.999), eps = 1e-8, no weight decay. */
        public static Options defaults(double lr) {
            return new Options(lr, 0.9, 0.999, 1e-8, 0);
        }

        public Options withWeightDecay(double wd) {
            return new Options(lr, beta1, beta2, eps, wd);
        }
    }

    private final List<Tensor> params;
    private final Options options;
    private final boolean decoupled;
    private final float[][] m;
    private final float[][] v;
    private final int[] paramSteps;
    private double lr;
    private long steps;

    public Adam(List<Tensor> params, Options options) {
        this(params, options, false);
    }

    protected Adam(List<Tensor> params, Options options, boolean decoupledWeightDecay) {
        this.params = List.copyOf(params);
        this.options = options;
        this.decoupled = decoupledWeightDecay;
        this.m = new float[this.params.size()][];
        this.v = new float[this.params.size()][];
        this.paramSteps = new int[this.params.size()];
        this.lr = options.lr();
    }

    public Options options() {
        return options;
    }

    @Override
    public void step() {
        double b1 = options.beta1(), b2 = options.beta2();
        float wd = (float) options.weightDecay();
        for (int i = 0; i < params.size(); i++) {
            Tensor p = params.get(i);
            if (!p.hasGrad()) continue;
            float[] w = p.data(), g = p.gradArray();
            if (m[i] == null) {
                m[i] = new float[w.length];
                v[i] = new float[w.length];
            }
            // Each parameter counts its own steps, as PyTorch's per-parameter state does.
            int t = ++paramSteps[i];
            float[] mi = m[i], vi = v[i];
            float c1 = (float) (1 - Math.pow(b1, t)), sqrtC2 = (float) Math.sqrt(1 - Math.pow(b2, t));
            float stepSize = (float) lr / c1, eps = (float) options.eps();
            float b1f = (float) b1, b2f = (float) b2, decay = decoupled ? 1f - (float) lr * wd : 1f;
            for (int j = 0; j < w.length; j++) {
                float gj = decoupled ? g[j] : g[j] + wd * w[j];
                if (decoupled) w[j] *= decay;
                mi[j] = b1f * mi[j] + (1 - b1f) * gj;
                vi[j] = b2f * vi[j] + (1 - b2f) * gj * gj;
                w[j] -= stepSize * mi[j] / ((float) Math.sqrt(vi[j]) / sqrtC2 + eps);
            }
        }
        steps++;
    }

    @Override
    public List<Tensor> parameters() {
        return params;
    }

    @Override
    public double learningRate() {
        return lr;
    }

    @Override
    public void setLearningRate(double lr) {
        this.lr = lr;
    }

    @Override
    public long stepCount() {
        return steps;
    }
}
