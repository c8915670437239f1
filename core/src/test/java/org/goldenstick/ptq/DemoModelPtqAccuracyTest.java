package org.goldenstick.ptq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
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
 * Medium tier (run by CI): the shipped demo model quantized with RTN W8A16, SmoothQuant W8A8 and naive W8A8, evaluated
 * on the first 80% of its held-out text (the last 20% is the calibration text, so the two never overlap); the
 * perplexities are the PTQ table of docs/results.md, and the demo model's held-out perplexity its README's.
 */
@EnabledIfSystemProperty(named = "gstick.test.tier", matches = "medium|accuracy")
class DemoModelPtqAccuracyTest {
    /** docs/results.md, PTQ table: FP32, RTN W8A16, SmoothQuant W8A8, naive W8A8 perplexities. */
    static final double[] DOC_PPL = {251.934, 251.943, 251.950, 251.958};
    /** models/gstick-llama-demo/README.md: held-out perplexity of the demo model (101,745 tokens, ctx 256). */
    static final double DOC_HELDOUT_PPL = 247.18;
    /** Relative tolerance against the documented perplexities (the runs are deterministic; this allows kernel changes). */
    static final double DOC_TOLERANCE = 0.002;

    private static final int CTX = 256;
    private static final int MAX_EVAL_TOKENS = 64 * CTX;

    @TempDir
    Path tmp;

    @Test
    void rtnIsNearLosslessAndSmoothQuantBeatsNaiveW8A8() throws IOException {
        Path demo = DemoModel.defaultDir();
        if (!Files.isRegularFile(demo.resolve("config.json"))) throw new IllegalStateException(demo + ": demo model missing (./gstick train-lm makes it)");
        String text = Files.readString(DemoModel.heldoutText(demo, null), StandardCharsets.UTF_8);
        int cut = (int) (text.length() * 0.8);
        Path calib = tmp.resolve("calib.txt");
        Files.writeString(calib, text.substring(cut), StandardCharsets.UTF_8);
        Tokenizer tok = Tokenizers.load(demo);
        int[] ids = tok.encode(text.substring(0, cut), true);
        int[] eval = Arrays.copyOf(ids, Math.min(ids.length, MAX_EVAL_TOKENS));
        LlamaModel fp = HfCheckpoint.load(demo);
        int ctx = Math.min(CTX, fp.config().maxPositionEmbeddings());
        Evaluation.Result base = Evaluation.run(fp, null, eval, ctx, null);

        Evaluation.Result rtn = quantizeAndEval("rtn", PTQConfig.rtn(), demo, calib, tok, fp, eval, ctx);
        Evaluation.Result sq = quantizeAndEval("smoothquant", PTQConfig.smoothQuant(), demo, calib, tok, fp, eval, ctx);
        Evaluation.Result naive = quantizeAndEval("w8a8", PTQConfig.naiveW8A8(), demo, calib, tok, fp, eval, ctx);
        String report = String.format(Locale.ROOT,
                "demo model, %d tokens, ctx %d: FP32 ppl %.4f | RTN W8A16 ppl %.4f (%+.3f%%) KLD %.6f top1 %.4f | SmoothQuant W8A8 (alpha %.2f) ppl %.4f (%+.3f%%) KLD %.6f top1 %.4f | naive W8A8 ppl %.4f (%+.3f%%) KLD %.6f top1 %.4f",
                base.tokens(), ctx, base.ppl(), rtn.ppl(), pct(rtn, base), rtn.kld(), rtn.top1Agreement(), PTQConfig.DEFAULT_ALPHA, sq.ppl(), pct(sq, base), sq.kld(), sq.top1Agreement(),
                naive.ppl(), pct(naive, base), naive.kld(), naive.top1Agreement());
        System.out.println(report);
        assertTrue(Math.abs(pct(rtn, base)) <= 0.5, report);
        assertTrue(rtn.kld() <= 0.005, report);
        assertTrue(Math.abs(pct(sq, base)) <= 2.0, report);
        assertTrue(sq.ppl() < naive.ppl() && sq.kld() < naive.kld(), report);
        double[] measured = {base.ppl(), rtn.ppl(), sq.ppl(), naive.ppl()};
        for (int i = 0; i < measured.length; i++) {
            assertEquals(DOC_PPL[i], measured[i], DOC_PPL[i] * DOC_TOLERANCE, "row " + i + " of the PTQ table in docs/results.md; " + report);
        }
    }

    @Test
    void demoModelHeldOutPerplexityIsTheDocumentedOne() throws IOException {
        Path demo = DemoModel.defaultDir();
        Tokenizer tok = Tokenizers.load(demo);
        int[] ids = tok.encode(Files.readString(DemoModel.heldoutText(demo, null), StandardCharsets.UTF_8), true);
        Evaluation.Result r = Evaluation.run(HfCheckpoint.load(demo), null, ids, CTX, null);
        assertEquals(DOC_HELDOUT_PPL, r.ppl(), DOC_HELDOUT_PPL * DOC_TOLERANCE, "held-out perplexity over " + r.tokens() + " tokens");
    }

    private static double pct(Evaluation.Result q, Evaluation.Result base) {
        return 100 * (q.ppl() / base.ppl() - 1);
    }

    private Evaluation.Result quantizeAndEval(String name, PTQConfig cfg, Path demo, Path calib, Tokenizer tok, LlamaModel fp, int[] eval, int ctx) throws IOException {
        Path out = tmp.resolve(name);
        Quantizer.quantize(demo, out, cfg, calib, 64, ctx, text -> tok.encode(text, true));
        return Evaluation.run(QuantizedCheckpoints.load(out), fp, eval, ctx, null);
    }
}
