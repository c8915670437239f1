package org.goldenstick.qat.slb;

import java.util.Arrays;
import java.util.Map;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.formats.safetensors.SafetensorsFile;
import org.goldenstick.formats.safetensors.SafetensorsWriter;
import org.goldenstick.nn.Layer;
import org.goldenstick.quant.DeployLayer;
import org.goldenstick.quant.Int8Ops;
import org.goldenstick.quant.QConv2d;
import org.goldenstick.quant.QLinear;
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
 * <p>Between two 8-bit grids a 1- or 2-bit layer computes as its int8 form ({@link #integerForm()}), the integer
 * layer its ONNX export describes; otherwise it computes in float on the packed form.
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

    /**
     * With 8-bit input and output grids and 1- or 2-bit levels, the integer layer this one is: an int8 {@link QConv2d}
     * or {@link QLinear} on the codes {@link #int8Codes()} with scales {@link #int8Scales()} and the bias as int32 of
     * scale {@code s_x·s_w}, decoded from the packed form for each call (the layer keeps only the packed form). It is
     * what the ONNX export of such a layer (QDQ with INT8 weights and INT32 bias) computes in a runtime that fuses QDQ
     * into integer kernels, as ONNX Runtime does: exact int32 accumulation, one requantization. A float convolution
     * on the same grids lands one output step away wherever the exact result sits near a rounding boundary, and a
     * runtime that quantizes a float bias itself rounds it differently; both flipped top-1 classes against ONNX Runtime
     * (see docs/slb.md). Null otherwise (4-bit levels have no integer zero point; float activations): then the layer
     * computes in float on the packed form, as its export does.
     */
    public final Layer integerForm() {
        if (inputGrid == null || outputGrid == null || bits > 2 || !linspaceLevels()) return null;
        float[] ws = int8Scales();
        byte[] codes = int8Codes();
        float[] w = new float[codes.length];
        for (int i = 0; i < w.length; i++) w[i] = codes[i] * ws[i / cols];
        float[] lo = new float[outChannels], hi = new float[outChannels];
        int top = (1 << bits) - 1;
        for (int o = 0; o < outChannels; o++) {
            lo[o] = -top * ws[o];
            hi[o] = top * ws[o];
        }
        QuantParams weightGrid = new QuantParams(8, true, true, false, 0, lo, hi, ws, new int[outChannels]);
        return integerForm(w, bias == null ? null : Tensor.of(bias.clone(), outChannels), weightGrid, inputGrid, outputGrid);
    }

    /** The int8 layer of {@link #integerForm()} from the weight values {@code code·scale} ({@code [out, cols]} row-major). */
    abstract Layer integerForm(float[] weight, Tensor bias, QuantParams weightGrid, QuantParams input, QuantParams output);

    /**
     * The level codes of 1- and 2-bit weights as integers, {@code q = 2k − (2^b − 1)} ∈ {±1} or {±1, ±3} for level
     * index k, {@code [out, cols]} row-major; the weight is {@code q · }{@link #int8Scales()}{@code [o]} exactly.
     */
    public final byte[] int8Codes() {
        if (bits > 2 || !linspaceLevels()) throw new IllegalStateException(getClass().getSimpleName() + ": only 1- and 2-bit levels linspace(-1, 1, 2^b) have int8 codes, got " + bits + " bits, levels " + Arrays.toString(levels));
        int n = 1 << bits;
        int[] idx = levelIndex();
        byte[] v = new byte[idx.length];
        for (int i = 0; i < idx.length; i++) v[i] = (byte) (2 * idx[i] - (n - 1));
        return v;
    }

    /** Whether the levels are {@code linspace(−1, 1, 2^b)} (as {@link SlbWeightQuantizer}'s are), to 1e-6. */
    public final boolean linspaceLevels() {
        int n = 1 << bits;
        for (int k = 0; k < n; k++) if (Math.abs(levels[k] - (2.0 * k - (n - 1)) / (n - 1)) > 1e-6) return false;
        return true;
    }

    /** The per-output-channel scale of {@link #int8Codes()}: {@code s / (2^b − 1)}. */
    public final float[] int8Scales() {
        if (bits > 2) throw new IllegalStateException(getClass().getSimpleName() + ": " + bits + "-bit levels have no int8 codes");
        float[] out = new float[outChannels];
        for (int o = 0; o < outChannels; o++) out[o] = scale[o] / ((1 << bits) - 1);
        return out;
    }

    @Override
    protected final Tensor compute(Tensor x) {
        Layer integer = integerForm();
        if (integer != null) return integer.forward(x);
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
