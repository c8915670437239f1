package org.goldenstick.quant;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.goldenstick.nn.ReLU;
import org.goldenstick.tensor.OpTrace;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.Kernels;
import org.goldenstick.tensor.kernel.Requantize;

/**
 * A float {@link ReLU} of a deploy network that carries 8-bit codes through ({@link GridCodes}), so the int8 layers
 * around it do not quantize again. What it computes is exactly {@code ReLU}'s output; only the codes beside it are new:
 * <ul>
 *   <li>input with known codes on a grid: ReLU keeps the grid ({@code relu(dequant(c)) = dequant(max(c, zp))}), so the
 *       output is the codes clamped at the zero point, dequantized;</li>
 *   <li>float input (the sum of a residual block) and a known consumer grid (the next int8 layer's input grid, given at
 *       conversion): the float ReLU and that layer's quantization of it in one pass over the data.</li>
 * </ul>
 * While a trace records the network (ONNX export, graph rewrites) it is a plain ReLU.
 *
 * <pre>{@code
 * block.replaceChild("relu", new CodeReLU(nextConvInputGrid));   // SimQAT.convert installs it
 * }</pre>
 */
public final class CodeReLU extends ReLU implements CodeActivation, CodeProducer {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private final QuantParams consumerGrid;
    private volatile Table table;

    private record Table(QuantParams grid, byte[] codes) {}

    /** @param consumerGrid the per-tensor 8-bit grid the consumer of a float input quantizes onto, or null */
    public CodeReLU(QuantParams consumerGrid) {
        this.consumerGrid = consumerGrid != null && GridCodes.carries(consumerGrid) ? consumerGrid : null;
    }

    /** The grid float inputs are quantized onto beside the output, or null. */
    public QuantParams consumerGrid() {
        return consumerGrid;
    }

    @Override
    public byte[] codeTable(QuantParams input) {
        return GridCodes.carries(input) ? table(input).codes : null;
    }

    @Override
    public QuantParams outputGrid(QuantParams input) {
        return input;
    }

    @Override
    public int[] sameGridClamp(QuantParams input) {
        return QuantDequant.codeBounds(null, input) == null ? null : new int[] {Math.max(input.qmin(), input.zeroPoint()[0]), input.signed() ? 127 : 255};
    }

    @Override
    protected Tensor compute(Tensor x) {
        if (OpTrace.active()) return super.compute(x);
        if (GridCodes.doneFor(x, this)) return x; // the producing conv applied the ReLU already
        var in = GridCodes.lookup(x);
        if (in != null) return QuantDequant.mapCodes(in.getValue(), table(in.getKey()).codes, in.getKey(), x.shape(), !floatsOnDemand);
        if (consumerGrid == null) return super.compute(x);
        float[] xd = x.data(), y = new float[xd.length];
        byte[] codes = new byte[xd.length];
        float s = consumerGrid.scale()[0];
        int z = consumerGrid.zeroPoint()[0];
        boolean unsigned = !consumerGrid.signed();
        Int8Ops.chunks(xd.length, (from, to) -> {
            relu(xd, y, from, to);
            Requantize.quantizeLinear(y, from, to - from, s, z, unsigned, codes, from); // the chunk is still in cache
        });
        Tensor out = Tensor.of(y, x.shape());
        GridCodes.rememberQuantization(out, codes, consumerGrid); // y is ReLU's exact output, not on the grid
        return out;
    }

    private volatile boolean floatsOnDemand;

    @Override
    public boolean floatsOnDemand() {
        return floatsOnDemand;
    }

    @Override
    public void floatsOnDemand(boolean onDemand) {
        floatsOnDemand = onDemand;
    }

    /** {@code y = max(x, 0)} as {@code Tensor.relu} computes it ({@code Math.max}: −0 becomes +0). */
    static void relu(float[] x, float[] y, int from, int to) {
        int i = from;
        if (Kernels.vector()) for (; i + F.length() <= to; i += F.length()) FloatVector.fromArray(F, x, i).max(0f).intoArray(y, i);
        for (; i < to; i++) y[i] = Math.max(x[i], 0f);
    }

    /** Code → code of ReLU on {@code grid}: {@code max(c, zp)} in the grid's order (signed or unsigned bytes). */
    private Table table(QuantParams grid) {
        Table t = table;
        if (t != null && t.grid().equals(grid)) return t;
        byte[] codes = new byte[256];
        int z = grid.zeroPoint()[0];
        for (int b = 0; b < 256; b++) codes[b] = (byte) Math.max(grid.signed() ? (byte) b : b, z);
        t = new Table(grid, codes);
        table = t;
        return t;
    }

    @Override
    public String describe() {
        return "ReLU";
    }
}
