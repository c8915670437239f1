package org.goldenstick.ptq;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.nn.Linear;
import org.goldenstick.progress.ProgressListener;
import org.goldenstick.tensor.kernel.PackedIntWeights;

/**
 * Weight-only quantization of an in-memory Llama model with a per-layer plan (layer name → {@link WeightScheme};
 * layers not in the plan stay float): RTN, or GPTQ calibrated {@link LayerByLayer layer by layer}, true-sequential
 * inside a decoder layer — {@code q/k/v_proj} (one Hessian: same input), then {@code o_proj}, then
 * {@code gate/up_proj}, then {@code down_proj}, each stage calibrated on the outputs of the stages already
 * quantized. {@link #quantize} leaves each planned {@link Linear} holding its quantized-processed float weights
 * (what the quantized layer computes) and returns the packed integer form; {@link #convert} swaps in
 * {@link WNA16Linear}s.
 *
 * <pre>{@code
 * Map<String, PackedIntWeights> q = WeightOnlyQuantizer.gptq(model, samples, plan, Gptq.Settings.defaults(w4), DType.F32);
 * // model's linears now hold the GPTQ-processed float weights (e.g. for a GGUF export); then:
 * WeightOnlyQuantizer.convert(model, q);
 * }</pre>
 */
public final class WeightOnlyQuantizer {
    private WeightOnlyQuantizer() {}

    /** A uniform plan: every linear of {@code targets} with {@code scheme}. */
    public static Map<String, WeightScheme> uniform(List<String> targets, WeightScheme scheme) {
        Map<String, WeightScheme> p = new LinkedHashMap<>();
        for (String t : targets) p.put(t, scheme);
        return p;
    }

    /** The plan of a config: each of {@code targets} with {@link PTQConfig#schemeFor} (the head's own scheme included). */
    public static Map<String, WeightScheme> plan(List<String> targets, PTQConfig config) {
        Map<String, WeightScheme> p = new LinkedHashMap<>();
        for (String t : targets) p.put(t, config.schemeFor(t));
        return p;
    }

    /**
     * Planned linears outside the decoder layers ({@code lm_head}) have no layer-by-layer calibration: they are rounded
     * to nearest after the calibrated layers, as llama.cpp rounds its output tensor.
     */
    private static void roundTheRest(LlamaModel model, Map<String, WeightScheme> plan, DType scaleDtype, Map<String, PackedIntWeights> out) {
        Map<String, WeightScheme> rest = new LinkedHashMap<>();
        for (var e : plan.entrySet()) if (!out.containsKey(e.getKey())) rest.put(e.getKey(), e.getValue());
        out.putAll(rtn(model, rest, scaleDtype));
    }

    /** Round to nearest with the plan (no data). */
    public static Map<String, PackedIntWeights> rtn(LlamaModel model, Map<String, WeightScheme> plan, DType scaleDtype) {
        Map<String, PackedIntWeights> out = new LinkedHashMap<>();
        for (var e : plan.entrySet()) {
            Linear l = (Linear) model.module(e.getKey());
            PackedIntWeights pw = WNA16Linear.quantize(l, e.getValue(), scaleDtype, e.getKey()).weights();
            System.arraycopy(pw.dequantize(), 0, l.weight().data(), 0, pw.rows() * pw.cols());
            out.put(e.getKey(), pw);
        }
        return out;
    }

    /**
     * GPTQ, layer by layer. {@code settings.weights()} is ignored: each layer uses its plan's scheme. Fails before
     * touching the model if the calibration set has fewer tokens than the widest planned layer has inputs (its
     * Hessian would be rank-deficient; dampening alone makes it invertible but GPTQ then fits noise).
     */
    public static Map<String, PackedIntWeights> gptq(LlamaModel model, List<int[]> samples, Map<String, WeightScheme> plan, Gptq.Settings settings, DType scaleDtype) {
        return gptq(model, samples, plan, settings, scaleDtype, ProgressListener.SILENT);
    }

    /** As above, reporting per-layer progress to {@code progress}. */
    public static Map<String, PackedIntWeights> gptq(LlamaModel model, List<int[]> samples, Map<String, WeightScheme> plan, Gptq.Settings settings, DType scaleDtype,
                                                    ProgressListener progress) {
        return gptq(model, samples, plan, settings, scaleDtype, progress, null);
    }

