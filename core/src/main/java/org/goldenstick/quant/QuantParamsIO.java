package org.goldenstick.quant;

import java.util.LinkedHashMap;
import java.util.Map;
import org.goldenstick.formats.safetensors.SafetensorsFile;
import org.goldenstick.formats.safetensors.SafetensorsWriter;

/**
 * Compact storage of {@link QuantParams} in a safetensors deploy file. Per-tensor parameters are one metadata
 * entry ({@code "bits=8;signed=false;symmetric=false;narrow=false;axis=-1;scale=…;zp=…;min=…;max=…"}); per-channel
 * parameters keep the scalar fields in metadata and store {@code <name>.scale} (F32) and {@code <name>.zero_point}
 * (I8, or I32 beyond the int8 range) as tensors, so a model's size is dominated by its int8 weights. The per-channel
 * observed range is not stored (it is {@code (qmin − zp)·scale … (qmax − zp)·scale} on reload).
 */
public final class QuantParamsIO {
    private QuantParamsIO() {}

    public static void write(String name, QuantParams p, SafetensorsWriter out, Map<String, String> metadata) {
        StringBuilder sb = new StringBuilder();
        sb.append("bits=").append(p.bits()).append(";signed=").append(p.signed()).append(";symmetric=").append(p.symmetric())
                .append(";narrow=").append(p.narrowRange()).append(";axis=").append(p.axis());
        if (!p.perChannel()) {
            sb.append(";scale=").append(p.scale()[0]).append(";zp=").append(p.zeroPoint()[0]).append(";min=").append(p.min()[0])
                    .append(";max=").append(p.max()[0]);
        } else {
            out.addFloats(name + ".scale", p.scale().clone(), org.goldenstick.formats.safetensors.DType.F32, p.channels());
            boolean fits = true;
            for (int z : p.zeroPoint()) if (z < -128 || z > 127) fits = false;
            if (fits) {
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
        Map<String, String> f = new LinkedHashMap<>();
        for (String kv : s.split(";")) {
            int eq = kv.indexOf('=');
            if (eq < 0) throw new IllegalArgumentException(in.path() + ": malformed quantization parameters '" + name + "': " + s);
            f.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        try {
            int bits = Integer.parseInt(f.get("bits"));
            boolean signed = Boolean.parseBoolean(f.get("signed")), sym = Boolean.parseBoolean(f.get("symmetric")), narrow = Boolean.parseBoolean(f.get("narrow"));
            int axis = Integer.parseInt(f.get("axis"));
            if (axis < 0) {
                return new QuantParams(bits, signed, sym, narrow, -1, new float[] {Float.parseFloat(f.get("min"))}, new float[] {Float.parseFloat(f.get("max"))},
                        new float[] {Float.parseFloat(f.get("scale"))}, new int[] {Integer.parseInt(f.get("zp"))});
            }
            float[] scale = in.floats(name + ".scale");
            int[] zp;
            if (in.entry(name + ".zero_point").dtype() == org.goldenstick.formats.safetensors.DType.I8) {
                byte[] zb = in.int8(name + ".zero_point");
                zp = new int[zb.length];
                for (int i = 0; i < zb.length; i++) zp[i] = zb[i];
            } else {
                zp = in.int32(name + ".zero_point");
            }
            int[] r = QuantMath.quantRange(bits, signed, narrow);
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
