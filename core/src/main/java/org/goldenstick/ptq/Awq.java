package org.goldenstick.ptq;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.llm.LlamaAttention;
import org.goldenstick.llm.LlamaDecoderLayer;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.llm.ModelFamily;
import org.goldenstick.llm.RmsNorm;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.GradMode;
import org.goldenstick.tensor.Tensor;

/**
 * AWQ (Lin et al. 2023, as llm-compressor's {@code AWQModifier} runs it) for one decoder layer, before RTN or GPTQ:
 *
 * <ol>
 *   <li>For each {@link Mapping} (data: a smoothing layer, the linears that read it, and the module whose output the
 *       search compares), per input channel {@code x̄_j = mean|x_j|} over the calibration tokens and
 *       {@code w̄_j} = the mean over output rows of {@code |w|/max|w|} within each weight group;
 *   <li>a grid over {@code α ∈ {0, 1/n, …, (n−1)/n}}: {@code s = x̄^α / (w̄^(1−α) + 1e-4)} and/or {@code s = x̄^α}
 *       ({@link DuoScaling}; both by default), clamped below at 1e-4 and normalised by {@code sqrt(max s · min s)}
 *       (llm-compressor's {@code compute_scales_for_ratio}); the candidate's loss is the mean squared difference between the parent module's
 *       float output and its output with every balance weight replaced by {@code Q(W·s)/s};
 *   <li>the best {@code s} is folded: the smoothing layer's weight (an RMSNorm's, or the preceding linear's output rows
 *       and bias) is divided by {@code s}, the balance layers' input columns multiplied by it — the float model
 *       computes the same function;
 *   <li>weight clipping (AutoAWQ's {@code _search_best_clip}): for every linear — {@code q_proj}/{@code k_proj}
 *       included when RTN follows ({@link Settings#clipQk()}; AutoAWQ and llm-awq skip them because their error
 *       reaches the output through {@code q·kᵀ}, but their output error is still what the scores see, and on the
 *       demo model clipping them halves AWQ-then-RTN's perplexity increase, docs/llm-4bit.md) — per output row and group, the clamp {@code ±max|w|·(1 − i/n)} (i from 0 up to and including
 *       {@code maxShrink·n}; AutoAWQ stops one step short) that minimises the squared error of the group's part of the
 *       output over up to 512 evenly spaced calibration tokens is applied.
 * </ol>
 * The processed float weights are then quantized by the caller (RTN or GPTQ) on the same layer inputs.
 */
public final class Awq {
    private Awq() {}

    /**
     * A smoothing mapping inside a decoder layer (names relative to {@code model.layers.N.}).
     *
     * @param smooth  an RMSNorm or a linear whose output feeds the balance layers
     * @param balance the linears reading it (scaled up by s on their input columns)
     * @param parent  the module whose output the grid search compares (self_attn, mlp, or the single balance linear)
     */
    public record Mapping(String smooth, List<String> balance, String parent) {}

    /** A family's mappings, from its description ({@link ModelFamily#mappings()}, as llm-compressor's defaults). */
    public static List<Mapping> mappings(ModelFamily family) {
        return family.mappings().stream().map(m -> new Mapping(m.smooth(), m.balance(), m.parent())).toList();
    }

    /** Llama's mappings ({@link #mappings(ModelFamily)} of {@link ModelFamily#LLAMA}). */
    public static final List<Mapping> LLAMA = mappings(ModelFamily.LLAMA);

    /**
     * Which scale formula the grid tries (llm-compressor's {@code duo_scaling}). {@link #ON}:
     * {@code s = x̄^α / (w̄^(1−α) + 1e-4)} (AutoAWQ's and llm-compressor's default); {@link #OFF}: {@code s = x̄^α}
     * (the AWQ paper's); {@link #BOTH}: every α with each formula, so the search is a superset of {@code ON}'s and,
     * unlike it, includes {@code s = 1} (α = 0 without duo scaling): a mapping whose best choice is not to smooth
     * keeps its weights. (llm-compressor's {@code "both"} halves the α grid to keep the cost; ours costs two grids.)
     */
    public enum DuoScaling { ON, OFF, BOTH }

