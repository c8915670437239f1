package org.goldenstick.tensor;

import static org.goldenstick.GradCheck.check;
import static org.goldenstick.GradCheck.param;
import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import java.util.function.DoubleUnaryOperator;
import java.util.function.Function;
import org.goldenstick.tensor.kernel.Kernels;
import org.junit.jupiter.api.Test;

class ActivationsTest {
    /** erf by its Maclaurin series in float64 (converges for all x; accurate for |x| &lt; 5 with enough terms). */
    static double erfSeries(double x) {
        double sum = 0, term = x;
        for (int n = 0; n < 200; n++) {
            sum += term / (2 * n + 1);
            term *= -x * x / (n + 1);
        }
        return 2 / Math.sqrt(Math.PI) * sum;
    }

    /** Values spread over [-7, 7] that stay at least 0.05 away from the kinks at -3, 0, 3 and 6. */
    static Tensor awayFromKinks(long seed, int n) {
        Random r = new Random(seed);
        float[] d = new float[n];
        for (int i = 0; i < n; i++) {
            float v;
            do v = (r.nextFloat() * 14f) - 7f;
            while (Math.abs(v) < 0.05f || Math.abs(v - 3f) < 0.05f || Math.abs(v + 3f) < 0.05f || Math.abs(v - 6f) < 0.05f);
            d[i] = v;
        }
        return Tensor.of(d, 2, n / 2).requiresGrad(true);
    }

    static void forward(String name, Function<Tensor, Tensor> op, DoubleUnaryOperator ref, Tensor x, double tol) {
        Tensor y = op.apply(x);
        assertArrayEquals(x.shape(), y.shape());
        for (int i = 0; i < x.numel(); i++) {
            double r = ref.applyAsDouble(x.data()[i]);
            assertEquals(r, y.data()[i], tol * (1 + Math.abs(r)), name + " at x=" + x.data()[i]);
        }
    }

    @Test
    void activationsMatchFloat64DefinitionsAndFiniteDifferencesOnBothKernelPaths() {
        for (boolean vector : new boolean[] {true, false}) {
            boolean was = Kernels.useVector(vector);
            try {
                activations(awayFromKinks(3, 66)); // 66: not a multiple of the vector width, so tails run too
            } finally {
                Kernels.useVector(was);
            }
        }
    }

