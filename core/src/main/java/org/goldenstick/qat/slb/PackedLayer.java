package org.goldenstick.qat.slb;

import java.util.Arrays;
import java.util.Map;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.formats.safetensors.SafetensorsFile;
import org.goldenstick.formats.safetensors.SafetensorsWriter;
import org.goldenstick.nn.Layer;
import org.goldenstick.quant.DeployLayer;
import org.goldenstick.tensor.kernel.PackedBits;

/**
 * The deploy form of an {@link SlbQuantCell}: weights held bit-packed ({@link PackedBits}, 1/2/4 bits each, one
 * {@code PackedBits} per group with the per-channel scales). Weight {@code [o, j]} (row-major over the {@code cols}
 * weights of output channel {@code o}) is {@code scale[o] · levels[index[o, j]]}.
 *
 * <p>On disk ({@link #save}): {@code <prefix>weight_packed} U8, the level indices of {@code [out, cols]} densely packed
 * LSB-first ({@code bits} per weight); {@code <prefix>weight_scale} F32 {@code [out]}; {@code <prefix>bias} F32;
 * geometry and levels in metadata {@code <prefix>slb}, checked on load against the network loading it.
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
    }
}
