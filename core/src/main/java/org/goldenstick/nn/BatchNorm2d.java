package org.goldenstick.nn;

import java.util.Arrays;
import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.OpTrace;
import org.goldenstick.tensor.Tensor;

/**
 * Batch normalisation over the channel axis of {@code [N, C, H, W]} ({@code torch.nn.BatchNorm2d});
 * see {@link BatchNorm} for parameters, buffers and semantics.
 *
 * <pre>{@code
 * var bn = new BatchNorm2d(16);          // momentum 0.1, eps 1e-5
 * }</pre>
 */
public class BatchNorm2d extends BatchNorm {
    public BatchNorm2d(int numFeatures) {
        this(numFeatures, DEFAULT_MOMENTUM, DEFAULT_EPS);
    }

    public BatchNorm2d(int numFeatures, double momentum, double eps) {
        super(numFeatures, momentum, eps);
    }

    @Override
    protected Tensor compute(Tensor x) {
        if (x.rank() != 4 || x.dim(1) != numFeatures()) {
            throw new IllegalArgumentException("BatchNorm2d(" + numFeatures() + "): expected [N, " + numFeatures() + ", H, W], got " + Arrays.toString(x.shape()));
        }
        return normalize4d(x);
    }

    /**
     * Runs {@code bn} then {@code activation} on {@code x} as one op ({@link Functional#batchNormRelu}: the same bits in
     * fewer memory passes) when that is exactly what the two layers compute: {@code bn} is a {@code BatchNorm2d} and
     * {@code activation} a {@link ReLU} or {@link ReLU6} (these classes, not subclasses), neither replaced in its network,
     * no trace recording (a traced graph must see both layers), and {@code x} is {@code [N, C, H, W]} with this norm's C.
     * Returns null otherwise; the caller then runs the two layers.
     *
     * <pre>{@code
     * Tensor y = BatchNorm2d.forwardWithActivation(bn, relu, x);
     * if (y == null) y = relu.forward(bn.forward(x));
     * }</pre>
     */
    public static Tensor forwardWithActivation(Module bn, Module activation, Tensor x) {
        if (bn == null || bn.getClass() != BatchNorm2d.class || OpTrace.active()) return null;
        boolean relu6 = activation != null && activation.getClass() == ReLU6.class;
        if (!relu6 && (activation == null || activation.getClass() != ReLU.class)) return null;
        BatchNorm2d norm = (BatchNorm2d) bn;
        if (norm.replacement() != null || ((Layer) activation).replacement() != null) return null;
        if (x.rank() != 4 || x.dim(1) != norm.numFeatures()) return null; // the layer's own call reports the error
        return norm.normalize4dRelu(x, relu6);
    }

    /**
     * Runs this batch norm in training mode with its output put on the fake-quantization grid {@code grid} chooses, as
     * one op ({@link Functional#batchNormGrid}): what a quantization-aware cell computes as batch norm followed by its
     * output quantizer, bit for bit, in fewer passes over memory. Returns null (the caller runs the two) unless the norm
     * is training, no trace records and {@code x} is {@code [N, C, H, W]} with this norm's C.
     */
    public Tensor forwardWithGrid(Tensor x, Functional.OutputGrid grid) {
        if (grid == null || !isTraining() || OpTrace.active() || x.rank() != 4 || x.dim(1) != numFeatures()) return null;
        return normalize4dGrid(x, grid);
    }
}
