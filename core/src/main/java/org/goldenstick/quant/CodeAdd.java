package org.goldenstick.quant;

import java.util.Arrays;
import java.util.Map;
import org.goldenstick.nn.Add;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.ResidualAdd;

/**
 * How an int8 deploy network computes a residual sum ({@link Add}): from the 8-bit codes its operands carry
 * ({@link GridCodes}) instead of their floats, in one pass that also applies the ReLU consuming the sum and writes the
 * sum's codes on its consumers' grid ({@link ResidualAdd}). The values are exactly those of the fake-quantized model:
 * each code's value is what its int8 producer gives for it, then one float addition, the ReLU and the consumer's
 * quantization, as the float ops compute them; so the deploy network's outputs do not change, while the producers of
 * the operands need not write floats ({@link CodeProducer#floatsOnDemand}) and the ReLU and the consumer do not make
 * passes of their own.
 *
 * <p>Operands without codes on a grid are read as floats; when neither has codes, or the shapes differ (a broadcast),
 * the sum is the plain {@link Tensor#add}, and the ReLU runs on its own.
 *
 * <pre>{@code
 * add.computeWith(new CodeAdd(blockRelu, null));   // SimQAT.convert installs it
 * }</pre>
 */
public final class CodeAdd implements Add.Computation {
    private final CodeReLU relu;
    private final QuantParams consumerGrid;

    /**
     * @param relu the ReLU that is the sum's one consumer, applied here (it then passes the result through); it must
     *     quantize for a consumer grid ({@link CodeReLU#consumerGrid()}), whose codes are written here; or null
     * @param consumerGrid without {@code relu}: the per-tensor 8-bit grid the sum's consumers quantize onto (its codes are
     *     written beside the sum), or null
     */
    public CodeAdd(CodeReLU relu, QuantParams consumerGrid) {
        if (relu != null && relu.consumerGrid() == null) throw new IllegalArgumentException("CodeAdd: a fused ReLU must quantize for its consumer (no consumer grid)");
        this.relu = relu;
        this.consumerGrid = relu != null ? relu.consumerGrid() : consumerGrid != null && GridCodes.carries(consumerGrid) ? consumerGrid : null;
    }

    /** The ReLU applied in the same pass, or null. */
    public CodeReLU fusedRelu() {
        return relu;
    }

    /** The grid of the codes written beside the sum, or null. */
    public QuantParams consumerGrid() {
        return consumerGrid;
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        int[] shape = a.shape();
        Map.Entry<QuantParams, byte[]> ca = GridCodes.lookup(a), cb = GridCodes.lookup(b);
        if (!Arrays.equals(shape, b.shape()) || ca == null && cb == null) return a.add(b);
        if (ca == null) { // the sum is commutative: the codes go first
            Tensor t = a;
            a = b;
            b = t;
            ca = cb;
            cb = null;
        }
        byte[] qa = ca.getValue(), qb = cb == null ? null : cb.getValue();
        ResidualAdd.Grid ga = grid(ca.getKey()), gb = cb == null ? null : grid(cb.getKey());
        float[] fb = cb == null ? b.data() : null;
        int n = qa.length;
        float[] y = new float[n];
        QuantParams out = consumerGrid;
        byte[] codes = out == null ? null : new byte[n];
        float os = out == null ? 1f : out.scale()[0];
        int oz = out == null ? 0 : out.zeroPoint()[0];
        boolean ou = out != null && !out.signed(), act = relu != null;
        Int8Ops.chunks(n, (from, to) -> {
            if (qb != null) ResidualAdd.codesPlusCodes(qa, ga, qb, gb, act, y, from, to, codes, os, oz, ou);
            else ResidualAdd.codesPlusFloats(qa, ga, fb, act, y, from, to, codes, os, oz, ou);
        });
        Tensor sum = Tensor.of(y, shape);
        if (codes != null) GridCodes.rememberQuantization(sum, codes, out, relu);
        return sum;
    }

    private static ResidualAdd.Grid grid(QuantParams p) {
        return new ResidualAdd.Grid(p.signed(), p.scale()[0], p.zeroPoint()[0], p.qmin());
    }

    @Override
    public String toString() {
        return "int8 codes" + (relu != null ? " + ReLU" : "") + (consumerGrid != null ? ", codes for the consumer" : "");
    }
}
