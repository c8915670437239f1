package org.goldenstick.quant;

import java.util.Arrays;
import java.util.Map;
import org.goldenstick.nn.Add;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.ResidualAdd;

/**
 * How an int8 deploy network computes a residual sum ({@link Add}): from the 8-bit codes its operands carry
 * ({@link GridCodes}) instead of their floats, in one pass that also applies the activation layer consuming the sum
 * (ResNet's block ReLU, or an activation quantization point) and writes the sum's codes on its consumers' grid
 * ({@link ResidualAdd}). The values are exactly those of the fake-quantized model: each code's value is what its int8
 * producer gives for it, then one float addition, the activation and the consumer's quantization, as those layers
 * compute them; so the deploy network's outputs do not change, while the producers of the operands need not write
 * floats ({@link CodeProducer#floatsOnDemand}) and the activation and the consumer do not make passes of their own.
 *
 * <p>Operands without codes on a grid are read as floats; when neither has codes, or the shapes differ (a broadcast),
 * the sum is the plain {@link Tensor#add}, and the activation runs on its own.
 *
 * <pre>{@code
 * add.computeWith(new CodeAdd(blockRelu, null));   // SimQAT.convert installs it
 * }</pre>
 */
public final class CodeAdd implements Add.Computation {
    private final CodeActivation activation;
    private final QuantParams consumerGrid;

    /**
     * @param activation the activation layer that is the sum's one consumer, applied here (it then passes the result
     *     through; see {@link #fusable}), or null
     * @param consumerGrid without an activation: the per-tensor 8-bit grid the sum's consumers quantize onto (its codes
     *     are written beside the sum), or null
     */
    public CodeAdd(CodeActivation activation, QuantParams consumerGrid) {
        if (activation != null && !fusable(activation)) throw new IllegalArgumentException("CodeAdd: cannot apply " + activation + " in the sum's pass");
        this.activation = activation;
        this.consumerGrid = activation == null && consumerGrid != null && GridCodes.carries(consumerGrid) ? consumerGrid : null;
    }

    /**
     * True for the activation layers a sum applies in its own pass: a {@link CodeReLU} that quantizes for its consumers
     * (its float ReLU and that quantization), and a {@link QuantDequant} of no activation, ReLU or ReLU6 (quantize, clamp
     * the codes, dequantize).
     */
    public static boolean fusable(CodeActivation a) {
        return a instanceof CodeReLU r ? r.consumerGrid() != null
                : a instanceof QuantDequant q && GridCodes.carries(q.params()) && QuantDequant.codeBounds(q.activation(), q.params()) != null;
    }

    /** The activation applied in the same pass, or null. */
    public CodeActivation fusedActivation() {
        return activation;
    }

    /** The grid of the codes written beside the sum when no activation is fused, or null. */
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
        // an activation quantization point whose consumers all read codes needs no floats: codes only, floats deferred
        float[] y = activation instanceof QuantDequant q && q.floatsOnDemand() ? null : new float[n];
        QuantParams out;
        ResidualAdd.Codes codes;
        boolean relu = false;
        if (activation instanceof CodeReLU r) {
            out = r.consumerGrid();
            codes = beside(out, n);
            relu = true;
        } else if (activation instanceof QuantDequant q) {
            out = q.params();
            int[] bounds = QuantDequant.codeBounds(q.activation(), out);
            codes = ResidualAdd.Codes.onGrid(new byte[n], out.scale()[0], out.zeroPoint()[0], !out.signed(), bounds[0], bounds[1], out.qmin());
        } else {
            out = consumerGrid;
            codes = out == null ? null : beside(out, n);
        }
        boolean act = relu;
        Int8Ops.chunks(n, (from, to) -> {
            if (qb != null) ResidualAdd.codesPlusCodes(qa, ga, qb, gb, act, y, from, to, codes);
            else ResidualAdd.codesPlusFloats(qa, ga, fb, act, y, from, to, codes);
        });
        if (codes != null && codes.onGrid()) return GridCodes.output(y, codes.out(), out, activation, shape); // y: the codes' values, or null
        Tensor sum = Tensor.of(y, shape);
        if (codes != null) GridCodes.rememberQuantization(sum, codes.out(), out, activation);
        return sum;
    }

    private static ResidualAdd.Codes beside(QuantParams grid, int n) {
        return ResidualAdd.Codes.beside(new byte[n], grid.scale()[0], grid.zeroPoint()[0], !grid.signed());
    }

    private static ResidualAdd.Grid grid(QuantParams p) {
        return new ResidualAdd.Grid(p.signed(), p.scale()[0], p.zeroPoint()[0], p.qmin());
    }

    @Override
    public String toString() {
        return "int8 codes" + (activation instanceof CodeReLU ? " + ReLU" : activation instanceof QuantDequant q ? " + " + q.describe() : "")
                + (consumerGrid != null ? ", codes for the consumer" : "");
    }
}
