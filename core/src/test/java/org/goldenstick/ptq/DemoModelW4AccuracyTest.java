package org.goldenstick.ptq;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.goldenstick.llm.DemoModel;
import org.goldenstick.llm.Evaluation;
import org.goldenstick.llm.HfCheckpoint;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.llm.tokenizer.Tokenizer;
import org.goldenstick.llm.tokenizer.Tokenizers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Accuracy tier: the shipped demo model at W4 with groups of 128 — RTN against GPTQ (and AWQ), through the files
 * {@code gstick quantize} writes and the DEPLOY loader, on the first 80 % of its held-out text (calibration: the last
 * 20 %). The demo's {@code down_proj} has 688 inputs, which 128 does not divide: it is W4 per output channel in every
 * run. Criterion (issue 16): each calibrated method's perplexity increase over FP32 is at most half of RTN's, and its
 * KLD is lower.
 */
@EnabledIfSystemProperty(named = "gstick.test.tier", matches = "accuracy")
class DemoModelW4AccuracyTest {
    private static final int CTX = 256;
    private static final int MAX_EVAL_TOKENS = 64 * CTX;

    @TempDir
    Path tmp;

    static Map<String, WeightScheme> w4g128Plan(LlamaModel m) {
        Map<String, WeightScheme> plan = new LinkedHashMap<>();
        for (String t : PtqAlgorithm.targets(m, PTQConfig.rtn())) plan.put(t, t.endsWith("down_proj") ? WeightScheme.of(4, 0, true) : WeightScheme.of(4, 128, true));
        return plan;
    }

    /** The demo model, its tokenizer, calibration text (the last 20 % of the held-out text) and evaluation tokens (the rest). */
    private record Demo(Path dir, Path calib, Tokenizer tok, int[] eval, LlamaModel fp) {}

    private Demo demo() throws IOException {
        System.setProperty("gstick.quiet", "true");
        Path demo = DemoModel.defaultDir();
        String text = Files.readString(DemoModel.heldoutText(demo, null), StandardCharsets.UTF_8);
        int cut = (int) (text.length() * 0.8);
        Path calib = tmp.resolve("calib.txt");
        Files.writeString(calib, text.substring(cut), StandardCharsets.UTF_8);
        Tokenizer tok = Tokenizers.load(demo);
        int[] ids = tok.encode(text.substring(0, cut), true);
        return new Demo(demo, calib, tok, Arrays.copyOf(ids, Math.min(ids.length, MAX_EVAL_TOKENS)), HfCheckpoint.load(demo));
    }

    @Test
    void calibratedMethodsHalveRtnsPerplexityIncrease() throws IOException {
        Demo d = demo();
        Path demo = d.dir(), calib = d.calib();
        Tokenizer tok = d.tok();
        int[] eval = d.eval();
        LlamaModel fp = d.fp();
        Evaluation.Result base = Evaluation.run(fp, null, eval, CTX, null);
        Map<String, WeightScheme> plan = w4g128Plan(fp);

        Map<String, Evaluation.Result> r = new LinkedHashMap<>();
        Map<String, WeightMethod> methods = new LinkedHashMap<>();
        methods.put("rtn", new WeightMethod.Rtn());
        methods.put("gptq", WeightMethod.Gptq.defaults());
        methods.put("gptq-act-order", new WeightMethod.Gptq(0.01, 128, true));
        methods.put("awq", WeightMethod.Awq.defaults());
        methods.put("awq+gptq", WeightMethod.Awq.defaults(WeightMethod.Gptq.defaults()));
        for (var e : methods.entrySet()) {
            Path out = tmp.resolve(e.getKey());
            Quantizer.quantizeWeights(demo, out, PTQConfig.rtn(), e.getValue(), plan, calib, 64, CTX, t -> tok.encode(t, true));
            r.put(e.getKey(), Evaluation.run(QuantizedCheckpoints.load(out), fp, eval, CTX, null));
        }
        StringBuilder report = new StringBuilder(String.format(Locale.ROOT, "demo W4 g128 (down_proj per channel), %d tokens: FP32 ppl %.4f", base.tokens(), base.ppl()));
        for (var e : r.entrySet()) report.append(String.format(Locale.ROOT, " | %s ppl %.4f (%+.3f%%) KLD %.6f top1 %.4f", e.getKey(), e.getValue().ppl(), pct(e.getValue(), base), e.getValue().kld(), e.getValue().top1Agreement()));
        System.out.println(report);
        Evaluation.Result rtn = r.get("rtn");
        for (String m : r.keySet()) {
            if (m.equals("rtn")) continue;
            // measured (docs/llm-4bit.md): Δppl as a fraction of RTN's: gptq 0.11, gptq-act-order 0.05 (2026-12-04);
            // awq+gptq 0.28 (2026-12-05); awq then RTN 0.30, KLD 0.46 of RTN's, with q/k in the clipping search
            // (0.59 without; 2026-12-05). Complete run 2026-12-05: gptq 0.23, act-order -0.04, awq 0.30, awq+gptq 0.37
            assertTrue(r.get(m).ppl() - base.ppl() <= 0.5 * (rtn.ppl() - base.ppl()), m + ": " + report);
            assertTrue(r.get(m).kld() < rtn.kld(), m + ": " + report);
        }
    }

