package org.goldenstick.quant;

import java.util.LinkedHashMap;
import java.util.Map;
import org.goldenstick.formats.safetensors.SafetensorsFile;
import org.goldenstick.formats.safetensors.SafetensorsWriter;

/**
 * Compact storage of {@link QuantParams} in a safetensors deploy file, so a small model's file is dominated by its
 * int8 weights. Per-tensor parameters are one metadata entry ({@code "u8,asym,scale=0.0123,zp=12"}: grid
 * i/u + bits, sym/asym, optional narrow); per-channel parameters keep those fields in metadata and store
 * {@code <name>.scale} (F32) and {@code <name>.zero_point} (I8, or I32 beyond the int8 range; omitted and written
 * {@code zp=0} when all zero, as for symmetric weights). The observed range is not stored: on reload it is the grid's
 * range {@code (qmin − zp)·scale … (qmax − zp)·scale}. {@link DeployIO} stores a value that repeats an earlier one as
 * {@code "@<earlier key>"}.
 */
public final class QuantParamsIO {
    private QuantParamsIO() {}

    /** The tensors an int8 deploy layer ({@link QLinear}, {@link QConv2d}) stores; {@code bias} and {@code outputParams} may be null. */
    record Int8Layer(byte[] weight, int[] bias, QuantParams weightParams, QuantParams inputParams, QuantParams outputParams) {
        void write(String prefix, SafetensorsWriter w, Map<String, String> meta, int... weightShape) {
            w.addInt8(prefix + "weight", weight, weightShape);
            if (bias != null) w.addInt32(prefix + "bias", bias, weightShape[0]);
            QuantParamsIO.write(prefix + "weight_quant", weightParams, w, meta);
            QuantParamsIO.write(prefix + "input_quant", inputParams, w, meta);
            if (outputParams != null) QuantParamsIO.write(prefix + "output_quant", outputParams, w, meta);
        }

        static Int8Layer read(String prefix, SafetensorsFile f) {
            return new Int8Layer(f.int8(prefix + "weight"), f.contains(prefix + "bias") ? f.int32(prefix + "bias") : null,
                    QuantParamsIO.read(prefix + "weight_quant", f), QuantParamsIO.read(prefix + "input_quant", f),
                    has(prefix + "output_quant", f) ? QuantParamsIO.read(prefix + "output_quant", f) : null);
        }
    }

    public static void write(String name, QuantParams p, SafetensorsWriter out, Map<String, String> metadata) {
        StringBuilder sb = new StringBuilder();
        sb.append(p.signed() ? 'i' : 'u').append(p.bits()).append(p.symmetric() ? ",sym" : ",asym");
        if (p.narrowRange()) sb.append(",narrow");
        if (p.perChannel()) sb.append(",axis=").append(p.axis());
        if (!p.perChannel()) {
            sb.append(",scale=").append(p.scale()[0]).append(",zp=").append(p.zeroPoint()[0]);
        } else {
            out.addFloats(name + ".scale", p.scale().clone(), org.goldenstick.formats.safetensors.DType.F32, p.channels());
            boolean fits = true, zero = true;
            for (int z : p.zeroPoint()) {
                if (z < -128 || z > 127) fits = false;
                if (z != 0) zero = false;
            }
            if (zero) {
                sb.append(",zp=0"); // symmetric weights: no zero-point tensor
            } else if (fits) {
                byte[] zb = new byte[p.channels()];
                for (int i = 0; i < zb.length; i++) zb[i] = (byte) p.zeroPoint()[i];
                out.addInt8(name + ".zero_point", zb, p.channels());
            } else {
                out.addInt32(name + ".zero_point", p.zeroPoint().clone(), p.channels());
            }
        }
        metadata.put(name, sb.toString());
    }

    /** True if the file holds parameters under {@code name}. */
    public static boolean has(String name, SafetensorsFile in) {
        return in.metadata().containsKey(name);
    }

    public static QuantParams read(String name, SafetensorsFile in) {
        String s = in.metadata().get(name);
        if (s == null) throw new IllegalArgumentException(in.path() + ": quantization parameters '" + name + "' are missing from the metadata");
        if (s.startsWith("@")) { // shared with another entry (e.g. a consumer's input grid is its producer's output grid)
            String target = s.substring(1);
            s = in.metadata().get(target);
            if (s == null || s.startsWith("@")) throw new IllegalArgumentException(in.path() + ": '" + name + "' refers to missing entry '" + target + "'");
        }
        try {
            String[] parts = s.split(",");
            boolean signed = parts[0].charAt(0) == 'i';
            if (!signed && parts[0].charAt(0) != 'u') throw new IllegalArgumentException("grid must start with i or u");
            int bits = Integer.parseInt(parts[0].substring(1));
            boolean sym = parts[1].equals("sym");
            boolean narrow = false;
            Map<String, String> f = new LinkedHashMap<>();
            for (int i = 2; i < parts.length; i++) {
                if (parts[i].equals("narrow")) narrow = true;
                else {
                    int eq = parts[i].indexOf('=');
                    if (eq < 0) throw new IllegalArgumentException("unexpected field '" + parts[i] + "'");
                    f.put(parts[i].substring(0, eq), parts[i].substring(eq + 1));
                }
            }
            int axis = Integer.parseInt(f.getOrDefault("axis", "-1"));
            int[] r = QuantMath.quantRange(bits, signed, narrow);
            float[] scale;
            int[] zp;
            if (axis < 0) {
                scale = new float[] {Float.parseFloat(f.get("scale"))};
                zp = new int[] {Integer.parseInt(f.get("zp"))};
            } else {
                scale = in.floats(name + ".scale");
                if ("0".equals(f.get("zp"))) {
                    zp = new int[scale.length];
                } else if (in.entry(name + ".zero_point").dtype() == org.goldenstick.formats.safetensors.DType.I8) {
                    byte[] zb = in.int8(name + ".zero_point");
                    zp = new int[zb.length];
                    for (int i = 0; i < zb.length; i++) zp[i] = zb[i];
                } else {
                    zp = in.int32(name + ".zero_point");
                }
            }
            float[] lo = new float[scale.length], hi = new float[scale.length];
            for (int c = 0; c < scale.length; c++) {
                lo[c] = (r[0] - zp[c]) * scale[c];
                hi[c] = (r[1] - zp[c]) * scale[c];
            }
            return new QuantParams(bits, signed, sym, narrow, axis, lo, hi, scale, zp);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(in.path() + ": bad quantization parameters '" + name + "' (" + s + "): " + e.getMessage(), e);
        }
    }
}
