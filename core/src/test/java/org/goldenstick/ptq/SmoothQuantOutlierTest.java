package org.goldenstick.ptq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.goldenstick.llm.LlamaConfig;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.nn.Linear;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A small random Llama with injected activation-outlier channels: naive W8A8 degrades badly, SmoothQuant recovers
 * most of it; smoothing alone leaves the float function unchanged.
 */
class SmoothQuantOutlierTest {
    private static final int[] OUTLIERS = {3, 17, 40};
    private static final float FACTOR = 80f;

    @BeforeAll
    static void quiet() {
    }

    private static LlamaModel outlierModel() {
        LlamaModel m = LlamaFixtures.randomModel(LlamaFixtures.tinyConfig(), 11);
        LlamaFixtures.injectOutlierChannels(m, OUTLIERS, FACTOR);
        return m;
    }

    private static List<int[]> calibration(int n, int len, long seed) {
        Random rng = new Random(seed);
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(LlamaFixtures.randomIds(rng, len, LlamaFixtures.tinyConfig().vocabSize()));
        return out;
    }

    private static LlamaModel quantized(PTQConfig cfg) {
        LlamaModel m = outlierModel();
        PtqAlgorithm a = PtqAlgorithm.of(cfg);
        a.apply(m, new LlamaHelper(m, 32, null), calibration(8, 32, 5));
        a.convert(m);
        return m;
    }

    @Test
    void naiveW8A8DegradesAndSmoothQuantRecoversMostOfIt() {
        int[] eval = LlamaFixtures.randomIds(new Random(99), 48, LlamaFixtures.tinyConfig().vocabSize());
        Tensor fp = LlamaFixtures.logits(outlierModel(), eval);
        double kNaive = LlamaFixtures.meanKld(fp, LlamaFixtures.logits(quantized(PTQConfig.naiveW8A8()), eval));
        double kSmooth = LlamaFixtures.meanKld(fp, LlamaFixtures.logits(quantized(PTQConfig.smoothQuant(0.5)), eval));
        double kRtn = LlamaFixtures.meanKld(fp, LlamaFixtures.logits(quantized(PTQConfig.rtn()), eval));
        double eNaive = LlamaFixtures.relError(fp, LlamaFixtures.logits(quantized(PTQConfig.naiveW8A8()), eval));
        double eSmooth = LlamaFixtures.relError(fp, LlamaFixtures.logits(quantized(PTQConfig.smoothQuant(0.5)), eval));
        String report = String.format("KLD naive %.5f, smoothquant %.5f, rtn %.6f; logits rel. error naive %.4f, smoothquant %.4f", kNaive, kSmooth, kRtn, eNaive, eSmooth);
        System.out.println("SmoothQuantOutlierTest: " + report);
        // naive W8A8 is badly hurt by the outlier channels (much worse than weight-only int8)
        assertTrue(kNaive > 10 * kRtn, report);
        assertTrue(eNaive > 0.08, report);
        // SmoothQuant recovers most of the loss
        assertTrue(kSmooth < 0.25 * kNaive, report);
        assertTrue(eSmooth < 0.5 * eNaive, report);
    }

    @Test
    void smoothingAloneKeepsTheFloatFunction() {
        int[] eval = LlamaFixtures.randomIds(new Random(7), 24, LlamaFixtures.tinyConfig().vocabSize());
        LlamaModel m = outlierModel();
        Tensor before = LlamaFixtures.logits(m, eval);
        SmoothQuant sq = new SmoothQuant(PTQConfig.smoothQuant());
        sq.apply(m, new LlamaHelper(m, 32, null), calibration(4, 32, 5));
        assertEquals(2 * LlamaFixtures.tinyConfig().numHiddenLayers(), sq.smoothScales().size());
        // the outlier channels get the largest smoothing factors
        float[] s = sq.smoothScales().get("model.layers.0.input_layernorm");
        float maxNormal = 0;
        for (int j = 0; j < s.length; j++) if (j != 3 && j != 17 && j != 40) maxNormal = Math.max(maxNormal, s[j]);
        for (int ch : OUTLIERS) assertTrue(s[ch] > 3 * maxNormal, "s[" + ch + "]=" + s[ch] + " vs max normal " + maxNormal);
        Tensor after = LlamaFixtures.logits(m, eval);
        assertTrue(LlamaFixtures.relError(before, after) < 1e-4, "smoothing changed the float function: " + LlamaFixtures.relError(before, after));
        assertTrue(m.module("model.layers.0.self_attn.q_proj") instanceof Linear);
    }

    @Test
    void smoothingFactorsFollowTheFormula() {
        LlamaModel m = outlierModel();
        // reference statistics in float64, gathered independently from the unmodified model
        LlamaModel ref = outlierModel();
        double alpha = 0.6;
        List<int[]> calib = calibration(3, 16, 8);
        double[] actMax = new double[64];
        Linear q = (Linear) ref.module("model.layers.1.self_attn.q_proj");
        ref.replaceChild("model.layers.1.self_attn.q_proj", new org.goldenstick.nn.Module() {
            @Override
            public Tensor forward(Tensor x) {
                for (int i = 0; i < x.numel(); i++) actMax[i % 64] = Math.max(actMax[i % 64], Math.abs(x.data()[i]));
                return q.forward(x);
            }
        });
        for (int[] c : calib) ref.newSession(c.length).prefill(c);
        double[] wMax = new double[64];
        for (String n : List.of("q_proj", "k_proj", "v_proj")) {
            Linear l = (Linear) m.module("model.layers.1.self_attn." + n);
            for (int o = 0; o < l.outFeatures(); o++) for (int k = 0; k < 64; k++) wMax[k] = Math.max(wMax[k], Math.abs(l.weight().data()[o * 64 + k]));
        }
        SmoothQuant sq = new SmoothQuant(PTQConfig.smoothQuant(alpha));
        sq.apply(m, new LlamaHelper(m, 16, null), calib);
        float[] s = sq.smoothScales().get("model.layers.1.input_layernorm");
        for (int j = 0; j < 64; j++) {
            double expect = Math.max(Math.pow(actMax[j], alpha) / Math.pow(wMax[j], 1 - alpha), 1e-5);
            assertEquals(expect, s[j], 1e-5 * expect, "s[" + j + "]");
        }
    }

    @Test
    void calibrationErrorsAreClear() {
        LlamaModel m = outlierModel();
        LlamaHelper h = new LlamaHelper(m, 16, null);
        var e = assertThrows(IllegalArgumentException.class, () -> new SmoothQuant(PTQConfig.smoothQuant()).apply(m, h, List.of()));
        assertTrue(e.getMessage().contains("calibration set is empty"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> new SmoothQuant(PTQConfig.smoothQuant()).convert(m));
        // a NaN in the embeddings reaches the calibration activations
        LlamaModel bad = outlierModel();
        bad.transformer().embedTokens().weight().data()[5 * 64 + 2] = Float.NaN;
        int[] ids = {1, 5, 7};
        var nan = assertThrows(ArithmeticException.class, () -> new SmoothQuant(PTQConfig.smoothQuant()).apply(bad, new LlamaHelper(bad, 16, null), List.of(ids)));
        assertTrue(nan.getMessage().contains("non-finite activation"), nan.getMessage());
        // the observers were removed again
        assertTrue(bad.module("model.layers.0.self_attn.q_proj") instanceof Linear);
        LlamaConfig c = LlamaFixtures.tinyConfig();
        assertEquals(c.hiddenSize(), new LlamaHelper(m, 16, null).spec("hidden_size"));
        assertThrows(IllegalArgumentException.class, () -> h.spec("no_such_key"));
    }
}
