package org.goldenstick.ptq;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.llm.ModelFamily;
import org.goldenstick.llm.RmsNorm;
import org.goldenstick.progress.ProgressListener;
import org.goldenstick.progress.ProgressTask;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;

/**
 * SmoothQuant W8A8 (and, with {@link OutlierSuppression#NONE}, naive W8A8 for comparison).
 *
 * <p>{@link #apply} in QUANTIZE mode:
 * <ol>
 *   <li>wraps every target linear in an observer and runs the calibration samples through the network one at a
 *       time (memory: the model, one sample's activations, one float per input channel per layer), recording the
 *       per-input-channel {@code max|X_j|};
 *   <li>for each RMSNorm → linears mapping ({@code input_layernorm → q/k/v_proj},
 *       {@code post_attention_layernorm → gate/up_proj}), computes
 *       {@code s_j = max(max|X_j|^α / max|W_j|^(1−α), 1e-5)} ({@code s_j = 1} when either side is 0; {@code max|W_j|}
 *       over all linears of the group), divides the norm weight by {@code s} and multiplies column {@code j} of
 *       every linear of the group by {@code s_j}. The float network computes the same function (exactly, up to
 *       float rounding) with flatter activations;
 *   <li>remembers each layer's (smoothed) activation range, for static per-tensor scales.
 * </ol>
 * {@code o_proj} and {@code down_proj} have no norm in front of them and are not smoothed; {@code down_proj} is
 * skipped by default ({@link PTQConfig#DEFAULT_SKIP_W8A8}). {@link #convert} then quantizes weights per output
 * channel and installs {@link W8A8Linear}s (per-token dynamic or static per-tensor activations).
 *
 * <pre>{@code
 * SmoothQuant sq = new SmoothQuant(PTQConfig.smoothQuant(0.85));
 * sq.apply(model, helper, helper.calibrationSamples(Path.of("calib.txt"), 64));
 * sq.convert(model);
 * }</pre>
 */
public final class SmoothQuant extends PtqAlgorithm {
    private static final double MIN_SCALE = 1e-5;
    private final PTQConfig config;
    private final List<SmoothingMapping> mappings;
    private final Map<String, Double> actAbsMax = new HashMap<>();
    private final Map<String, float[]> smoothScales = new LinkedHashMap<>();
    private final List<String> smoothedLinears = new ArrayList<>();
    private boolean applied;
    private ResumeState resume;

    private ProgressListener progress = ProgressListener.SILENT;

    /** Reports calibration progress (work: tokens) to {@code listener}; silent by default. */
    public SmoothQuant progress(ProgressListener listener) {
        this.progress = ProgressListener.orSilent(listener);
        return this;
    }

    /** SmoothQuant with the mappings of the network's {@link ModelFamily} (its description's norm → linear mappings). */
    public SmoothQuant(PTQConfig config) {
        this(config, null, true);
    }

    /**
     * SmoothQuant with explicit norm → linears mappings (a subset of the family's, or another architecture's); null
     * means the network's family's, as {@link #SmoothQuant(PTQConfig)}.
     */
    public SmoothQuant(PTQConfig config, List<SmoothingMapping> mappings) {
        this(config, mappings, mappings == null);
    }

    private SmoothQuant(PTQConfig config, List<SmoothingMapping> mappings, boolean fromFamily) {
        if (!config.quantizesActivations()) throw new IllegalArgumentException("SmoothQuant is W8A8 but the config leaves activations in float (" + config.methodName() + "); use RoundToNearest");
        if (!fromFamily && (mappings == null || mappings.isEmpty())) throw new IllegalArgumentException("SmoothQuant: at least one smoothing mapping is needed (SmoothingMapping.of(family) for a model family)");
        this.config = config;
        this.mappings = fromFamily ? null : List.copyOf(mappings);
    }

    @Override
    public PTQConfig config() {
        return config;
    }

    /** Names of the float tensors smoothing changed (norm weights and the weights of their consumers). */
    public java.util.Set<String> modifiedTensors() {
        java.util.Set<String> out = new java.util.LinkedHashSet<>();
        for (String norm : smoothScales.keySet()) out.add(norm + ".weight");
        for (String l : smoothedLinears) out.add(l + ".weight");
        return out;
    }

    /**
     * Keeps the calibration statistics after every sample in {@code state}, and when it is continuing starts from the
     * samples an interrupted run finished (the running maxima are exact, so the result is the same).
     */
    public void resumeWith(ResumeState state) {
        this.resume = state;
    }

    ResumeState resumeState() {
        return resume;
    }

    /** Called after each calibration sample (and its saved progress); tests interrupt a run through it. */
    static java.util.function.IntConsumer sampleDone = i -> {};

    /** Smoothing factors applied per norm (by norm path), for reports and tests. */
    public Map<String, float[]> smoothScales() {
        return smoothScales;
    }