    /**
     * @param grid      α grid points (20; per formula with {@link DuoScaling#BOTH})
     * @param clip      run the clipping search
     * @param maxShrink largest relative shrink of max|w| tried by the clipping search (0.5)
     * @param duo       the scale formula(s) the grid tries
     * @param clipQk    the clipping search also covers {@code q_proj}/{@code k_proj} (AutoAWQ and llm-awq leave
     *                  them out; see the class comment)
     */
    public record Settings(int grid, boolean clip, double maxShrink, DuoScaling duo, boolean clipQk) {
        public Settings {
            if (grid < 1) throw new IllegalArgumentException("AWQ grid must be positive, got " + grid);
            if (!(maxShrink >= 0 && maxShrink < 1)) throw new IllegalArgumentException("AWQ max shrink must be in [0, 1), got " + maxShrink);
            java.util.Objects.requireNonNull(duo, "duo");
        }

        public static Settings defaults() {
            return new Settings(20, true, 0.5, DuoScaling.BOTH, true);
        }
    }

    /**
     * The scale chosen per mapping (by absolute smoothing-layer name), for reports and tests: the scales, α, and
     * whether the duo formula (with the weight term) won.
     */
    public record Applied(Map<String, float[]> scales, Map<String, Double> alphas, Map<String, Boolean> duo) {
        /** Empty maps to be filled by a run. */
        public static Applied empty() {
            return new Applied(new LinkedHashMap<>(), new LinkedHashMap<>(), new LinkedHashMap<>());
        }
    }

    /** Tokens of calibration input kept per linear for the clipping search. */
    static final int CLIP_TOKENS = 512;

    /** Smooths and clips the planned linears of one decoder layer on its calibration inputs. */
    static void layer(LlamaModel model, String prefix, LlamaDecoderLayer layer, LayerByLayer.Inputs inputs, Map<String, WeightScheme> plan,
                      Settings s, DType scaleDtype, Applied applied) {
        // 1. the inputs of every parent module (= the input of its first balance layer), per sample
        List<Mapping> mappings = mappings(model.config().family());
        List<String> firstBalance = new ArrayList<>();
        for (Mapping m : mappings) firstBalance.add(prefix + m.balance().get(0));
        Map<String, List<float[]>> captured = capture(model, inputs, firstBalance);
        for (Mapping m : mappings) {
            List<String> bal = new ArrayList<>();
            for (String b : m.balance()) bal.add(prefix + b);
            if (!plan.keySet().containsAll(bal)) continue;
            Module smooth = model.module(prefix + m.smooth());
            int in = ((Linear) model.module(bal.get(0))).inFeatures();
            if (smooth instanceof Linear sl && sl.outFeatures() != in) continue; // grouped-query attention: v_proj → o_proj shapes differ
            List<float[]> x = captured.get(bal.get(0));
            float[] sc = search(model, prefix, m, bal, x, inputs, plan, s, scaleDtype, applied);
            fold(smooth, bal.stream().map(b -> (Linear) model.module(b)).toList(), sc);
            applied.scales().put(prefix + m.smooth(), sc);
        }
        if (!s.clip()) return;
        // 2. clipping, on the inputs the (smoothed) linears now see
        List<String> clipped = new ArrayList<>();
        for (String n : plan.keySet()) if (n.startsWith(prefix) && (s.clipQk() || !n.endsWith("q_proj") && !n.endsWith("k_proj"))) clipped.add(n);
        Map<String, List<float[]>> after = capture(model, inputs, clipped);
        for (String n : clipped) clip((Linear) model.module(n), after.get(n), plan.get(n), s.maxShrink(), s.grid(), scaleDtype, n);
    }

    /** Records what flows into each named linear, one array per sample. */
    static Map<String, List<float[]>> capture(LlamaModel model, LayerByLayer.Inputs inputs, List<String> names) {
        Map<String, List<float[]>> out = new LinkedHashMap<>();
        Map<String, Module> orig = new LinkedHashMap<>();
        for (String n : names) {
            if (!(model.module(n) instanceof Linear l)) continue;
            List<float[]> rec = new ArrayList<>();
            out.put(n, rec);
            orig.put(n, l);
            model.replaceChild(n, new Module() {
                @Override
                public Tensor forward(Tensor x) {
                    rec.add(x.data().clone());
                    return l.forward(x);
                }
            });
        }
        try {
            inputs.forwardAll();
        } finally {
            for (var e : orig.entrySet()) model.replaceChild(e.getKey(), e.getValue());
        }
        return out;
    }

