package org.goldenstick.llm.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.llm.tokenizer.BpeTokenizer;
import org.goldenstick.llm.tokenizer.BpeTrainer;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;

class LmTrainerTest {
    private static final String TEXT = """
            It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.
            However little known the feelings or views of such a man may be on his first entering a neighbourhood, this truth is
            so well fixed in the minds of the surrounding families, that he is considered the rightful property of some one or
            other of their daughters. "My dear Mr. Bennet," said his lady to him one day, "have you heard that Netherfield Park
            is let at last?" Mr. Bennet replied that he had not. "But it is," returned she; "for Mrs. Long has just been here,
            and she told me all about it." Mr. Bennet made no answer. "Do you not want to know who has taken it?" cried his wife
            impatiently. "You want to tell me, and I have no objection to hearing it." This was invitation enough.
            """;

    /** Smoke test: a tiny Llama trained for a few seconds on a small text must lower its loss substantially. */
    @Test
    void tinyModelLossDropsOnSmallText() {
        BpeTokenizer tok = BpeTrainer.train(List.of(TEXT), new BpeTrainer.Options(300, 2, List.of("<s>", "</s>"))).tokenizer();
        int[] ids = DemoLm.encodeDocuments(tok, List.of(TEXT, TEXT));
        LmRecipe r = LmRecipe.tiny(tok.vocabSize(), 80);
        LlamaModel model = new LlamaModel(DemoLm.config(r, tok), new Random(r.seed()));
        double before = LmTrainer.meanNll(model, ids, r.contextLength());
        LmTrainer.Report rep = LmTrainer.train(model, ids, null, r, s -> {});
        double after = LmTrainer.meanNll(model, ids, r.contextLength());
        // A uniform guess over the vocabulary costs ln(V) ≈ 5.7 nats; memorising the text must go far below.
        assertTrue(before > Math.log(tok.vocabSize()) - 0.5, "initial loss " + before);
        assertTrue(after < before - 1.2, "loss " + before + " -> " + after);
        assertTrue(rep.finalLoss() < rep.firstLoss() - 1.2, rep.firstLoss() + " -> " + rep.finalLoss());
        assertEquals(80L * r.batchSize() * r.contextLength(), rep.tokensSeen());
    }

    @Test
    void scheduleWarmsUpLinearlyThenDecaysToMinLr() {
        LmRecipe r = LmRecipe.demo();
        assertEquals(r.peakLr() / r.warmupSteps(), r.lr(0), 1e-12);
        assertEquals(r.peakLr(), r.lr(r.warmupSteps() - 1), 1e-12);
        assertEquals(r.peakLr(), r.lr(r.warmupSteps()), 1e-12);
        assertEquals(r.minLr(), r.lr(r.steps() - 1), 1e-12);
        int mid = r.warmupSteps() + (r.steps() - r.warmupSteps() - 1) / 2;
        assertEquals((r.peakLr() + r.minLr()) / 2, r.lr(mid), 0.01 * r.peakLr());
        for (int s = r.warmupSteps(); s + 1 < r.steps(); s++) assertTrue(r.lr(s + 1) <= r.lr(s));
        assertEquals(r, LmRecipe.fromJson(r.toJson()));
    }

    @Test
    void adamwAndClippingMatchAFloat64Reference() {
        LmRecipe r = LmRecipe.demo();
        Random rng = new Random(5);
        Tensor w = Tensor.randn(rng, 3, 4).requiresGrad(true);
        Tensor norm = Tensor.randn(rng, 4).requiresGrad(true);
        double[] w0 = new double[12], n0 = new double[4], gw = new double[12], gn = new double[4];
        for (int i = 0; i < 12; i++) {
            w0[i] = w.data()[i];
            w.gradArray()[i] = (float) (gw[i] = rng.nextGaussian() * 3);
        }
        for (int i = 0; i < 4; i++) {
            n0[i] = norm.data()[i];
            norm.gradArray()[i] = (float) (gn[i] = rng.nextGaussian() * 3);
        }
        double sq = 0;
        for (double g : gw) sq += g * g;
        for (double g : gn) sq += g * g;
        double norm0 = Math.sqrt(sq), scale = Math.min(1, r.gradClip() / norm0);
        assertEquals(norm0, LmTrainer.clip(List.of(w, norm), r.gradClip()), 1e-4 * norm0);
        double lr = 1e-2;
        LmTrainer.adamw(List.of(w, norm), new float[][] {new float[12], new float[4]}, new float[][] {new float[12], new float[4]}, 1, lr, r);
        // Step 1 of bias-corrected Adam moves every weight by lr·sign(g) (up to eps); matrices also decay by lr·wd.
        for (int i = 0; i < 12; i++) {
            double g = gw[i] * scale;
            double m = (1 - r.beta1()) * g / (1 - r.beta1()), v = (1 - r.beta2()) * g * g / (1 - r.beta2());
            double expected = w0[i] * (1 - lr * r.weightDecay()) - lr * m / (Math.sqrt(v) + r.adamEps());
            assertEquals(expected, w.data()[i], 1e-5);
        }
        for (int i = 0; i < 4; i++) {
            double g = gn[i] * scale;
            assertEquals(n0[i] - lr * Math.signum(g), norm.data()[i], 1e-5, "norm weights are not decayed");
        }
    }

    @Test
    void unigramBaselineOfUniformCountsIsTheVocabularySize() {
        // Each of 4 ids seen once: add-one probabilities (1+1)/(4+4) = 1/4, so perplexity is exactly 4.
        assertEquals(4.0, LmTrainer.unigramPerplexity(new int[] {0, 1, 2, 3}, 4, new int[] {3, 1, 2, 0, 0, 1}, 3), 1e-12);
        // Skewed: id 0 seen 6 times of 6, vocab 2: p0 = 7/8, p1 = 1/8. Scored tokens with ctx 4 on [1,0,0,1]: 0,0,1.
        double expected = Math.exp(-(2 * Math.log(7.0 / 8) + Math.log(1.0 / 8)) / 3);
        assertEquals(expected, LmTrainer.unigramPerplexity(new int[] {0, 0, 0, 0, 0, 0}, 2, new int[] {1, 0, 0, 1}, 4), 1e-12);
        // Windows of 4 over 9 tokens: [0..3] and [4..7] score 3 each; the lone 9th token has no context.
        assertEquals(3 + 3, LmTrainer.scoredTokens(9, 4));
        assertEquals(3 + 3 + 1, LmTrainer.scoredTokens(10, 4));
    }
}
