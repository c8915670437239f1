package org.goldenstick.nn;

import java.util.Arrays;
import java.util.Random;
import org.goldenstick.tensor.Tensor;

/**
 * Seeded weight initialisers with PyTorch's ({@code torch.nn.init}) fan conventions: for a weight of shape
 * {@code [out, in, k...]}, {@code fanIn = in·∏k} and {@code fanOut = out·∏k}. All fill the tensor in place.
 *
 * <pre>{@code
 * Init.kaimingNormal(conv.weight(), Init.Fan.OUT, rng);   // ResNet convs
 * Init.xavierUniform(linear.weight(), 1.0, rng);
 * }</pre>
 */
public final class Init {
    private Init() {}

    public enum Fan { IN, OUT }

    /** Gain for ReLU, √2. */
    public static final double RELU_GAIN = Math.sqrt(2.0);

    /** {@code [fanIn, fanOut]} of a weight of rank ≥ 2. */
    public static int[] fans(Tensor t) {
        int[] s = t.shape();
        if (s.length < 2) throw new IllegalArgumentException("Init: fan needs a weight of rank >= 2, got shape " + Arrays.toString(s));
        int receptive = 1;
        for (int i = 2; i < s.length; i++) receptive *= s[i];
        return new int[] {s[1] * receptive, s[0] * receptive};
    }

    private static int fan(Tensor t, Fan mode) {
        int[] f = fans(t);
        return mode == Fan.IN ? f[0] : f[1];
    }

    /** Normal with std = √2 / √fan (ReLU gain), {@code kaiming_normal_(mode, nonlinearity='relu')}. */
    public static Tensor kaimingNormal(Tensor t, Fan mode, Random rng) {
        return normal(t, 0, RELU_GAIN / Math.sqrt(fan(t, mode)), rng);
    }

    /**
     * Uniform in ±gain·√(3/fan) with gain = √(2/(1+a²)), {@code kaiming_uniform_(a, mode, 'leaky_relu')}.
     * With a = √5 and fan-in this is PyTorch's default for Linear and Conv weights (bound 1/√fanIn).
     */
    public static Tensor kaimingUniform(Tensor t, double a, Fan mode, Random rng) {
        double gain = Math.sqrt(2.0 / (1 + a * a));
        double bound = gain * Math.sqrt(3.0 / fan(t, mode));
        return uniform(t, -bound, bound, rng);
    }

    /** Uniform in ±gain·√(6/(fanIn+fanOut)). */
    public static Tensor xavierUniform(Tensor t, double gain, Random rng) {
        int[] f = fans(t);
        double bound = gain * Math.sqrt(6.0 / (f[0] + f[1]));
        return uniform(t, -bound, bound, rng);
    }

    /** Normal with std = gain·√(2/(fanIn+fanOut)). */
    public static Tensor xavierNormal(Tensor t, double gain, Random rng) {
        int[] f = fans(t);
        return normal(t, 0, gain * Math.sqrt(2.0 / (f[0] + f[1])), rng);
    }

    public static Tensor uniform(Tensor t, double lo, double hi, Random rng) {
        float[] d = t.data();
        for (int i = 0; i < d.length; i++) d[i] = (float) (lo + (hi - lo) * rng.nextDouble());
        return t;
    }

    public static Tensor normal(Tensor t, double mean, double std, Random rng) {
        float[] d = t.data();
        for (int i = 0; i < d.length; i++) d[i] = (float) (mean + std * rng.nextGaussian());
        return t;
    }

    public static Tensor constant(Tensor t, float value) {
        Arrays.fill(t.data(), value);
        return t;
    }
}
