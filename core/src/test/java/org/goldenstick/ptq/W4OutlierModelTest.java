package org.goldenstick.ptq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.nn.Linear;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.PackedIntWeights;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * W4 g32 on a small random Llama whose norm outputs carry injected outlier channels (as real LLMs have): RTN, GPTQ
 * and AWQ, measured against the float model on tokens the calibration never saw.
 */
class W4OutlierModelTest {
    static final int[] OUTLIERS = {3, 17, 40};
    static final float FACTOR = 80f;

    @BeforeAll
    static void quiet() {
        System.setProperty("gstick.quiet", "true");
    }

    static LlamaModel model() {
        LlamaModel m = LlamaFixtures.randomModel(LlamaFixtures.tinyConfig(), 11);
        LlamaFixtures.injectOutlierChannels(m, OUTLIERS, FACTOR);
        return m;
    }

    static List<int[]> samples(int n, int len, long seed) {
        Random rng = new Random(seed);
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(LlamaFixtures.randomIds(rng, len, LlamaFixtures.tinyConfig().vocabSize()));
        return out;
    }

    /** Mean KLD against the float model and the mean change of next-token NLL (nats). */
    record Metrics(double kld, double nll) {}

    static Metrics measure(LlamaModel fp, LlamaModel q, List<int[]> eval) {
        double kld = 0, nllFp = 0, nllQ = 0;
        int rows = 0;
        for (int[] ids : eval) {
            Tensor a = LlamaFixtures.logits(fp, ids), b = LlamaFixtures.logits(q, ids);
            kld += LlamaFixtures.meanKld(a, b) * ids.length;
            int v = a.dim(1);
            for (int t = 0; t + 1 < ids.length; t++) {
                nllQ += nll(b.data(), t * v, v, ids[t + 1]);
                nllFp += nll(a.data(), t * v, v, ids[t + 1]);
            }
            rows += ids.length;
        }
        return new Metrics(kld / rows, (nllQ - nllFp) / rows);
    }

