package org.goldenstick.qat.slb;

import java.util.Arrays;
import java.util.Map;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.formats.safetensors.SafetensorsFile;
import org.goldenstick.formats.safetensors.SafetensorsWriter;
import org.goldenstick.nn.Layer;
import org.goldenstick.quant.DeployLayer;
import org.goldenstick.quant.Int8Ops;
import org.goldenstick.quant.QuantParams;
import org.goldenstick.quant.QuantParamsIO;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.PackedBits;

/**
 * The deploy form of an {@link SlbQuantCell}: weights held bit-packed ({@link PackedBits}, 1/2/4 bits each, one
 * {@code PackedBits} per group with the per-channel scales). Weight {@code [o, j]} (row-major over the {@code cols}
 * weights of output channel {@code o}) is {@code scale[o] · levels[index[o, j]]}.
 *
 * <p>On disk ({@link #save}): {@code <prefix>weight_packed} U8, the level indices of {@code [out, cols]} densely packed
 * LSB-first ({@code bits} per weight); {@code <prefix>weight_scale} F32 {@code [out]}; {@code <prefix>bias} F32;
 * geometry and levels in metadata {@code <prefix>slb}, checked on load against the network loading it; the activation
 * grids as {@code <prefix>input_quant} / {@code <prefix>output_quant} ({@link QuantParamsIO}).
 *
 * <pre>{@code
 * PackedLayer p = (PackedLayer) deploy.module("fc1");
 * int[] idx = p.levelIndex();   // [out · cols]
 * }</pre>
 */
public abstract sealed class PackedLayer extends Layer implements DeployLayer permits PackedConv2d, PackedLinear {
    private final int bits, outChannels, cols, groups;
    private final float[] levels;
    private PackedBits[] groupWeights;
    private float[] scale, bias;
    /** The 8-bit activation grids of the input and output (quantize-dequantize steps), or null for float. */
    private QuantParams inputGrid, outputGrid;

    PackedLayer(int bits, int outChannels, int cols, int groups, float[] levels) {
        if (outChannels % groups != 0) throw new IllegalArgumentException(getClass().getSimpleName() + ": out=" + outChannels + " not divisible by groups=" + groups);
        this.bits = bits;
        this.outChannels = outChannels;
        this.cols = cols;
        this.groups = groups;
        this.levels = levels.clone();
    }

    final void set(int[] index, float[] scale, float[] bias) {
        String who = getClass().getSimpleName();
        if (index.length != outChannels * cols) throw new IllegalArgumentException(who + ": " + index.length + " indices for [" + outChannels + ", " + cols + "]");
        if (scale.length != outChannels) throw new IllegalArgumentException(who + ": " + scale.length + " scales, expected " + outChannels);
        if (bias != null && bias.length != outChannels) throw new IllegalArgumentException(who + ": bias length " + bias.length + ", expected " + outChannels);
        int rows = outChannels / groups;
        PackedBits[] ws = new PackedBits[groups];
        for (int i = 0; i < groups; i++) {
            ws[i] = PackedBits.pack(bits, Arrays.copyOfRange(index, i * rows * cols, (i + 1) * rows * cols), rows, cols,
                    Arrays.copyOfRange(scale, i * rows, (i + 1) * rows), levels);
        }
        this.groupWeights = ws;
        this.scale = scale.clone();
        this.bias = bias == null ? null : bias.clone();
    }

    /**
     * Sets the per-tensor 8-bit grids the input and the output are rounded to (quantize then dequantize, as ONNX
     * QuantizeLinear → DequantizeLinear), null for none; returns this. One layer, so a network that calls the original
     * layer through a field runs all of it.
     */
    public final PackedLayer withActivationGrids(QuantParams input, QuantParams output) {
        this.inputGrid = input;
        this.outputGrid = output;
        return this;
    }

    /** The input's activation grid, or null. */
    public final QuantParams inputGrid() { return inputGrid; }

    /** The output's activation grid, or null. */
    public final QuantParams outputGrid() { return outputGrid; }

    @Override
    protected final Tensor compute(Tensor x) {
        Tensor y = packedForward(onGrid(x, inputGrid));
        return onGrid(y, outputGrid);
    }

    private static Tensor onGrid(Tensor x, QuantParams grid) {
        return grid == null ? x : Tensor.of(Int8Ops.dequantizeActivations(Int8Ops.quantizeActivations(x.data(), grid), grid), x.shape());
    }

