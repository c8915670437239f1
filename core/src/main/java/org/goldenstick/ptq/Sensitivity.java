package org.goldenstick.ptq;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.progress.ProgressListener;
import org.goldenstick.progress.ProgressTask;
import org.goldenstick.tensor.Tensor;

/**
 * Per-layer sensitivity and mixed precision from it. {@link #scan} quantizes one unit at a time (RTN, the rest of the
 * model in float) and measures the mean KL divergence of the model's next-token distribution from FP32's over the
 * calibration tokens, at 4 and at 8 bits. A unit is what vLLM loads as one layer: {@code q/k/v_proj} together
 * ({@code qkv_proj}), {@code gate/up_proj} together ({@code gate_up_proj}), and every other linear alone — fused
 * shards must share one scheme. {@link #allocate} then picks 4 bits, 8 bits or float per unit to minimise the summed
 * sensitivity under an average bits-per-weight budget (scales counted at 16 bits, float at 16 bits).
 *
 * <pre>{@code
 * List<Sensitivity.Unit> s = Sensitivity.scan(model, samples, targets, WeightScheme.of(4, 128, true));
 * Map<String, WeightScheme> plan = Sensitivity.allocate(s, 4.5, WeightScheme.of(4, 128, true));
 * }</pre>
 */
public final class Sensitivity {
    private Sensitivity() {}

    /**
     * @param name   unit name (e.g. {@code model.layers.3.self_attn.qkv_proj})
     * @param layers its linears
     * @param params weights in the unit
     * @param cols   input features of the unit's linears (one value: fused shards share their input)
     * @param kld4   mean KLD vs FP32 with only this unit at 4 bits
     * @param kld8   the same at 8 bits
     */
    public record Unit(String name, List<String> layers, long params, int cols, double kld4, double kld8) {}

    /** The scheme for a layer with {@code cols} inputs: {@code s}, or per channel if its group does not divide them. */
    public static WeightScheme fit(WeightScheme s, int cols) {
        return s.groupSize() == 0 || cols % s.groupSize() == 0 ? s : WeightScheme.of(s.bits(), 0, s.symmetric());
    }

    /** The units of the target linears, in model order. */
    static Map<String, List<String>> units(List<String> targets) {
        Map<String, List<String>> u = new LinkedHashMap<>();
        for (String t : targets) {
            String key = t;
            if (t.endsWith("self_attn.q_proj") || t.endsWith("self_attn.k_proj") || t.endsWith("self_attn.v_proj")) key = t.substring(0, t.lastIndexOf('.')) + ".qkv_proj";
            else if (t.endsWith("mlp.gate_proj") || t.endsWith("mlp.up_proj")) key = t.substring(0, t.lastIndexOf('.')) + ".gate_up_proj";
            u.computeIfAbsent(key, k -> new ArrayList<>()).add(t);
        }
        return u;
    }

    /** Scans every unit of {@code targets} with RTN at {@code w4} (and the same grouping at 8 bits). */
    public static List<Unit> scan(LlamaModel model, List<int[]> samples, List<String> targets, WeightScheme w4) {
        return scan(model, samples, targets, w4, ProgressListener.SILENT);
    }

    /** As above, reporting per-unit progress to {@code progress}. */
    public static List<Unit> scan(LlamaModel model, List<int[]> samples, List<String> targets, WeightScheme w4, ProgressListener progress) {
        if (samples.isEmpty()) throw new IllegalArgumentException("sensitivity needs calibration text: the calibration set is empty");
        List<float[]> reference = new ArrayList<>();
        for (int[] s : samples) reference.add(logProbs(model, s));
        WeightScheme w8 = WeightScheme.of(8, w4.groupSize(), w4.symmetric());
        List<Unit> out = new ArrayList<>();
        Map<String, List<String>> units = units(targets);
        ProgressTask p = ProgressTask.start(ProgressListener.orSilent(progress), "sensitivity", units.size(), "unit");
        for (var e : units.entrySet()) {
            long params = 0;
            int cols = 0;
            for (String l : e.getValue()) {
                Linear lin = (Linear) model.module(l);
                params += (long) lin.inFeatures() * lin.outFeatures();
                cols = lin.inFeatures();
            }
            double k4 = kldWith(model, e.getValue(), fit(w4, cols), samples, reference);
            double k8 = kldWith(model, e.getValue(), fit(w8, cols), samples, reference);
            out.add(new Unit(e.getKey(), List.copyOf(e.getValue()), params, cols, k4, k8));
            p.advance(1, 1, e.getKey());
        }
        p.finish("");
        return out;
    }

