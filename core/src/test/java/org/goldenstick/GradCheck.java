package org.goldenstick;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.function.Function;
import org.goldenstick.tensor.GradMode;
import org.goldenstick.tensor.Tensor;

/**
 * Finite-difference gradient checks. The op under test is reduced to a scalar with fixed random weights
 * ({@code L = Σ r·f(x)}, summed in float64); each input element is perturbed by ±eps and the central
 * difference, computed in float64, is compared with the autograd gradient.
 */
public final class GradCheck {
    private GradCheck() {}

    /** Checks d(Σ r·f(inputs))/d(input) for every input that requires grad. */
    public static void check(String name, Function<Tensor[], Tensor> f, Tensor... inputs) {
        check(name, 1e-2, 2e-2, f, inputs);
    }

    public static void check(String name, double eps, double tol, Function<Tensor[], Tensor> f, Tensor... inputs) {
        for (Tensor t : inputs) t.zeroGrad();
        Tensor out = f.apply(inputs);
        float[] r = new float[out.numel()];
        Random rng = new Random(42);
        for (int i = 0; i < r.length; i++) r[i] = (float) rng.nextGaussian();
        out.backward(r.clone());
        for (int ti = 0; ti < inputs.length; ti++) {
            Tensor t = inputs[ti];
            if (!t.requiresGrad()) continue;
            float[] analytic = t.hasGrad() ? t.grad().data().clone() : new float[t.numel()];
            float[] x = t.data();
            double worst = 0;
            int worstAt = -1;
            double worstNum = 0;
            for (int i = 0; i < x.length; i++) {
                float saved = x[i];
                x[i] = (float) (saved + eps);
                double plus = weighted(f, inputs, r);
                x[i] = (float) (saved - eps);
                double minus = weighted(f, inputs, r);
                x[i] = saved;
                double numeric = (plus - minus) / (2 * eps);
                double err = Math.abs(numeric - analytic[i]) / Math.max(1.0, Math.abs(numeric));
                if (err > worst) {
                    worst = err;
                    worstAt = i;
                    worstNum = numeric;
                }
            }
            final double w = worst;
            final int at = worstAt;
            final double num = worstNum;
            assertTrue(w <= tol, () -> name + ": input " + " gradient mismatch at element " + at
                    + ": autograd " + analytic[at] + " vs finite difference " + num + " (rel err " + w + ")");
        }
    }

    private static double weighted(Function<Tensor[], Tensor> f, Tensor[] inputs, float[] r) {
        try (var ignored = GradMode.off()) {
            float[] y = f.apply(inputs).data();
            double s = 0;
            for (int i = 0; i < y.length; i++) s += (double) r[i] * y[i];
            return s;
        }
    }

    /** A leaf tensor of standard-normal values that requires grad. */
    public static Tensor param(long seed, int... shape) {
        return Tensor.randn(new Random(seed), shape).requiresGrad(true);
    }
}