    /** The layer's computation on the packed weights. */
    abstract Tensor packedForward(Tensor x);

    public final int bits() { return bits; }

    public final int outChannels() { return outChannels; }

    /** Weights per output channel. */
    public final int cols() { return cols; }

    /** The level table (a copy). */
    public final float[] levels() { return levels.clone(); }

    /** The per-output-channel scales (a copy). */
    public final float[] scales() { return scale.clone(); }

    /** The bias (a copy), or null. */
    public final float[] biasValues() { return bias == null ? null : bias.clone(); }

    final PackedBits groupWeights(int g) { return groupWeights[g]; }

    final float bias(int channel) { return bias == null ? 0f : bias[channel]; }

    /** The level index of every weight, {@code [out, cols]} row-major. */
    public final int[] levelIndex() {
        int rows = outChannels / groups;
        int[] idx = new int[outChannels * cols];
        for (int g = 0; g < groups; g++)
            for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) idx[(g * rows + r) * cols + c] = groupWeights[g].index(r, c);
        return idx;
    }

    /** The real-valued weights {@code scale · level}, {@code [out, cols]} row-major. */
    public final float[] dequantizedValues() {
        int[] idx = levelIndex();
        float[] w = new float[idx.length];
        for (int i = 0; i < idx.length; i++) w[i] = scale[i / cols] * levels[idx[i]];
        return w;
    }

    /** Bytes of the packed indices as stored on disk (bits per weight, rounded up to a byte). */
    public final long packedBytes() {
        return ((long) outChannels * cols * bits + 7) / 8;
    }

    /** The layer's shape and levels as stored in the metadata; loading checks it. */
    abstract String geometry();

    @Override
    public final void save(String prefix, SafetensorsWriter out, Map<String, String> metadata) {
        int[] idx = levelIndex();
        byte[] packed = new byte[(int) packedBytes()];
        for (int i = 0; i < idx.length; i++) {
            long bit = (long) i * bits;
            packed[(int) (bit >>> 3)] |= (byte) (idx[i] << (bit & 7));
        }
        out.addUint8(prefix + "weight_packed", packed, packed.length);
        out.addFloats(prefix + "weight_scale", scale, DType.F32, outChannels);
        if (bias != null) out.addFloats(prefix + "bias", bias, DType.F32, outChannels);
        metadata.put(prefix + "slb", geometry());
        if (inputGrid != null) QuantParamsIO.write(prefix + "input_quant", inputGrid, out, metadata);
        if (outputGrid != null) QuantParamsIO.write(prefix + "output_quant", outputGrid, out, metadata);
    }

    @Override
    public final void load(String prefix, SafetensorsFile in) {
        String meta = in.metadata().get(prefix + "slb");
        for (int hops = 0; meta != null && meta.startsWith("@") && hops < 8; hops++) meta = in.metadata().get(meta.substring(1)); // DeployIO stores repeats once
        if (!geometry().equals(meta)) {
            throw new IllegalArgumentException(in.path() + ": packed layer '" + prefix + "' has geometry " + meta + ", this network expects " + geometry());
        }
        byte[] packed = in.uint8(prefix + "weight_packed");
        if (packed.length != packedBytes()) throw new IllegalArgumentException(in.path() + ": '" + prefix + "weight_packed' has " + packed.length + " bytes, expected " + packedBytes());
        int[] idx = new int[outChannels * cols];
        int mask = (1 << bits) - 1;
        for (int i = 0; i < idx.length; i++) {
            long bit = (long) i * bits;
            idx[i] = ((packed[(int) (bit >>> 3)] & 0xFF) >>> (bit & 7)) & mask;
        }
        float[] s = in.floats(prefix + "weight_scale");
        float[] b = in.contains(prefix + "bias") ? in.floats(prefix + "bias") : null;
        if ((b == null) != (bias == null)) throw new IllegalArgumentException(in.path() + ": bias presence of '" + prefix + "' differs from the network");
        set(idx, s, b);
        if ((inputGrid != null) != QuantParamsIO.has(prefix + "input_quant", in) || (outputGrid != null) != QuantParamsIO.has(prefix + "output_quant", in)) {
            throw new IllegalArgumentException(in.path() + ": activation quantization of '" + prefix + "' differs from the network");
        }
        if (inputGrid != null) inputGrid = QuantParamsIO.read(prefix + "input_quant", in);
        if (outputGrid != null) outputGrid = QuantParamsIO.read(prefix + "output_quant", in);
    }
}
