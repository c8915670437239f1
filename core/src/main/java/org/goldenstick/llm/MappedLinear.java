package org.goldenstick.llm;

import java.util.Arrays;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.FloatWeightKernels;
import org.goldenstick.tensor.kernel.FloatWeights;

/**
 * A linear layer {@code y = x·Wᵀ + b} whose weights {@code W [out, in]} are read in place ({@link FloatWeights}:
 * float32, bfloat16 or float16 in a memory-mapped checkpoint), never copied onto the Java heap. Same forward contract
 * as {@link org.goldenstick.nn.Linear} ({@code [..., in] → [..., out]}); inference only (no gradients).
 * {@code outputOrder}, when not null, maps each output feature to the weight row holding it (GGUF stores q/k rows
 * interleaved).
 *
 * <pre>{@code
 * Module q = new MappedLinear("model.layers.0.self_attn.q_proj", FloatWeights.of(seg, 0, out, in, Encoding.BF16), null, null);
 * Tensor y = q.forward(x);
 * }</pre>
 */
public final class MappedLinear extends Module implements StoredWeights {
    private final String name;
    private final FloatWeights weight;
    private final int[] outputOrder;

    /** {@code bias} (may be null) is copied into a buffer; {@code outputOrder} may be null (identity). */
    public MappedLinear(String name, FloatWeights weight, float[] bias, int[] outputOrder) {
        this.name = name;
        this.weight = weight;
        if (bias != null && bias.length != weight.rows()) throw new IllegalArgumentException(name + ": bias of " + bias.length + " for " + weight.rows() + " outputs");
        if (outputOrder != null && outputOrder.length != weight.rows()) throw new IllegalArgumentException(name + ": output order of " + outputOrder.length + " for " + weight.rows() + " rows");
        this.outputOrder = outputOrder == null ? null : outputOrder.clone();
        if (bias != null) registerBuffer("bias", Tensor.of(bias.clone(), bias.length));
    }

    public FloatWeights weights() {
        return weight;
    }

    public int inFeatures() {
        return weight.cols();
    }

    public int outFeatures() {
        return weight.rows();
    }

    /** The bias, or null. */
    public Tensor bias() {
        return buffer("bias");
    }

    @Override
    public long weightCount() {
        return (long) weight.rows() * weight.cols();
    }

    @Override
    public long weightBytes() {
        return weight.byteSize();
    }

    @Override
    public Tensor forward(Tensor x) {
        int[] shape = x.shape();
        int in = weight.cols(), out = weight.rows();
        if (shape.length == 0 || shape[shape.length - 1] != in) throw new IllegalArgumentException(describe() + ": input shape " + Arrays.toString(shape) + " does not end in " + in);
        int m = x.numel() / in;
        float[] y = new float[m * out];
        FloatWeightKernels.gemm(m, x.data(), 0, in, weight, y, 0, out, false);
        y = MappedLinear.reorder(y, m, out, outputOrder);
        Tensor b = bias();
        if (b != null) {
            float[] bd = b.data();
            for (int r = 0; r < m; r++) for (int o = 0; o < out; o++) y[r * out + o] += bd[o];
        }
        shape[shape.length - 1] = out;
        return Tensor.of(y, shape);
    }

    /** {@code y [m, out]} with output o taken from column {@code order[o]} (GGUF's q/k row order); y itself if order is null. */
    static float[] reorder(float[] y, int m, int out, int[] order) {
        if (order == null) return y;
        float[] z = new float[y.length];
        for (int i = 0; i < m; i++) for (int o = 0; o < out; o++) z[i * out + o] = y[i * out + order[o]];
        return z;
    }

    @Override
    public String describe() {
        return "MappedLinear(" + name + " " + weight.encoding() + ", " + weight.cols() + " -> " + weight.rows() + (bias() == null ? ", no bias" : "") + ")";
    }
}
