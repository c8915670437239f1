package org.goldenstick.nn;

import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;

/**
 * Shared state and maths of {@link BatchNorm2d} and {@link BatchNorm1d} ({@code torch.nn._BatchNorm}):
 * parameters {@code weight} (γ, ones) and {@code bias} (β, zeros); buffers {@code running_mean},
 * {@code running_var} and {@code num_batches_tracked}. Training normalises with the batch statistics and
 * updates the running ones with {@code momentum} (unbiased variance); eval uses the running statistics.
 */
public abstract class BatchNorm extends Layer {
    public static final double DEFAULT_MOMENTUM = 0.1;
    public static final double DEFAULT_EPS = 1e-5;

    private final int numFeatures;
    private final double momentum;
    private final double eps;

    protected BatchNorm(int numFeatures, double momentum, double eps) {
        String name = getClass().getSimpleName();
        if (numFeatures <= 0) throw new IllegalArgumentException(name + ": numFeatures must be positive, got " + numFeatures);
        if (momentum < 0 || momentum > 1) throw new IllegalArgumentException(name + ": momentum must be in [0, 1], got " + momentum);
        if (!(eps > 0)) throw new IllegalArgumentException(name + ": eps must be > 0, got " + eps);
        this.numFeatures = numFeatures;
        this.momentum = momentum;
        this.eps = eps;
        registerParameter("weight", Tensor.ones(numFeatures));
        registerParameter("bias", Tensor.zeros(numFeatures));
        registerBuffer("running_mean", Tensor.zeros(numFeatures));
        registerBuffer("running_var", Tensor.ones(numFeatures));
        registerBuffer("num_batches_tracked", Tensor.scalar(0f));  // 0-d, as in PyTorch
    }

    /** γ. */
    public Tensor weight() {
        return parameter("weight");
    }

    /** β. */
    public Tensor bias() {
        return parameter("bias");
    }

    public Tensor runningMean() {
        return buffer("running_mean");
    }

    public Tensor runningVar() {
        return buffer("running_var");
    }

    /** Batches seen in training mode (kept as a float tensor so that it travels in the state dict). */
    public long numBatchesTracked() {
        return (long) buffer("num_batches_tracked").data()[0];
    }

    public int numFeatures() { return numFeatures; }
    public double momentum() { return momentum; }
    public double eps() { return eps; }

    /** Normalises {@code [N, C, H, W]} over the channel axis, updating the running statistics in training. */
    protected final Tensor normalize4d(Tensor x) {
        if (isTraining()) buffer("num_batches_tracked").data()[0] += 1;
        return Functional.batchNorm(x, weight(), bias(), runningMean(), runningVar(), isTraining(), (float) momentum, (float) eps);
    }

    /** Training-mode {@link #normalize4d} with the output put on a fake-quantization grid ({@link Functional#batchNormGrid}). */
    final Tensor normalize4dGrid(Tensor x, Functional.OutputGrid grid) {
        buffer("num_batches_tracked").data()[0] += 1;
        return Functional.batchNormGrid(x, weight(), bias(), runningMean(), runningVar(), (float) momentum, (float) eps, grid);
    }

    /** {@link #normalize4d} followed by ReLU (or ReLU6 when {@code relu6}) as one op ({@link Functional#batchNormRelu}). */
    final Tensor normalize4dRelu(Tensor x, boolean relu6) {
        if (isTraining()) buffer("num_batches_tracked").data()[0] += 1;
        return relu6 ? Functional.batchNormRelu6(x, weight(), bias(), runningMean(), runningVar(), isTraining(), (float) momentum, (float) eps)
                : Functional.batchNormRelu(x, weight(), bias(), runningMean(), runningVar(), isTraining(), (float) momentum, (float) eps);
    }

    @Override
    public String describe() {
        return getClass().getSimpleName() + "(" + numFeatures + (momentum != DEFAULT_MOMENTUM ? ", momentum=" + momentum : "") + (eps != DEFAULT_EPS ? ", eps=" + eps : "") + ")";
    }
}
