package org.goldenstick.llm;

import java.util.Arrays;
import org.goldenstick.formats.gguf.GgmlType;
import org.goldenstick.formats.gguf.GgufTensor;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.GgmlBlockKernels;

/**
 * A bias-free linear layer computing on the Q8_0 or Q4_0 blocks of a mapped GGUF tensor ({@link GgmlBlockKernels});
 * the weights stay in the file's memory map. Same forward contract as {@link org.goldenstick.nn.Linear}
 * ({@code [..., in]} → {@code [..., out]}); inference only. {@code outputOrder} maps each output feature to the
 * tensor row holding it (the inverse of llama.cpp's q/k row interleaving), or is null for the identity.
 *
 * <pre>{@code
 * Module q = new GgufBlockLinear(gguf.tensor("blk.0.attn_v.weight"), null);
 * Tensor y = q.forward(x);
 * }</pre>
 */
public final class GgufBlockLinear extends Module implements StoredWeights {
    private final GgufTensor weight;
    private final GgmlBlockKernels.Format format;
    private final int in;
    private final int out;
    private final int[] outputOrder;

    public GgufBlockLinear(GgufTensor weight, int[] outputOrder) {
        this.weight = weight;
        this.format = switch (weight.type()) {
            case Q8_0 -> GgmlBlockKernels.Format.Q8_0;
            case Q4_0 -> GgmlBlockKernels.Format.Q4_0;
            default -> throw new IllegalArgumentException("tensor '" + weight.name() + "': no block kernel for " + weight.type() + " (Q8_0, Q4_0)");
        };
        int[] shape = weight.shape();
        if (shape.length != 2) throw new IllegalArgumentException("tensor '" + weight.name() + "' is not a matrix: " + Arrays.toString(shape));
        this.out = shape[0];
        this.in = shape[1];
        if (outputOrder != null && outputOrder.length != out) throw new IllegalArgumentException("tensor '" + weight.name() + "': output order of " + outputOrder.length + " for " + out + " rows");
        this.outputOrder = outputOrder == null ? null : outputOrder.clone();
    }

    /** Whether a tensor type has a block kernel here. */
    public static boolean supports(GgmlType t) {
        return t == GgmlType.Q8_0 || t == GgmlType.Q4_0;
    }

    public int inFeatures() {
        return in;
    }

    public int outFeatures() {
        return out;
    }

    @Override
    public long weightCount() {
        return (long) in * out;
    }

    /** Bytes of weights read per forward row (the mapped blocks). */
    @Override
    public long weightBytes() {
        return weight.byteSize();
    }

    @Override
    public Tensor forward(Tensor x) {
        int[] shape = x.shape();
        if (shape.length == 0 || shape[shape.length - 1] != in) throw new IllegalArgumentException("GgufBlockLinear(" + weight.name() + "): input shape " + Arrays.toString(shape) + " does not end in " + in);
        int m = x.numel() / in;
        float[] y = new float[m * out];
        GgmlBlockKernels.matmul(format, weight.raw(), 0, out, in, x.data(), m, y);
        y = MappedLinear.reorder(y, m, out, outputOrder);
        shape[shape.length - 1] = out;
        return Tensor.of(y, shape);
    }

    @Override
    public String describe() {
        return "GgufBlockLinear(" + weight.name() + " " + weight.type() + ", " + in + " -> " + out + ")";
    }
}