    private static float[] search(LlamaModel model, String prefix, Mapping m, List<String> bal, List<float[]> x, LayerByLayer.Inputs inputs,
                                  Map<String, WeightScheme> plan, Settings s, DType scaleDtype, Applied applied) {
        List<Linear> layers = bal.stream().map(b -> (Linear) model.module(b)).toList();
        int in = layers.get(0).inFeatures();
        double[] xMean = new double[in];
        long tokens = 0;
        for (float[] a : x) {
            for (int i = 0; i < a.length; i++) xMean[i % in] += Math.abs(a[i]);
            tokens += a.length / in;
        }
        for (int j = 0; j < in; j++) xMean[j] /= tokens;
        double[] wMean = new double[in];
        int rowsTotal = 0;
        for (Linear l : layers) {
            WeightScheme ws = plan.get(bal.get(layers.indexOf(l)));
            int gs = ws.groupFor(in, bal.get(0)), out = l.outFeatures();
            float[] w = l.weight().data();
            for (int o = 0; o < out; o++) {
                for (int g = 0; g < in / gs; g++) {
                    double mx = 0;
                    for (int c = g * gs; c < (g + 1) * gs; c++) mx = Math.max(mx, Math.abs(w[o * in + c]));
                    for (int c = g * gs; c < (g + 1) * gs; c++) wMean[c] += Math.abs(w[o * in + c]) / (mx + 1e-6);
                }
            }
            rowsTotal += out;
        }
        for (int j = 0; j < in; j++) wMean[j] /= rowsTotal;

        Module parent = model.module(prefix + m.parent());
        List<float[]> reference = new ArrayList<>();
        for (float[] a : x) reference.add(runParent(parent, a, in, inputs));
        List<float[]> original = new ArrayList<>();
        for (Linear l : layers) original.add(l.weight().data().clone());
        double best = Double.POSITIVE_INFINITY;
        float[] bestScale = new float[in];
        java.util.Arrays.fill(bestScale, 1f);
        double bestAlpha = -1;
        boolean bestDuo = false;
        // llm-compressor's grid: α = k/points for k < points, each α with the formula(s) asked for
        int points = s.grid();
        boolean[] formulas = switch (s.duo()) {
            case ON -> new boolean[] {true};
            case OFF -> new boolean[] {false};
            case BOTH -> new boolean[] {false, true};
        };
        try {
            for (int k = 0; k < points; k++) for (boolean duo : formulas) {
                double alpha = (double) k / points;
                float[] sc = candidateScales(xMean, wMean, alpha, duo);
                for (int i = 0; i < layers.size(); i++) {
                    Linear l = layers.get(i);
                    int out = l.outFeatures();
                    float[] scaled = original.get(i).clone();
                    for (int o = 0; o < out; o++) for (int c = 0; c < in; c++) scaled[o * in + c] *= sc[c];
                    float[] q = WNA16Linear.fromFloat(scaled, out, in, null, plan.get(bal.get(i)), scaleDtype, bal.get(i)).weights().dequantize();
                    float[] w = l.weight().data();
                    for (int o = 0; o < out; o++) for (int c = 0; c < in; c++) w[o * in + c] = q[o * in + c] / sc[c];
                }
                double loss = 0;
                long n = 0;
                for (int i = 0; i < x.size(); i++) {
                    float[] y = runParent(parent, x.get(i), in, inputs), r = reference.get(i);
                    for (int j = 0; j < y.length; j++) {
                        double d = y[j] - r[j];
                        loss += d * d;
                    }
                    n += y.length;
                }
                loss /= n;
                if (loss < best) {
                    best = loss;
                    bestScale = sc;
                    bestAlpha = alpha;
                    bestDuo = duo;
                }
            }
        } finally {
            for (int i = 0; i < layers.size(); i++) System.arraycopy(original.get(i), 0, layers.get(i).weight().data(), 0, original.get(i).length);
        }
        applied.alphas().put(prefix + m.smooth(), bestAlpha);
        applied.duo().put(prefix + m.smooth(), bestDuo);
        return bestScale;
    }

    /**
     * One grid candidate, as llm-compressor computes it: {@code x̄^α / (w̄^(1−α) + 1e-4)} (duo) or {@code x̄^α},
     * clamped below at 1e-4, divided by {@code sqrt(max·min)}; a non-finite entry becomes 1.
     */
    static float[] candidateScales(double[] xMean, double[] wMean, double alpha, boolean duo) {
        int in = xMean.length;
        double[] v = new double[in];
        double mx = Double.NEGATIVE_INFINITY, mn = Double.POSITIVE_INFINITY;
        for (int j = 0; j < in; j++) {
            double x = Math.pow(xMean[j], alpha);
            v[j] = Math.max(duo ? x / (Math.pow(wMean[j], 1 - alpha) + 1e-4) : x, 1e-4);
            mx = Math.max(mx, v[j]);
            mn = Math.min(mn, v[j]);
        }
        double norm = Math.sqrt(mx * mn);
        float[] sc = new float[in];
        for (int j = 0; j < in; j++) {
            double r = v[j] / norm;
            sc[j] = Double.isFinite(r) ? (float) r : 1f;
        }
        return sc;
    }