    @Override
    public Module apply(Module network, NetworkHelper helper, List<int[]> calibration) {
        List<String> targets = PtqAlgorithm.targets(network, config);
        if (targets.isEmpty()) System.err.println("warning: no linear layer of the network is left to quantize; check the skip list " + config.skip());
        if (config.mode() == PTQMode.DEPLOY) {
            for (String t : targets) {
                Linear l = (Linear) network.module(t);
                network.replaceChild(t, W8A8Linear.placeholder(l.inFeatures(), l.outFeatures(), l.bias() != null, config.actGranularity()));
            }
            applied = true;
            return network;
        }
        boolean needsData = config.outliers() == OutlierSuppression.SMOOTH || config.actGranularity() == ActGranularity.PER_TENSOR;
        if (needsData) {
            if (calibration == null || calibration.isEmpty()) throw new IllegalArgumentException(config.methodName() + ": the calibration set is empty; " + (config.outliers() == OutlierSuppression.SMOOTH ? "SmoothQuant" : "static activation scales") + " need calibration samples");
            if (helper == null) throw new IllegalArgumentException(config.methodName() + ": a NetworkHelper is needed to run calibration");
            for (int i = 0; i < calibration.size(); i++) if (calibration.get(i) == null || calibration.get(i).length == 0) throw new IllegalArgumentException(config.methodName() + ": calibration sample " + i + " is empty");
            if (config.outliers() == OutlierSuppression.SMOOTH && groups(network).isEmpty()) {
                // smoothing nothing would silently give plain W8A8: a mapping list for another family, or a typo
                throw new IllegalArgumentException("SmoothQuant: no norm → linears mapping matches a layer of the network (mappings: "
                        + (mappings != null ? mappings : familyMappings(network)) + ")");
            }
            finishCalibration(network, calibrate(network, helper, calibration, targets));
        }
        applied = true;
        return network;
    }

    /** Whether QUANTIZE runs calibration data through the network (smoothing, or static activation scales). */
    boolean needsCalibration() {
        return config.mode() == PTQMode.QUANTIZE && (config.outliers() == OutlierSuppression.SMOOTH || config.actGranularity() == ActGranularity.PER_TENSOR);
    }

    /**
     * Wraps every target linear in an observer, and every linear of a smoothing group (the smoothing groups also need
     * statistics for skipped consumers of a smoothed norm).
     */
    Map<String, ActObserver> observe(Module network, List<String> targets) {
        Map<String, ActObserver> obs = new LinkedHashMap<>();
        List<String> observed = new ArrayList<>(targets);
        for (List<String> g : groups(network).values()) for (String l : g) if (!observed.contains(l)) observed.add(l);
        for (String t : observed) {
            ActObserver o = new ActObserver(t, (Linear) network.module(t));
            obs.put(t, o);
            network.replaceChild(t, o);
        }
        return obs;
    }

    /** Puts the observed linears back. */
    static void unobserve(Module network, Map<String, ActObserver> obs) {
        for (var e : obs.entrySet()) network.replaceChild(e.getKey(), e.getValue().linear());
    }

    /** Checks every observer saw data, then smooths (or records plain activation ranges); the network is then ready to {@link #convert}. */
    void finishCalibration(Module network, Map<String, ActObserver> obs) {
        for (var e : obs.entrySet()) if (e.getValue().tokens() == 0) throw new IllegalStateException("calibration never reached layer " + e.getKey() + " (is it used by the forward pass?)");
        if (config.outliers() == OutlierSuppression.SMOOTH) smooth(network, obs);
        else for (var e : obs.entrySet()) actAbsMax.put(e.getKey(), (double) max(e.getValue().absMax()));
        applied = true;
    }

    private Map<String, ActObserver> calibrate(Module network, NetworkHelper helper, List<int[]> samples, List<String> targets) {
        Map<String, ActObserver> obs = observe(network, targets);
        try {
            long tokens = 0;
            for (int[] s : samples) tokens += s.length;
            ProgressTask p = ProgressTask.start(progress, "calibrate", tokens, "tok");
            int first = resume == null ? 0 : restore(obs, samples.size());
            for (int i = 0; i < first; i++) p.advance(samples.get(i).length, samples.get(i).length, "sample " + (i + 1) + "/" + samples.size() + " (resumed)");
            for (int i = first; i < samples.size(); i++) {
                helper.forward(network, samples.get(i));
                if (resume != null) {
                    Map<String, Object> unit = new LinkedHashMap<>();
                    unit.put("samples", new long[] {i + 1, samples.size()});
                    for (var e : obs.entrySet()) {
                        unit.put(e.getKey() + ".absmax", e.getValue().absMax());
                        unit.put(e.getKey() + ".tokens", new long[] {e.getValue().tokens()});
                    }
                    resume.save("calibration", unit);
                }
                sampleDone.accept(i);
                p.advance(samples.get(i).length, samples.get(i).length, "sample " + (i + 1) + "/" + samples.size());
            }
            p.finish("");
        } finally {
            unobserve(network, obs);
        }
        return obs;
    }

