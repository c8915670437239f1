package org.goldenstick.quant;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Everything needed to quantize or dequantize one tensor: the integer grid (bits, signed, narrow range),
 * whether the range was made symmetric, per-tensor ({@code axis = -1}, one scale) or per-channel on
 * {@code axis}, the observed range ({@code min}/{@code max}) and the resulting {@code scale}/{@code zeroPoint}.
 *
 * <p>{@link #toMetadata(String)} writes the upstream export contract ({@code quant_params()} of a linear fake
 * quantizer: min, max, num_bits, narrow_range, symmetric, signed, linear_quant_scale,
 * linear_quant_zero_point, channel_axis) as strings, and {@link #fromMetadata(String, Map)} reads it back.
 *
 * <pre>{@code
 * QuantParams p = QuantMath.calQuantizationParams(mins, maxs, 8, true, true, false, 0);  // per-channel int8
 * float s0 = p.scale()[0];
 * }</pre>
 */
public record QuantParams(int bits, boolean signed, boolean symmetric, boolean narrowRange, int axis,
                          float[] min, float[] max, float[] scale, int[] zeroPoint) {

    public QuantParams {
        if (bits < 1 || bits > 16) throw new IllegalArgumentException("QuantParams.bits must be in [1, 16], got " + bits);
        if (scale.length == 0 || scale.length != zeroPoint.length) {
            throw new IllegalArgumentException("QuantParams: " + scale.length + " scales and " + zeroPoint.length + " zero points");
        }
        if (axis < 0 && scale.length != 1) throw new IllegalArgumentException("QuantParams: per-tensor (axis -1) needs one scale, got " + scale.length);
        if (min.length != scale.length || max.length != scale.length) {
            throw new IllegalArgumentException("QuantParams: min/max have " + min.length + "/" + max.length + " elements for " + scale.length + " scales");
        }
    }

    /** Per-tensor parameters from an explicit scale and zero point (min/max are derived from the grid). */
    public static QuantParams perTensor(int bits, boolean signed, boolean symmetric, boolean narrowRange, float scale, int zeroPoint) {
        int[] r = QuantMath.quantRange(bits, signed, narrowRange);
        return new QuantParams(bits, signed, symmetric, narrowRange, -1, new float[] {(r[0] - zeroPoint) * scale},
                new float[] {(r[1] - zeroPoint) * scale}, new float[] {scale}, new int[] {zeroPoint});
    }

    public boolean perChannel() {
        return axis >= 0;
    }

    public int channels() {
        return scale.length;
    }

    public int qmin() {
        return QuantMath.quantRange(bits, signed, narrowRange)[0];
    }

    public int qmax() {
        return QuantMath.quantRange(bits, signed, narrowRange)[1];
    }

    /** The same grid moved from unsigned 8-bit to signed 8-bit ({@code q - 128}, {@code zp - 128}): numerically identical. */
    public QuantParams asSignedInt8() {
        if (signed) return this;
        if (bits != 8) throw new IllegalStateException("asSignedInt8: only 8-bit grids, got " + bits);
        int[] zp = new int[zeroPoint.length];
        for (int i = 0; i < zp.length; i++) zp[i] = zeroPoint[i] - 128;
        return new QuantParams(8, true, symmetric, false, axis, min, max, scale, zp);
    }

    /** The export contract as string metadata, keys prefixed with {@code prefix}. */
    public Map<String, String> toMetadata(String prefix) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(prefix + "quant_algo_name", "linear_quant_algo");
        m.put(prefix + "quant_dtype", (signed ? "INT" : "UINT") + bits);
        m.put(prefix + "is_per_channel", Boolean.toString(perChannel()));
        m.put(prefix + "num_bits", Integer.toString(bits));
        m.put(prefix + "signed", Boolean.toString(signed));
        m.put(prefix + "symmetric", Boolean.toString(symmetric));
        m.put(prefix + "narrow_range", Boolean.toString(narrowRange));
        m.put(prefix + "channel_axis", Integer.toString(axis));
        m.put(prefix + "min", join(min));
        m.put(prefix + "max", join(max));
        m.put(prefix + "linear_quant_scale", join(scale));
        m.put(prefix + "linear_quant_zero_point", join(zeroPoint));
        return m;
    }

    /** Reads what {@link #toMetadata(String)} wrote; a missing key is an error naming it. */
    public static QuantParams fromMetadata(String prefix, Map<String, String> m) {
        return new QuantParams(Integer.parseInt(get(m, prefix + "num_bits")), Boolean.parseBoolean(get(m, prefix + "signed")),
                Boolean.parseBoolean(get(m, prefix + "symmetric")), Boolean.parseBoolean(get(m, prefix + "narrow_range")),
                Integer.parseInt(get(m, prefix + "channel_axis")), floats(get(m, prefix + "min")), floats(get(m, prefix + "max")),
                floats(get(m, prefix + "linear_quant_scale")), ints(get(m, prefix + "linear_quant_zero_point")));
    }

    private static String get(Map<String, String> m, String key) {
        String v = m.get(key);
        if (v == null) throw new IllegalArgumentException("quantization metadata key '" + key + "' is missing");
        return v;
    }

    private static String join(float[] a) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < a.length; i++) sb.append(i == 0 ? "" : ",").append(Float.toString(a[i]));
        return sb.toString();
    }

    private static String join(int[] a) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < a.length; i++) sb.append(i == 0 ? "" : ",").append(a[i]);
        return sb.toString();
    }

    private static float[] floats(String s) {
        String[] p = s.split(",");
        float[] out = new float[p.length];
        for (int i = 0; i < p.length; i++) out[i] = Float.parseFloat(p[i]);
        return out;
    }

    private static int[] ints(String s) {
        String[] p = s.split(",");
        int[] out = new int[p.length];
        for (int i = 0; i < p.length; i++) out[i] = Integer.parseInt(p[i]);
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof QuantParams q && bits == q.bits && signed == q.signed && symmetric == q.symmetric && narrowRange == q.narrowRange
                && axis == q.axis && Arrays.equals(min, q.min) && Arrays.equals(max, q.max) && Arrays.equals(scale, q.scale)
                && Arrays.equals(zeroPoint, q.zeroPoint);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(scale) * 31 + Arrays.hashCode(zeroPoint) + axis;
    }

    @Override
    public String toString() {
        return "QuantParams[" + (signed ? "int" : "uint") + bits + (symmetric ? " sym" : " asym") + (narrowRange ? " narrow" : "")
                + (perChannel() ? " axis=" + axis + " channels=" + scale.length : " per-tensor scale=" + scale[0] + " zp=" + zeroPoint[0]) + "]";
    }
}