    /** As above; with a {@code state} (not null) each finished decoder layer is kept, and a continuing state resumes after the last one. */
    static Map<String, PackedIntWeights> gptq(LlamaModel model, List<int[]> samples, Map<String, WeightScheme> plan, Gptq.Settings settings, DType scaleDtype,
                                             ProgressListener progress, ResumeState state) {
        requireEnoughTokens(model, samples, plan, "GPTQ");
        Map<String, PackedIntWeights> out = new LinkedHashMap<>();
        LayerByLayer.run(model, samples, (index, prefix, layer, inputs) -> gptqLayer(model, prefix, inputs, plan, settings, scaleDtype, out), progress,
                state, kept(plan, out, null, List.of()));
        roundTheRest(model, plan, scaleDtype, out);
        return out;
    }

    /**
     * AWQ (scale search folded into the preceding norm/linear, then clipping) and then RTN or GPTQ, layer by layer:
     * every decoder layer is smoothed, clipped and quantized before the next layer's inputs are computed from it.
     * Returns the packed weights; {@code applied} receives the chosen scales and α per mapping.
     */
    public static Map<String, PackedIntWeights> awq(LlamaModel model, List<int[]> samples, Map<String, WeightScheme> plan, WeightMethod.Awq method,
                                                   DType scaleDtype, Awq.Applied applied) {
        return awq(model, samples, plan, method, scaleDtype, applied, ProgressListener.SILENT);
    }

    /** As above, reporting per-layer progress to {@code progress}. */
    public static Map<String, PackedIntWeights> awq(LlamaModel model, List<int[]> samples, Map<String, WeightScheme> plan, WeightMethod.Awq method,
                                                   DType scaleDtype, Awq.Applied applied, ProgressListener progress) {
        return awq(model, samples, plan, method, scaleDtype, applied, progress, null);
    }

    /** As above; with a {@code state} (not null) each finished decoder layer is kept, and a continuing state resumes after the last one. */
    static Map<String, PackedIntWeights> awq(LlamaModel model, List<int[]> samples, Map<String, WeightScheme> plan, WeightMethod.Awq method,
                                            DType scaleDtype, Awq.Applied applied, ProgressListener progress, ResumeState state) {
        requireEnoughTokens(model, samples, plan, method.name());
        Awq.Settings s = method.settings();
        Map<String, PackedIntWeights> out = new LinkedHashMap<>();
        LayerByLayer.run(model, samples, (index, prefix, layer, inputs) -> {
            Awq.layer(model, prefix, layer, inputs, plan, s, scaleDtype, applied);
            if (method.then() instanceof WeightMethod.Gptq g) {
                gptqLayer(model, prefix, inputs, plan, new Gptq.Settings(WeightScheme.int8PerChannel(), g.dampening(), g.blockSize(), g.actOrder()), scaleDtype, out);
            } else {
                Map<String, WeightScheme> mine = new LinkedHashMap<>();
                for (var e : plan.entrySet()) if (e.getKey().startsWith(prefix)) mine.put(e.getKey(), e.getValue());
                out.putAll(rtn(model, mine, scaleDtype));
            }
        }, progress, state, kept(plan, out, applied, Awq.mappings(model.config().family())));
        roundTheRest(model, plan, scaleDtype, out);
        return out;
    }