    private static double kldWith(LlamaModel model, List<String> layers, WeightScheme s, List<int[]> samples, List<float[]> reference) {
        Map<String, Module> orig = new LinkedHashMap<>();
        for (String l : layers) {
            Linear lin = (Linear) model.module(l);
            orig.put(l, lin);
            model.replaceChild(l, WNA16Linear.quantize(lin, s, DType.F32, l));
        }
        try {
            double sum = 0;
            long rows = 0;
            int v = model.config().vocabSize();
            for (int i = 0; i < samples.size(); i++) {
                float[] q = logProbs(model, samples.get(i)), r = reference.get(i);
                for (int t = 0; t < q.length / v; t++) {
                    double k = 0;
                    for (int j = 0; j < v; j++) {
                        double lp = r[t * v + j];
                        k += Math.exp(lp) * (lp - q[t * v + j]);
                    }
                    sum += k;
                    rows++;
                }
            }
            return sum / rows;
        } finally {
            for (var e : orig.entrySet()) model.replaceChild(e.getKey(), e.getValue());
        }
    }

    /** Log-softmax of the logits after every token of {@code ids}, {@code [T·V]}. */
    static float[] logProbs(LlamaModel model, int[] ids) {
        Tensor logits = model.newSession(ids.length).forward(ids, true);
        float[] d = logits.data().clone();
        int v = model.config().vocabSize();
        for (int t = 0; t < ids.length; t++) {
            double mx = Double.NEGATIVE_INFINITY, z = 0;
            for (int j = 0; j < v; j++) mx = Math.max(mx, d[t * v + j]);
            for (int j = 0; j < v; j++) z += Math.exp(d[t * v + j] - mx);
            double lz = mx + Math.log(z);
            for (int j = 0; j < v; j++) d[t * v + j] = (float) (d[t * v + j] - lz);
        }
        return d;
    }

    /**
     * Per-unit bits (4, 8 or float) minimising the summed sensitivity with the parameter-weighted average
     * bits per weight at most {@code budget}: start every unit at 4 bits, then repeatedly take the upgrade
     * (4 → 8, 8 → float, or 4 → float) with the largest sensitivity reduction per added bit while it fits. Units
     * left in float are absent from the returned plan. Fails if even all-4-bit exceeds the budget.
     */
    public static Map<String, WeightScheme> allocate(List<Unit> units, double budget, WeightScheme w4) {
        WeightScheme w8 = WeightScheme.of(8, w4.groupSize(), w4.symmetric());
        int n = units.size();
        double[][] bits = new double[n][3];
        double[][] cost = new double[n][3];
        long total = 0;
        for (int i = 0; i < n; i++) {
            Unit u = units.get(i);
            bits[i][0] = fit(w4, u.cols()).bitsPerWeight(u.cols()) * u.params();
            bits[i][1] = fit(w8, u.cols()).bitsPerWeight(u.cols()) * u.params();
            bits[i][2] = 16.0 * u.params();
            cost[i] = new double[] {u.kld4(), u.kld8(), 0};
            total += u.params();
        }
        int[] level = new int[n];
        double used = 0;
        for (int i = 0; i < n; i++) used += bits[i][0];
        double limit = budget * total;
        if (used > limit * (1 + 1e-12)) throw new IllegalArgumentException(String.format(java.util.Locale.ROOT, "--bits-budget %.3f is below the all-4-bit size (%.3f bits per weight)", budget, used / total));
        while (true) {
            int bi = -1, bl = -1;
            double best = 0;
            for (int i = 0; i < n; i++) {
                for (int l = level[i] + 1; l < 3; l++) {
                    double add = bits[i][l] - bits[i][level[i]], gain = cost[i][level[i]] - cost[i][l];
                    if (used + add > limit || gain <= 0) continue;
                    double ratio = gain / add;
                    if (ratio > best) {
                        best = ratio;
                        bi = i;
                        bl = l;
                    }
                }
            }
            if (bi < 0) break;
            used += bits[bi][bl] - bits[bi][level[bi]];
            level[bi] = bl;
        }
        Map<String, WeightScheme> plan = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            if (level[i] == 2) continue;
            Unit u = units.get(i);
            for (String l : u.layers()) plan.put(l, fit(level[i] == 0 ? w4 : w8, u.cols()));
        }
        return plan;
    }

    /** Average bits per weight of a plan over {@code units} (float units at 16). */
    public static double bitsPerWeight(List<Unit> units, Map<String, WeightScheme> plan) {
        double bits = 0;
        long total = 0;
        for (Unit u : units) {
            WeightScheme s = plan.get(u.layers().get(0));
            bits += (s == null ? 16.0 : s.bitsPerWeight(u.cols())) * u.params();
            total += u.params();
        }
        return bits / total;
    }
}