    static double nll(float[] logits, int off, int v, int target) {
        double mx = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < v; i++) mx = Math.max(mx, logits[off + i]);
        double z = 0;
        for (int i = 0; i < v; i++) z += Math.exp(logits[off + i] - mx);
        return -(logits[off + target] - mx - Math.log(z));
    }

    @Test
    void gptqAndAwqBeatRtnWhereActivationsHaveOutliers() {
        WeightScheme w4 = WeightScheme.of(4, 32, true);
        List<int[]> calib = samples(16, 48, 5), eval = samples(6, 48, 99);
        LlamaModel fp = model();
        Map<String, Metrics> r = new LinkedHashMap<>();
        for (String method : List.of("rtn", "gptq", "awq", "awq+gptq", "clip-only")) {
            LlamaModel m = model();
            Map<String, WeightScheme> plan = WeightOnlyQuantizer.uniform(PtqAlgorithm.targets(m, PTQConfig.rtn()), w4);
            Awq.Applied applied = Awq.Applied.empty();
            Map<String, PackedIntWeights> q = switch (method) {
                case "rtn" -> WeightOnlyQuantizer.rtn(m, plan, DType.F32);
                case "gptq" -> WeightOnlyQuantizer.gptq(m, calib, plan, Gptq.Settings.defaults(w4), DType.F32);
                case "awq" -> WeightOnlyQuantizer.awq(m, calib, plan, WeightMethod.Awq.defaults(), DType.F32, applied);
                // AWQ's clipping without its scales: a one-point grid of s = x̄^0 = 1
                case "clip-only" -> WeightOnlyQuantizer.awq(m, calib, plan, new WeightMethod.Awq(1, true, 0.5, Awq.DuoScaling.OFF, true, new WeightMethod.Rtn()), DType.F32, applied);
                default -> WeightOnlyQuantizer.awq(m, calib, plan, WeightMethod.Awq.defaults(WeightMethod.Gptq.defaults()), DType.F32, applied);
            };
            if (method.equals("clip-only")) {
                for (float[] sc : applied.scales().values()) for (float f : sc) assertEquals(1f, f, "clip-only keeps s = 1");
            } else if (method.startsWith("awq")) {
                // q/k/v: input_layernorm, gate/up: post_attention_layernorm, down: up_proj, per layer (v -> o skipped: GQA)
                assertEquals(3 * 2, applied.scales().size(), applied.scales().keySet().toString());
                assertTrue(applied.alphas().get("model.layers.0.input_layernorm") > 0, "the outlier channels need scaling: " + applied.alphas());
            }
            // the processed float weights are what the packed layers compute
            LlamaModel deployed = model();
            for (var e : m.stateDict().entrySet()) System.arraycopy(e.getValue().data(), 0, deployed.stateDict().get(e.getKey()).data(), 0, e.getValue().numel());
            WeightOnlyQuantizer.convert(deployed, q);
            double same = LlamaFixtures.relError(LlamaFixtures.logits(m, eval.get(0)), LlamaFixtures.logits(deployed, eval.get(0)));
            assertTrue(same < 1e-5, method + ": packed deploy layers vs processed float weights " + same);
            r.put(method, measure(fp, deployed, eval));
        }
        StringBuilder report = new StringBuilder("W4 g32, outliers x" + FACTOR + ":");
        r.forEach((k, v) -> report.append(String.format(Locale.ROOT, " %s KLD %.5f dNLL %+.5f |", k, v.kld(), v.nll())));
        System.out.println(report);
        Metrics rtn = r.get("rtn");
        // measured (docs/llm-4bit.md): RTN 0.0244, GPTQ 0.0222, AWQ 0.0163, AWQ+GPTQ 0.0154. The NLL change on random
        // tokens of a random model is noise (±0.01 nats, either sign), so only KLD is asserted here.
        for (String k : List.of("gptq", "awq", "awq+gptq")) assertTrue(r.get(k).kld() < rtn.kld(), k + ": " + report);
        assertTrue(r.get("awq").kld() < 0.8 * rtn.kld(), "AWQ's scales matter with outliers: " + report);
        // the scales, not only the clipping: the same clipping search without them is measurably worse
        assertTrue(r.get("awq").kld() < 0.9 * r.get("clip-only").kld(), "AWQ's scales matter beyond its clipping: " + report);
    }

    @Test
    void foldingAloneKeepsTheFloatFunction() {
        LlamaModel m = model(), ref = model();
        int[] ids = samples(1, 40, 3).get(0);
        Tensor before = LlamaFixtures.logits(ref, ids);
        Random rng = new Random(2);
        float[] s = new float[64];
        for (int i = 0; i < s.length; i++) s[i] = (float) Math.exp(rng.nextGaussian());
        String p = "model.layers.1.";
        Awq.fold(m.module(p + "input_layernorm"), List.of((Linear) m.module(p + "self_attn.q_proj"), (Linear) m.module(p + "self_attn.k_proj"), (Linear) m.module(p + "self_attn.v_proj")), s);
        float[] s2 = new float[128];
        for (int i = 0; i < s2.length; i++) s2[i] = (float) Math.exp(rng.nextGaussian());
        Awq.fold(m.module(p + "mlp.up_proj"), List.of((Linear) m.module(p + "mlp.down_proj")), s2);
        double rel = LlamaFixtures.relError(before, LlamaFixtures.logits(m, ids));
        assertTrue(rel < 1e-5, "relative logits change " + rel);
    }

    /**
     * The grid's candidates restated from llm-compressor's {@code compute_scales_for_ratio}: without duo scaling α = 0
     * is the identity (so {@code BOTH} can leave a mapping unscaled), with it α = 0 is {@code 1/(w̄+1e-4)} normalised.
     */
    @Test
    void candidateScalesFollowLlmCompressor() {
        double[] x = {0.5, 2.0, 0.0, 8.0}, w = {0.3, 0.9, 0.5, 0.1};
        for (double alpha : new double[] {0, 0.35, 0.95}) {
            for (boolean duo : new boolean[] {false, true}) {
                double[] v = new double[4];
                double mx = 0, mn = Double.MAX_VALUE;
                for (int j = 0; j < 4; j++) {
                    v[j] = Math.pow(x[j], alpha);
                    if (duo) v[j] /= Math.pow(w[j], 1 - alpha) + 1e-4;
                    v[j] = Math.max(v[j], 1e-4);
                    mx = Math.max(mx, v[j]);
                    mn = Math.min(mn, v[j]);
                }
                float[] s = Awq.candidateScales(x, w, alpha, duo);
                for (int j = 0; j < 4; j++) assertEquals(v[j] / Math.sqrt(mx * mn), s[j], 1e-6 * s[j], "alpha " + alpha + " duo " + duo + " j " + j);
                if (alpha == 0 && !duo) for (float f : s) assertEquals(1f, f);
            }
        }
    }
}
