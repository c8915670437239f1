package org.goldenstick.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The three histogram range choosers against independent references on known data: the percentile against a sorted
 * copy of the values; the MSE range against the squared error computed exactly on every raw value; the entropy
 * threshold clips a long tail but not a bounded distribution, and ignores exact zeros.
 */
class HistogramObserverTest {
    static float[] relu(Random r, int n, double tailScale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            double v = r.nextGaussian();
            x[i] = (float) (v < 0 ? 0 : v * (r.nextDouble() < 0.001 ? tailScale : 1));
        }
        return x;
    }

    static HistogramObserver observe(float[] x) {
        MinMaxObserver mm = new MinMaxObserver();
        mm.forward(Tensor.of(x, x.length));
        HistogramObserver h = new HistogramObserver(mm.mins()[0], mm.maxs()[0], 2048);
        h.forward(Tensor.of(x, x.length));
        return h;
    }

    @Test
    void percentileMatchesASortedCopy() {
        Random r = new Random(1);
        float[] x = new float[200_000];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        float[] range = observe(x).percentileRange(99.9);
        float[] s = x.clone();
        Arrays.sort(s);
        double width = (s[s.length - 1] - s[0]) / 2048.0;
        assertEquals(s[(int) (0.999 * s.length)], range[1], 2 * width);
        assertEquals(s[(int) (0.001 * s.length)], range[0], 2 * width);
    }

    @Test
    void mseRangeHasTheLeastErrorOnTheRawValues() {
        float[] x = relu(new Random(2), 100_000, 8);
        QuantSpec spec = QuantSpec.uint8Asymmetric();
        float[] best = observe(x).mseRange(spec);
        double chosen = rawError(x, best, spec);
        float max = 0;
        for (float v : x) max = Math.max(max, v);
        // no shrink factor on the same search grid does clearly better on the raw values
        for (int k = 0; k <= 80; k++) {
            float a = 1f - 0.01f * k;
            assertTrue(chosen <= 1.02 * rawError(x, new float[] {0, max * a}, spec), "factor " + a);
        }
        assertTrue(best[1] < max, "a long tail is clipped: " + best[1] + " of " + max);
    }

    static double rawError(float[] x, float[] range, QuantSpec spec) {
        float[] n = FakeQuantize.nudge(range[0], range[1], spec.bits(), spec.symmetric(), spec.narrowRange());
        double e = 0;
        for (float v : x) {
            double c = Math.min(Math.max(v, n[2]), n[3]);
            double q = Math.floor((c - n[2]) / n[0] + 0.5) * n[0] + n[2];
            e += (v - q) * (v - q);
        }
        return e;
    }

    @Test
    void entropyClipsALongTailAndIgnoresZeros() {
        float[] tail = relu(new Random(3), 200_000, 30);
        float max = 0;
        for (float v : tail) max = Math.max(max, v);
        float[] t = observe(tail).entropyRange(QuantSpec.uint8Asymmetric());
        assertEquals(0f, t[0]);
        assertTrue(t[1] < 0.5 * max && t[1] > 3, "long tail clipped, bulk kept: " + t[1] + " of " + max);
        // uniform on [0, 1]: nothing worth clipping
        Random r = new Random(4);
        float[] u = new float[100_000];
        for (int i = 0; i < u.length; i++) u[i] = r.nextFloat();
        assertTrue(observe(u).entropyRange(QuantSpec.uint8Asymmetric())[1] > 0.95f);
        // the same uniform data with as many exact zeros again: the zeros do not move the threshold down
        float[] z = Arrays.copyOf(u, 2 * u.length);
        assertTrue(observe(z).entropyRange(QuantSpec.uint8Asymmetric())[1] > 0.95f);
    }

    @Test
    void nothingObservedIsAnError() {
        assertThrows(IllegalStateException.class, () -> new HistogramObserver(0, 1, 64).entropyRange(QuantSpec.uint8Asymmetric()));
        assertThrows(IllegalArgumentException.class, () -> new HistogramObserver(1, 0, 64));
    }
}
