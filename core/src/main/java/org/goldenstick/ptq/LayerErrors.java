package org.goldenstick.ptq;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.goldenstick.llm.HfCheckpoint;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;

/**
 * Per-layer weight error of a quantized checkpoint against the float checkpoint it came from: for each int8 linear,
 * {@code ||W − W_deq|| / ||W||} (Frobenius), where {@code W_deq} is the int8 weight times its per-row scale (or the
 * dequantized group-wise low-bit weight). For a layer
 * that SmoothQuant smoothed, the quantized weight holds {@code W·diag(s)}; the factors {@code s} are recovered from the
 * two checkpoints' norm weights ({@code s_j = γ_j / γ'_j}) and divided back out, so the number compares like with like.
 * Both models are loaded in memory (two float copies of the model).
 *
 * <pre>{@code
 * Map<String, Double> err = LayerErrors.relativeWeightErrors(Path.of("models/gstick-llama-demo"), Path.of("out-rtn"));
 * }</pre>
 */
public final class LayerErrors {
    private LayerErrors() {}

    /** Layer path → relative weight error, in model order, for every quantized linear of {@code quantized}. */
    public static Map<String, Double> relativeWeightErrors(Path floatDir, Path quantizedDir) throws IOException {
        LlamaModel q = QuantizedCheckpoints.loadOnHeap(quantizedDir);
        LlamaModel fp = HfCheckpoint.load(floatDir);
        if (q.lmHead() != null && fp.lmHead() == null) fp = fp.withUntiedHead(); // a tied head quantized as its own copy (--head-bits)
        Map<String, Module> fpMods = fp.namedModules(), qMods = q.namedModules();
        Map<String, float[]> smoothing = new LinkedHashMap<>();
        for (var g : SmoothingMapping.resolve(fp, SmoothQuant.familyMappings(fp)).entrySet()) {
            float[] before = fpMods.get(g.getKey()).parameter("weight").data();
            Module after = qMods.get(g.getKey());
            if (after == null || after.parameter("weight") == null) continue;
            float[] now = after.parameter("weight").data();
            float[] s = new float[before.length];
            float off = after instanceof org.goldenstick.llm.RmsNorm r ? r.offset() : 0f; // Gemma's norms scale by 1 + weight
            boolean changed = false;
            for (int j = 0; j < s.length; j++) {
                s[j] = off + now[j] == 0 ? 1f : (off + before[j]) / (off + now[j]);
                changed |= Math.abs(s[j] - 1f) > 1e-6f;
            }
            if (changed) for (String l : g.getValue()) smoothing.put(l, s);
        }
        Map<String, Double> out = new LinkedHashMap<>();
        for (var e : qMods.entrySet()) {
            float[] deq = dequantized(e.getValue());
            if (deq == null) continue;
            if (!(fpMods.get(e.getKey()) instanceof Linear lin)) throw new IllegalArgumentException(floatDir + ": no float linear '" + e.getKey() + "' to compare with");
            float[] w = lin.weight().data();
            int in = lin.inFeatures(), rows = lin.outFeatures();
            float[] s = smoothing.get(e.getKey());
            double num = 0, den = 0;
            for (int o = 0; o < rows; o++) {
                for (int k = 0; k < in; k++) {
                    double back = s == null ? deq[o * in + k] : deq[o * in + k] / (double) s[k];
                    double d = w[o * in + k] - back;
                    num += d * d;
                    den += (double) w[o * in + k] * w[o * in + k];
                }
            }
            out.put(e.getKey(), den == 0 ? 0.0 : Math.sqrt(num / den));
        }
        return out;
    }

    /** The float weight an int8 / packed low-bit linear computes with, or null for other modules. */
    private static float[] dequantized(Module m) {
        byte[] w8;
        float[] scale;
        if (m instanceof WNA16Linear l) return l.weights().dequantize();
        if (m instanceof W8A16Linear l) {
            w8 = l.int8Weight();
            scale = l.weightScale();
        } else if (m instanceof W8A8Linear l) {
            w8 = l.int8Weight();
            scale = l.weightScale();
        } else {
            return null;
        }
        int cols = w8.length / scale.length;
        float[] out = new float[w8.length];
        for (int i = 0; i < out.length; i++) out[i] = w8[i] * scale[i / cols];
        return out;
    }
}
