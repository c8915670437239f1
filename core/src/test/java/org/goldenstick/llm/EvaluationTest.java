package org.goldenstick.llm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Map;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;

class EvaluationTest {

    private static double[] logSoftmax(double[] row) {
        double mx = Double.NEGATIVE_INFINITY, z = 0;
        for (double v : row) mx = Math.max(mx, v);
        for (double v : row) z += Math.exp(v - mx);
        double[] out = new double[row.length];
        for (int i = 0; i < row.length; i++) out[i] = row[i] - mx - Math.log(z);
        return out;
    }

    private static int argmax(double[] r) {
        int b = 0;
        for (int i = 1; i < r.length; i++) if (r[i] > r[b]) b = i;
        return b;
    }

    @Test
    void perplexityKldAndTop1MatchFloat64Reference() {
        LlamaConfig c = TestModels.gqaLlama3();
        LlamaModel model = TestModels.random(c, 1);
        // The "reference" is the model with perturbed weights, as a quantized model would be.
        LlamaModel ref = new LlamaModel(c, new java.util.Random(0));
        ref.loadStateDict(model.stateDict(), true);
        java.util.Random rng = new java.util.Random(9);
        for (Tensor t : ref.parameters()) {
            float[] d = t.data();
            for (int i = 0; i < d.length; i++) d[i] *= (float) (1 + 0.2 * rng.nextGaussian());
        }
        int[] tokens = TestModels.ids(c, 53, 5);
        int ctx = 16;
        Evaluation.Result r = Evaluation.run(model, ref, tokens, ctx, null);

        Map<String, Tensor> mw = model.stateDict(), rw = ref.stateDict();
        double nll = 0, refNll = 0, kl = 0;
        int agree = 0, n = 0;
        for (int w = 0; w < 3; w++) {
            int[] win = Arrays.copyOfRange(tokens, w * ctx, (w + 1) * ctx);
            double[][] lm = LlamaReference.logits(c, mw, win), lr = LlamaReference.logits(c, rw, win);
            for (int t = 0; t < ctx - 1; t++) {
                double[] pm = logSoftmax(lm[t]), pr = logSoftmax(lr[t]);
                nll -= pm[win[t + 1]];
                refNll -= pr[win[t + 1]];
                for (int j = 0; j < pm.length; j++) kl += Math.exp(pr[j]) * (pr[j] - pm[j]);
                if (argmax(lm[t]) == argmax(lr[t])) agree++;
                n++;
            }
        }
        assertEquals(45, r.tokens());
        assertEquals(3, r.windows());
        assertEquals(nll / n, r.meanNll(), 1e-5 * nll / n);
        assertEquals(refNll / n, r.refMeanNll(), 1e-5 * refNll / n);
        assertTrue(kl / n > 1e-3, "the perturbation must matter for the test to mean something: " + kl / n);
        assertEquals(kl / n, r.kld(), 1e-3 * kl / n + 1e-7);
        assertEquals(agree / (double) n, r.top1Agreement(), 1e-12);
        assertTrue(r.tokensPerSecond() > 0);

        Perplexity.Result p = Perplexity.evaluate(model, tokens, ctx);
        assertEquals(r.meanNll(), p.meanNll(), 1e-6 * r.meanNll()); // Vector API lane reductions may reassociate across JIT tiers
        assertEquals(Math.exp(nll / n), p.ppl(), 1e-5 * p.ppl());

        Evaluation.Result self = Evaluation.run(model, model, tokens, ctx, null);
        assertEquals(0.0, self.kld(), 1e-9);
        assertEquals(1.0, self.top1Agreement());
        assertNull(Evaluation.run(model, null, tokens, ctx, null).kld());
    }

    @Test
    void windowsAreNonOverlappingAndTheTailIsDropped() {
        int[] t = new int[10];
        for (int i = 0; i < 10; i++) t[i] = i;
        int[][] w = Perplexity.windows(t, 4);
        assertEquals(2, w.length);
        assertArrayEquals(new int[] {0, 1, 2, 3}, w[0]);
        assertArrayEquals(new int[] {4, 5, 6, 7}, w[1]);
        assertArrayEquals(t, Perplexity.windows(t, 64)[0], "a text shorter than ctx is one window");
        assertThrows(IllegalArgumentException.class, () -> Perplexity.windows(new int[] {1}, 4));
        LlamaModel m = TestModels.random(TestModels.tiedLinear(), 1);
        String msg = assertThrows(IllegalArgumentException.class, () -> Perplexity.evaluate(m, new int[] {1, 2, 999}, 4)).getMessage();
        assertTrue(msg.contains("999"), msg);
    }
}