    private static float[] runParent(Module parent, float[] x, int in, LayerByLayer.Inputs inputs) {
        try (var ignored = GradMode.off()) {
            int t = x.length / in;
            if (parent instanceof LlamaAttention a) return a.forward(Tensor.of(x, 1, t, in), inputs.rope()).data();
            return parent.forward(Tensor.of(x, t, in)).data();
        }
    }

    /** Divides the smoothing layer's output channels by s and multiplies the balance layers' input columns by it. */
    static void fold(Module smooth, List<Linear> balance, float[] s) {
        int in = s.length;
        if (smooth instanceof RmsNorm norm) {
            norm.divideOutputs(s);
        } else if (smooth instanceof Linear l) {
            float[] w = l.weight().data();
            int cols = l.inFeatures();
            for (int j = 0; j < in; j++) for (int c = 0; c < cols; c++) w[j * cols + c] /= s[j];
            if (l.bias() != null) for (int j = 0; j < in; j++) l.bias().data()[j] /= s[j];
        } else {
            throw new IllegalArgumentException("AWQ: cannot fold scales into " + smooth.describe());
        }
        for (Linear b : balance) {
            float[] w = b.weight().data();
            int out = b.outFeatures();
            for (int o = 0; o < out; o++) for (int c = 0; c < in; c++) w[o * in + c] *= s[c];
        }
    }

    /** AWQ's clipping search: per output row and group, the clamp of max|w| minimising the group's output error. */
    static void clip(Linear l, List<float[]> xs, WeightScheme ws, double maxShrink, int grid, DType scaleDtype, String name) {
        int in = l.inFeatures(), out = l.outFeatures(), gs = ws.groupFor(in, name);
        // up to CLIP_TOKENS evenly spaced calibration tokens
        long total = 0;
        for (float[] a : xs) total += a.length / in;
        int n = (int) Math.min(CLIP_TOKENS, total);
        float[] x = new float[n * in];
        long stride = Math.max(1, total / n);
        int k = 0;
        long seen = 0;
        for (float[] a : xs) {
            for (int t = 0; t < a.length / in && k < n; t++, seen++) {
                if (seen % stride == 0) System.arraycopy(a, t * in, x, (k++) * in, in);
            }
        }
        n = k;
        float[] w = l.weight().data();
        float[] sz = new float[2];
        int steps = (int) (maxShrink * grid);
        for (int o = 0; o < out; o++) {
            for (int g = 0; g < in / gs; g++) {
                int c0 = g * gs;
                float mx = 0;
                for (int c = c0; c < c0 + gs; c++) mx = Math.max(mx, Math.abs(w[o * in + c]));
                if (mx == 0) continue;
                double[] ref = new double[n];
                for (int t = 0; t < n; t++) {
                    double acc = 0;
                    for (int c = c0; c < c0 + gs; c++) acc += (double) x[t * in + c] * w[o * in + c];
                    ref[t] = acc;
                }
                double bestErr = Double.POSITIVE_INFINITY;
                float bestMax = mx;
                float[] q = new float[gs];
                for (int i = 0; i <= steps; i++) {
                    float lim = (float) (mx * (1 - (double) i / grid));
                    float mn2 = Float.POSITIVE_INFINITY, mx2 = Float.NEGATIVE_INFINITY;
                    for (int c = 0; c < gs; c++) {
                        float v = Math.max(-lim, Math.min(lim, w[o * in + c0 + c]));
                        q[c] = v;
                        mn2 = Math.min(mn2, v);
                        mx2 = Math.max(mx2, v);
                    }
                    ws.params(mn2, mx2, scaleDtype, sz);
                    for (int c = 0; c < gs; c++) q[c] = ws.fakeQuant(q[c], sz[0], (int) sz[1]);
                    double err = 0;
                    for (int t = 0; t < n; t++) {
                        double acc = 0;
                        for (int c = 0; c < gs; c++) acc += (double) x[t * in + c0 + c] * q[c];
                        double d = acc - ref[t];
                        err += d * d;
                    }
                    if (err < bestErr) {
                        bestErr = err;
                        bestMax = lim;
                    }
                }
                for (int c = c0; c < c0 + gs; c++) w[o * in + c] = Math.max(-bestMax, Math.min(bestMax, w[o * in + c]));
            }
        }
    }
}
