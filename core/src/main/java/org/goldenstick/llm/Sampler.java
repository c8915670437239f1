package org.goldenstick.llm;

import java.util.Arrays;
import java.util.Random;

/**
 * Chooses the next token from a logits vector: greedy (arg-max), or sampling at a temperature, optionally
 * restricted to the smallest set of tokens whose probability reaches {@code topP} (nucleus sampling).
 * Sampling is seeded, so a run is reproducible.
 *
 * <pre>{@code
 * Sampler s = Sampler.greedy();
 * Sampler t = Sampler.of(0.8, 0.95, 42);   // temperature 0.8, top-p 0.95, seed 42
 * int next = t.sample(logits);
 * }</pre>
 */
public final class Sampler {
    private final double temperature;
    private final double topP;
    private final Random rng;

    private Sampler(double temperature, double topP, long seed) {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        this.temperature = temperature;
        this.topP = topP;
        this.rng = new Random(seed);
    }

    /** Always the most likely token (ties: the lowest id). */
    public static Sampler greedy() {
        return new Sampler(0, 1, 0);
    }

    /** Temperature sampling; {@code temperature == 0} means greedy, {@code topP == 1} disables the nucleus cut. */
    public static Sampler of(double temperature, double topP, long seed) {
        return new Sampler(temperature, topP, seed);
    }

    public double temperature() {
        return temperature;
    }

    public double topP() {
        return topP;
    }

    public boolean isGreedy() {
        return temperature == 0;
    }

    /** Picks a token id from {@code logits} (length = vocabulary size). */
    public int sample(float[] logits) {
        if (isGreedy()) return argmax(logits);
        int n = logits.length;
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) max = Math.max(max, l);
        double[] p = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) sum += p[i] = Math.exp((logits[i] - max) / temperature);
        for (int i = 0; i < n; i++) p[i] /= sum;
        double u = rng.nextDouble();
        if (topP >= 1) {
            double acc = 0;
            for (int i = 0; i < n; i++) if ((acc += p[i]) > u) return i;
            return argmax(logits);
        }
        // Nucleus: sort ids by probability (descending, ties by id), keep the prefix reaching topP, renormalise.
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> p[a] != p[b] ? Double.compare(p[b], p[a]) : Integer.compare(a, b));
        double mass = 0;
        int keep = 0;
        while (keep < n && mass < topP) mass += p[order[keep++]];
        double target = u * mass, acc = 0;
        for (int i = 0; i < keep; i++) if ((acc += p[order[i]]) > target) return order[i];
        return order[keep - 1];
    }

    static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    @Override
    public String toString() {
        return isGreedy() ? "greedy" : "temperature " + temperature + (topP < 1 ? ", top-p " + topP : "");
    }
}
