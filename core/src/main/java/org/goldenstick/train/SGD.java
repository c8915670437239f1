package org.goldenstick.train;

import java.util.List;
import org.goldenstick.tensor.Tensor;

/**
 * Stochastic gradient descent with PyTorch's semantics ({@code torch.optim.SGD}):
 *
 * <pre>
 *   g = grad + weightDecay·p
 *   buf = g                                  (first step)
 *   buf = momentum·buf + (1 − dampening)·g   (later steps)
 *   g = nesterov ? g + momentum·buf : buf    (when momentum ≠ 0)
 *   p = p − lr·g
 * </pre>
 *
 * <pre>{@code
 * var opt = new SGD(model.parameters(), new SGD.Options(0.1, 0.9, 0, 5e-4, true));
 * }</pre>
 */
public final class SGD implements Optimizer {
    /** Hyper-parameters; {@code nesterov} needs a positive momentum and zero dampening, as in PyTorch. */
    public record Options(double lr, double momentum, double dampening, double weightDecay, boolean nesterov) {
        public Options {
            if (!(lr >= 0)) throw new IllegalArgumentException("SGD: lr must be >= 0, got " + lr);
            if (momentum < 0) throw new IllegalArgumentException("SGD: momentum must be >= 0, got " + momentum);
            if (weightDecay < 0) throw new IllegalArgumentException("SGD: weightDecay must be >= 0, got " + weightDecay);
            if (nesterov && (momentum <= 0 || dampening != 0)) throw new IllegalArgumentException("SGD: Nesterov momentum requires momentum > 0 and dampening = 0");
        }

        public static Options plain(double lr) {
            return new Options(lr, 0, 0, 0, false);
        }

        public static Options momentum(double lr, double momentum) {
            return new Options(lr, momentum, 0, 0, false);
        }

        public Options withWeightDecay(double wd) {
            return new Options(lr, momentum, dampening, wd, nesterov);
        }

        public Options withNesterov(boolean on) {
            return new Options(lr, momentum, dampening, weightDecay, on);
        }
    }

    private final List<Tensor> params;
    private final Options options;
    private final float[][] momentumBuffers;
    private double lr;
    private long steps;

    public SGD(List<Tensor> params, Options options) {
        this.params = List.copyOf(params);
        this.options = options;
        this.momentumBuffers = new float[this.params.size()][];
        this.lr = options.lr();
    }

    public Options options() {
        return options;
    }

    @Override
    public void step() {
        float lrF = (float) lr, wd = (float) options.weightDecay(), mu = (float) options.momentum();
        float damp = 1f - (float) options.dampening();
        for (int i = 0; i < params.size(); i++) {
            Tensor p = params.get(i);
            if (!p.hasGrad()) continue;
            float[] w = p.data(), g = p.gradArray();
            if (mu == 0f) {
                for (int j = 0; j < w.length; j++) w[j] -= lrF * (g[j] + wd * w[j]);
                continue;
            }
            float[] buf = momentumBuffers[i];
            boolean first = buf == null;
            if (first) buf = momentumBuffers[i] = new float[w.length];
            for (int j = 0; j < w.length; j++) {
                float d = g[j] + wd * w[j];
                float b = first ? d : mu * buf[j] + damp * d;
                buf[j] = b;
                w[j] -= lrF * (options.nesterov() ? d + mu * b : b);
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