    /**
     * Mixed precision from the sensitivity scan against uniform W4 of the same size: uniform W4 with groups of 32
     * (4.5 bits per weight with 16-bit scales; per channel where 32 does not divide) vs 4/8-bit/float units chosen
     * for the same average bits from the W4 g128 scan. Both RTN, so only the allocation differs.
     */
    @Test
    void mixedPrecisionBeatsUniformW4AtTheSameSize() throws IOException {
        Demo d = demo();
        Path demo = d.dir(), calib = d.calib();
        Tokenizer tok = d.tok();
        int[] eval = d.eval();
        LlamaModel fp = d.fp();
        var targets = PtqAlgorithm.targets(fp, PTQConfig.rtn());
        var helper = new LlamaHelper(fp, CTX, t -> tok.encode(t, true));
        var units = Sensitivity.scan(fp, helper.calibrationSamples(calib, 8), targets, WeightScheme.of(4, 128, true));
        Map<String, WeightScheme> uniform = new LinkedHashMap<>();
        for (String t : targets) uniform.put(t, Sensitivity.fit(WeightScheme.of(4, 32, true), ((org.goldenstick.nn.Linear) fp.module(t)).inFeatures()));
        double size = Sensitivity.bitsPerWeight(units, uniform);
        Map<String, WeightScheme> mixed = Sensitivity.allocate(units, size, WeightScheme.of(4, 128, true));
        double mixedSize = Sensitivity.bitsPerWeight(units, mixed);
        assertTrue(mixedSize <= size + 1e-9, mixedSize + " > " + size);
        Map<String, Evaluation.Result> r = new LinkedHashMap<>();
        for (var e : Map.of("uniform-w4-g32", uniform, "mixed", mixed).entrySet()) {
            Path out = tmp.resolve(e.getKey());
            Quantizer.quantizeWeights(demo, out, PTQConfig.rtn(), new WeightMethod.Rtn(), e.getValue(), null, 0, CTX, null);
            r.put(e.getKey(), Evaluation.run(QuantizedCheckpoints.load(out), fp, eval, CTX, null));
        }
        long w8 = mixed.values().stream().filter(x -> x.bits() == 8).count();
        String report = String.format(Locale.ROOT, "demo, %.3f bits/weight: uniform W4 g32 KLD %.6f ppl %.4f | mixed (%d linears W8, %d W4, %d float; %.3f bits/weight) KLD %.6f ppl %.4f",
                size, r.get("uniform-w4-g32").kld(), r.get("uniform-w4-g32").ppl(), w8, mixed.size() - w8, targets.size() - mixed.size(), mixedSize, r.get("mixed").kld(), r.get("mixed").ppl());
        System.out.println(report);
        assertTrue(r.get("mixed").kld() < r.get("uniform-w4-g32").kld(), report);
    }

    private static double pct(Evaluation.Result q, Evaluation.Result base) {
        return 100 * (q.ppl() / base.ppl() - 1);
    }
}
