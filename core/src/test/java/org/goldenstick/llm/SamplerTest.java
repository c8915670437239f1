package org.goldenstick.llm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class SamplerTest {
    private static float[] logitsOf(double... p) {
        float[] l = new float[p.length];
        for (int i = 0; i < p.length; i++) l[i] = (float) (Math.log(p[i]) + 3.0); // any shift: softmax is shift-invariant
        return l;
    }

    private static double[] frequencies(Sampler s, float[] logits, int n) {
        double[] f = new double[logits.length];
        for (int i = 0; i < n; i++) f[s.sample(logits)] += 1.0 / n;
        return f;
    }

    @Test
    void greedyPicksTheArgmaxLowestIdOnTies() {
        assertEquals(2, Sampler.greedy().sample(new float[] {1, 3, 5, 2}));
        assertEquals(1, Sampler.greedy().sample(new float[] {1, 5, 5, 2}));
        assertEquals(2, Sampler.of(0, 0.9, 1).sample(new float[] {1, 3, 5, 2}), "temperature 0 is greedy");
    }

    @Test
    void temperatureSamplingFollowsTheSoftmax() {
        double[] p = {0.5, 0.25, 0.15, 0.1};
        double[] f = frequencies(Sampler.of(1.0, 1.0, 11), logitsOf(p), 40000);
        for (int i = 0; i < p.length; i++) assertEquals(p[i], f[i], 0.012, "token " + i);
        // Temperature 2 flattens: p_i ∝ p^(1/2).
        double z = 0;
        for (double q : p) z += Math.sqrt(q);
        double[] f2 = frequencies(Sampler.of(2.0, 1.0, 12), logitsOf(p), 40000);
        for (int i = 0; i < p.length; i++) assertEquals(Math.sqrt(p[i]) / z, f2[i], 0.012, "token " + i + " at T=2");
    }

    @Test
    void topPKeepsTheSmallestNucleusAndRenormalises() {
        double[] p = {0.1, 0.4, 0.2, 0.3};
        // Sorted: 0.4 (id 1), 0.3 (id 3) reach 0.7 >= 0.5: ids 2 and 0 are cut.
        double[] f = frequencies(Sampler.of(1.0, 0.5, 13), logitsOf(p), 40000);
        assertEquals(0.0, f[0]);
        assertEquals(0.0, f[2]);
        assertEquals(4.0 / 7, f[1], 0.012);
        assertEquals(3.0 / 7, f[3], 0.012);
        // A tiny p keeps only the most likely token.
        double[] g = frequencies(Sampler.of(1.0, 0.01, 14), logitsOf(p), 2000);
        assertEquals(1.0, g[1], 1e-9);
    }

    @Test
    void seededAndValidated() {
        float[] l = logitsOf(0.3, 0.3, 0.4);
        Sampler a = Sampler.of(1.0, 0.9, 5), b = Sampler.of(1.0, 0.9, 5);
        for (int i = 0; i < 100; i++) assertEquals(a.sample(l), b.sample(l));
        assertThrows(IllegalArgumentException.class, () -> Sampler.of(-1, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> Sampler.of(1, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> Sampler.of(1, 1.5, 0));
    }
}