    /**
     * A layer's results in a resume unit: each planned linear's codes, scales, zero points and shape, and AWQ's
     * chosen scales, α and formula per mapping — put back in the order an uninterrupted run produces them.
     */
    private static LayerByLayer.Results kept(Map<String, WeightScheme> plan, Map<String, PackedIntWeights> out, Awq.Applied applied, List<Awq.Mapping> mappings) {
        return new LayerByLayer.Results() {
            @Override
            public Map<String, Object> save(String prefix) {
                Map<String, Object> u = new LinkedHashMap<>();
                for (String n : plan.keySet()) {
                    PackedIntWeights w = out.get(n);
                    if (!n.startsWith(prefix) || w == null) continue;
                    u.put("q." + n + ".shape", new long[] {w.rows(), w.cols(), w.bits(), w.groupSize()});
                    u.put("q." + n + ".codes", PackedIntWeights.unpackRows(w.packed(), w.rows(), w.cols(), w.bits()));
                    u.put("q." + n + ".scales", w.scales());
                    if (w.zeroPoints() != null) u.put("q." + n + ".zero_points", w.zeroPoints());
                }
                if (applied != null) {
                    for (var e : applied.scales().entrySet()) {
                        if (!e.getKey().startsWith(prefix)) continue;
                        u.put("awq." + e.getKey() + ".scales", e.getValue());
                        u.put("awq." + e.getKey() + ".choice", new long[] {Double.doubleToRawLongBits(applied.alphas().get(e.getKey())), applied.duo().get(e.getKey()) ? 1 : 0});
                    }
                }
                return u;
            }

            @Override
            public void restore(String prefix, Map<String, Object> saved) {
                for (String n : plan.keySet()) {
                    if (!n.startsWith(prefix) || !(saved.get("q." + n + ".shape") instanceof long[] sh)) continue;
                    int rows = (int) sh[0], cols = (int) sh[1], bits = (int) sh[2];
                    out.put(n, PackedIntWeights.pack((byte[]) saved.get("q." + n + ".codes"), rows, cols, bits, (int) sh[3], (float[]) saved.get("q." + n + ".scales"),
                            (byte[]) saved.get("q." + n + ".zero_points")));
                }
                if (applied == null) return;
                for (Awq.Mapping m : mappings) {
                    String smooth = prefix + m.smooth();
                    if (!(saved.get("awq." + smooth + ".choice") instanceof long[] c)) continue;
                    applied.scales().put(smooth, (float[]) saved.get("awq." + smooth + ".scales"));
                    applied.alphas().put(smooth, Double.longBitsToDouble(c[0]));
                    applied.duo().put(smooth, c[1] == 1);
                }
            }
        };
    }

    /** GPTQ of one decoder layer's planned linears, stage by stage (true-sequential). */
    private static void gptqLayer(LlamaModel model, String prefix, LayerByLayer.Inputs inputs, Map<String, WeightScheme> plan, Gptq.Settings settings,
                                  DType scaleDtype, Map<String, PackedIntWeights> out) {
        for (List<String> stage : model.config().family().stages()) {
            List<String> names = new ArrayList<>();
            for (String s : stage) if (plan.containsKey(prefix + s)) names.add(prefix + s);
            if (names.isEmpty()) continue;
            Map<String, HessianObserver> obs = new LinkedHashMap<>();
            for (String n : names) {
                HessianObserver o = new HessianObserver(n, (Linear) model.module(n));
                obs.put(n, o);
                model.replaceChild(n, o);
            }
            try {
                inputs.forwardAll();
            } finally {
                for (var e : obs.entrySet()) model.replaceChild(e.getKey(), e.getValue().linear());
            }
            for (var e : obs.entrySet()) {
                Linear l = e.getValue().linear();
                WeightScheme ws = plan.get(e.getKey());
                Gptq.Settings s = new Gptq.Settings(ws, settings.dampening(), settings.blockSize(), settings.actOrder());
                Gptq.Result r = Gptq.quantize(l.weight().data(), l.outFeatures(), l.inFeatures(), e.getValue().hessian(), s, scaleDtype, e.getKey());
                System.arraycopy(r.dequantized(), 0, l.weight().data(), 0, r.dequantized().length);
                out.put(e.getKey(), r.weights());
            }
        }
    }

    static void requireEnoughTokens(LlamaModel model, List<int[]> samples, Map<String, WeightScheme> plan, String method) {
        if (samples == null || samples.isEmpty()) throw new IllegalArgumentException(method + " needs calibration text (--calib FILE|DIR): the calibration set is empty");
        long tokens = 0;
        for (int[] s : samples) tokens += s.length;
        int widest = 0;
        String which = null;
        for (String n : plan.keySet()) {
            int in = ((Linear) model.module(n)).inFeatures();
            if (in > widest) {
                widest = in;
                which = n;
            }
        }
        if (tokens < widest) {
            throw new IllegalArgumentException(method + ": " + tokens + " calibration tokens are fewer than the " + widest + " inputs of " + which
                    + ", so its Hessian 2XᵀX is rank-deficient; give more calibration text (--calib, --calib-samples, --seq-len)");
        }
    }

    /** Replaces each planned linear by the deploy layer of its packed weights (bias kept). */
    public static void convert(LlamaModel model, Map<String, PackedIntWeights> quantized) {
        for (var e : quantized.entrySet()) {
            Linear l = (Linear) model.module(e.getKey());
            model.replaceChild(e.getKey(), new WNA16Linear(e.getValue(), l.bias() == null ? null : l.bias().copy()));
        }
    }
}