    /** Loads the statistics an interrupted run saved into the observers; returns the number of samples they cover. */
    private int restore(Map<String, ActObserver> obs, int total) {
        Map<String, Object> u = resume.load("calibration");
        if (u == null || !(u.get("samples") instanceof long[] n) || n.length != 2 || n[1] != total) return 0;
        for (var e : obs.entrySet()) {
            if (!(u.get(e.getKey() + ".absmax") instanceof float[] a) || a.length != e.getValue().absMax().length) return 0;
            if (!(u.get(e.getKey() + ".tokens") instanceof long[] t) || t.length != 1) return 0;
        }
        for (var e : obs.entrySet()) e.getValue().restore((float[]) u.get(e.getKey() + ".absmax"), ((long[]) u.get(e.getKey() + ".tokens"))[0]);
        return (int) n[0];
    }

    /**
     * norm path → the linears reading its output under this instance's mappings (by default the network's family's);
     * only groups present in the network.
     */
    Map<String, List<String>> groups(Module network) {
        return SmoothingMapping.resolve(network, mappings != null ? mappings : familyMappings(network));
    }

    /** The mappings of a {@link LlamaModel}'s family ({@link SmoothingMapping#of}); Llama's for any other network. */
    static List<SmoothingMapping> familyMappings(Module network) {
        return SmoothingMapping.of(network instanceof LlamaModel m ? m.config().family() : ModelFamily.LLAMA);
    }

    private void smooth(Module network, Map<String, ActObserver> obs) {
        double alpha = config.alpha();
        for (var g : groups(network).entrySet()) {
            List<String> linears = g.getValue();
            boolean anyTarget = false;
            for (String l : linears) anyTarget |= !config.skips(l);
            if (!anyTarget) continue;
            float[] act = obs.get(linears.get(0)).absMax();
            int in = act.length;
            double[] wmax = new double[in];
            for (String l : linears) {
                Linear lin = (Linear) network.module(l);
                float[] w = lin.weight().data();
                int out = lin.outFeatures();
                for (int o = 0; o < out; o++) for (int k = 0; k < in; k++) wmax[k] = Math.max(wmax[k], Math.abs(w[o * in + k]));
            }
            float[] s = new float[in];
            for (int j = 0; j < in; j++) {
                double a = Math.pow(act[j], alpha), b = Math.pow(wmax[j], 1 - alpha);
                s[j] = (a == 0 || b == 0) ? 1f : (float) Math.max(a / b, MIN_SCALE);
            }
            Module smoothLayer = network.module(g.getKey());
            float[] nw = smoothLayer.parameter("weight").data();
            if (nw.length != in) throw new IllegalStateException(g.getKey() + ".weight has " + nw.length + " values but its consumers read " + in + " channels");
            if (smoothLayer instanceof RmsNorm norm) norm.divideOutputs(s); // Gemma's norms scale by 1 + weight
            else for (int j = 0; j < in; j++) nw[j] /= s[j];
            for (String l : linears) {
                Linear lin = (Linear) network.module(l);
                float[] w = lin.weight().data();
                for (int o = 0; o < lin.outFeatures(); o++) for (int k = 0; k < in; k++) w[o * in + k] *= s[k];
            }
            float smoothedMax = 0;
            for (int j = 0; j < in; j++) smoothedMax = Math.max(smoothedMax, act[j] / s[j]);
            for (String l : linears) actAbsMax.put(l, (double) smoothedMax);
            smoothedLinears.addAll(linears);
            smoothScales.put(g.getKey(), s);
        }
        for (var e : obs.entrySet()) actAbsMax.putIfAbsent(e.getKey(), (double) max(e.getValue().absMax()));
    }

    private static float max(float[] a) {
        float m = 0;
        for (float v : a) m = Math.max(m, v);
        return m;
    }

    @Override
    public Module convert(Module network) {
        if (config.mode() == PTQMode.DEPLOY) return network;
        if (!applied) throw new IllegalStateException("SmoothQuant.convert: call apply first (calibration and smoothing)");
        for (String t : PtqAlgorithm.targets(network, config)) {
            Double a = actAbsMax.get(t);
            if (config.actGranularity() == ActGranularity.PER_TENSOR && a == null) throw new IllegalStateException("no calibrated activation range for " + t);
            network.replaceChild(t, W8A8Linear.quantize((Linear) network.module(t), config.actGranularity(), a == null ? 0 : a));
        }
        return network;
    }
}