    private static void activations(Tensor x) {
        forward("relu", Functional::relu, v -> Math.max(0, v), x, 0);
        forward("relu6", Functional::relu6, v -> Math.min(6, Math.max(0, v)), x, 0);
        forward("leakyRelu", t -> Functional.leakyRelu(t, 0.1f), v -> v > 0 ? v : 0.1 * v, x, 1e-7);
        forward("gelu", Functional::gelu, v -> 0.5 * v * (1 + erfSeries(v / Math.sqrt(2))), x, 1e-6);
        forward("silu", Functional::silu, v -> v / (1 + Math.exp(-v)), x, 1e-6);
        forward("geluTanh", Functional::geluTanh, v -> 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v))), x, 1e-6);
        forward("hardSigmoid", Functional::hardSigmoid, v -> Math.min(1, Math.max(0, v / 6 + 0.5)), x, 1e-7);
        forward("hardSwish", Functional::hardSwish, v -> v * Math.min(1, Math.max(0, v / 6 + 0.5)), x, 1e-6);
        check("relu", t -> Functional.relu(t[0]), x);
        check("relu6", t -> Functional.relu6(t[0]), x);
        check("leakyRelu", t -> Functional.leakyRelu(t[0], 0.1f), x);
        check("gelu", t -> Functional.gelu(t[0]), x);
        check("silu", t -> Functional.silu(t[0]), x);
        check("geluTanh", t -> Functional.geluTanh(t[0]), x);
        check("hardSigmoid", t -> Functional.hardSigmoid(t[0]), x);
        check("hardSwish", t -> Functional.hardSwish(t[0]), x);
        // Around 0 GELU and SiLU are smooth: check the gradient there too.
        check("gelu near 0", t -> Functional.gelu(t[0]), param(5, 3, 7));
        check("silu near 0", t -> Functional.silu(t[0]), param(5, 3, 7));
        check("geluTanh near 0", t -> Functional.geluTanh(t[0]), param(5, 3, 7));
    }

    @Test
    void largeTensorsTakeTheParallelPathWithTheSameResult() {
        Tensor x = Tensor.randn(new Random(1), 3, 70_000);
        Tensor y = Functional.silu(x);
        for (int i = 0; i < x.numel(); i += 997) assertEquals(x.data()[i] / (1 + Math.exp(-x.data()[i])), y.data()[i], 1e-6);
    }

    static double[] refSoftmax(Tensor x, int axis, boolean log) {
        int[] s = x.shape();
        int outer = 1, inner = 1, n = s[axis];
        for (int i = 0; i < axis; i++) outer *= s[i];
        for (int i = axis + 1; i < s.length; i++) inner *= s[i];
        double[] y = new double[x.numel()];
        for (int o = 0; o < outer; o++)
            for (int in = 0; in < inner; in++) {
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int k = 0; k < n; k++) max = Math.max(max, x.data()[(o * n + k) * inner + in]);
                for (int k = 0; k < n; k++) sum += Math.exp(x.data()[(o * n + k) * inner + in] - max);
                for (int k = 0; k < n; k++) {
                    int i = (o * n + k) * inner + in;
                    y[i] = log ? x.data()[i] - max - Math.log(sum) : Math.exp(x.data()[i] - max) / sum;
                }
            }
        return y;
    }

    @Test
    void softmaxAndLogSoftmaxAlongAnyAxisOnBothKernelPaths() {
        for (boolean vector : new boolean[] {true, false}) {
            boolean was = Kernels.useVector(vector);
            try {
                softmaxAlongAxes(param(1, 2, 3, 4));
                softmaxAlongAxes(param(2, 3, 37)); // rows longer than a vector: the vector loops run, plus a tail
            } finally {
                Kernels.useVector(was);
            }
        }
    }

    private static void softmaxAlongAxes(Tensor x) {
        for (int axis = 0; axis < x.rank(); axis++) {
            final int a = axis;
            double[] rs = refSoftmax(x, a, false), rl = refSoftmax(x, a, true);
            Tensor s = Functional.softmax(x, a), l = Functional.logSoftmax(x, a);
            for (int i = 0; i < x.numel(); i++) {
                assertEquals(rs[i], s.data()[i], 1e-6, "softmax axis " + a);
                assertEquals(rl[i], l.data()[i], 1e-5, "logSoftmax axis " + a);
            }
            check("softmax axis " + a, t -> Functional.softmax(t[0], a), x);
            check("logSoftmax axis " + a, t -> Functional.logSoftmax(t[0], a), x);
        }
        Tensor neg = Functional.softmax(x, -1);
        assertArrayEquals(Functional.softmax(x, x.rank() - 1).data(), neg.data());
    }

    @Test
    void softmaxIsStableForHugeLogitsOnBothKernelPaths() {
        for (boolean vector : new boolean[] {true, false}) {
            boolean was = Kernels.useVector(vector);
            try {
                hugeLogits();
            } finally {
                Kernels.useVector(was);
            }
        }
    }

    private static void hugeLogits() {
        Tensor x = Tensor.of(new float[] {1000f, 1001f, -1000f, 50_000f, 50_000f, 0f}, 2, 3);
        Tensor s = Functional.softmax(x, 1);
        Tensor l = Functional.logSoftmax(x, 1);
        for (float v : s.data()) assertTrue(Float.isFinite(v));
        for (float v : l.data()) assertTrue(Float.isFinite(v));
        assertEquals(1 / (1 + Math.E), s.get(0, 0), 1e-6);
        assertEquals(0.5, s.get(1, 0), 1e-6);
        assertEquals(-Math.log(2), l.get(1, 1), 1e-6);
    }

    @Test
    void dropoutIsInvertedAndIdentityInEval() {
        Tensor x = Tensor.ones(100, 100).requiresGrad(true);
        assertSame(x, Functional.dropout(x, 0.3f, false, new Random(1)));
        Tensor y = Functional.dropout(x, 0.3f, true, new Random(1));
        int kept = 0;
        for (float v : y.data()) {
            assertTrue(v == 0f || Math.abs(v - 1 / 0.7f) < 1e-6, "value " + v);
            if (v != 0f) kept++;
        }
        assertEquals(0.7, kept / 10000.0, 0.03);
        y.sum().backward();
        assertArrayEquals(y.data(), x.grad().data(), "gradient is the same mask and scale");
        check("dropout", t -> Functional.dropout(t[0], 0.5f, true, new Random(9)), param(2, 4, 5));
        assertThrows(IllegalArgumentException.class, () -> Functional.dropout(x, 1.5f, true, new Random(1)));
    }
}
