package org.goldenstick.tensor;

import org.goldenstick.tensor.kernel.Parallel;

/**
 * Element-wise activations with hand-written loops (no per-element virtual calls), split into parallel chunks
 * for large tensors, and softmax / log-softmax along any axis.
 */
final class Activations {
    private Activations() {}

    private static final int CHUNK = 1 << 16;

    /** A loop over the index range [lo, hi). */
    @FunctionalInterface
    interface Range {
        void run(int lo, int hi);
    }

    /** Runs {@code body} over [0, n) in chunks, in parallel when n is large. */
    static void chunks(int n, Range body) {
        if (n <= CHUNK) {
            body.run(0, n);
            return;
        }
        int tasks = (n + CHUNK - 1) / CHUNK;
        Parallel.forEach(tasks, t -> body.run(t * CHUNK, Math.min(n, (t + 1) * CHUNK)));
    }

    static Tensor relu(Tensor a) {
        float[] x = a.data(), y = StepBuffers.uninitialized(x.length);
        chunks(x.length, (lo, hi) -> {
            for (int i = lo; i < hi; i++) y[i] = Math.max(x[i], 0f); // branch-free, unlike a ternary
        });
        return Tensor.result("relu", y, a.shape(), out -> {
            boolean add = !a.claimFreshGrad();
            float[] g = out.gradArray(), gx = a.gradArray();
            chunks(x.length, (lo, hi) -> VectorKernels.maskedAccumulate(x, g, gx, lo, hi, 0f, Float.POSITIVE_INFINITY, 1f, add));
        }, a);
    }

    static Tensor relu6(Tensor a) {
        float[] x = a.data(), y = StepBuffers.uninitialized(x.length);
        chunks(x.length, (lo, hi) -> {
            for (int i = lo; i < hi; i++) y[i] = Math.min(6f, Math.max(0f, x[i]));
        });
        return Tensor.result("relu6", y, a.shape(), out -> {
            boolean add = !a.claimFreshGrad();
            float[] g = out.gradArray(), gx = a.gradArray();
            chunks(x.length, (lo, hi) -> VectorKernels.maskedAccumulate(x, g, gx, lo, hi, 0f, 6f, 1f, add));
        }, a);
    }

    static Tensor leakyRelu(Tensor a, float slope) {
        float[] x = a.data(), y = StepBuffers.uninitialized(x.length);
        chunks(x.length, (lo, hi) -> VectorKernels.leakyForward(x, y, lo, hi, slope));
        return Tensor.result("leakyRelu", y, a.shape(), out -> {
            float[] g = out.gradArray(), gx = a.gradArray();
            chunks(x.length, (lo, hi) -> VectorKernels.leakyBackward(x, g, gx, lo, hi, slope));
        }, a);
    }

    private static final double INV_SQRT2 = 1.0 / Math.sqrt(2.0);
    private static final double INV_SQRT_2PI = 1.0 / Math.sqrt(2.0 * Math.PI);

    /** Exact GELU: x·Φ(x) with Φ(x) = (1 + erf(x/√2))/2. */
    static Tensor gelu(Tensor a) {
        float[] x = a.data(), y = new float[x.length];
        chunks(x.length, (lo, hi) -> {
            for (int i = lo; i < hi; i++) y[i] = (float) (x[i] * 0.5 * (1.0 + erf(x[i] * INV_SQRT2)));
        });
        return Tensor.result("gelu", y, a.shape(), out -> {
            float[] g = out.gradArray(), gx = a.gradArray();
            chunks(x.length, (lo, hi) -> {
                for (int i = lo; i < hi; i++) {
                    double v = x[i];
                    double cdf = 0.5 * (1.0 + erf(v * INV_SQRT2));
                    double pdf = INV_SQRT_2PI * Math.exp(-0.5 * v * v);
                    gx[i] += (float) (g[i] * (cdf + v * pdf));
                }
            });
        }, a);
    }

    /**
     * erf(x) from the complementary error function's Chebyshev-fitted form (Numerical Recipes {@code erfcc}),
     * fractional error below 1.2e-7 everywhere: ample for float results.
     */
    static double erf(double x) {
        double z = Math.abs(x);
        double t = 1.0 / (1.0 + 0.5 * z);
        double erfc = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
                + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
                + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? 1.0 - erfc : erfc - 1.0;
    }

    private static final double SQRT_2_OVER_PI = Math.sqrt(2.0 / Math.PI);

    /** GELU's tanh approximation (PyTorch {@code gelu(approximate="tanh")}): x·(1 + tanh(√(2/π)(x + 0.044715x³)))/2. */
    static Tensor geluTanh(Tensor a) {
        float[] x = a.data(), y = new float[x.length];
        chunks(x.length, (lo, hi) -> {
            for (int i = lo; i < hi; i++) y[i] = (float) geluTanh(x[i]);
        });
        return Tensor.result("geluTanh", y, a.shape(), out -> {
            float[] g = out.gradArray(), gx = a.gradArray();
            chunks(x.length, (lo, hi) -> {
                for (int i = lo; i < hi; i++) {
                    double v = x[i], u = SQRT_2_OVER_PI * (v + 0.044715 * v * v * v), th = Math.tanh(u);
                    double du = SQRT_2_OVER_PI * (1 + 3 * 0.044715 * v * v);
                    gx[i] += (float) (g[i] * (0.5 * (1 + th) + 0.5 * v * (1 - th * th) * du));
                }
            });
        }, a);
    }

    /** The scalar GELU-tanh, in double. */
    public static double geluTanh(double v) {
        return 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v)));
    }

    /** SiLU (swish): x·σ(x). */
    static Tensor silu(Tensor a) {
        float[] x = a.data(), y = new float[x.length];
        chunks(x.length, (lo, hi) -> VectorKernels.siluForward(x, y, lo, hi));
        return Tensor.result("silu", y, a.shape(), out -> {
            float[] g = out.gradArray(), gx = a.gradArray();
            chunks(x.length, (lo, hi) -> VectorKernels.siluBackward(x, g, gx, lo, hi));
        }, a);
    }

    /** relu6(x + 3) / 6 (PyTorch hardsigmoid). */
    static Tensor hardSigmoid(Tensor a) {
        float[] x = a.data(), y = new float[x.length];
        chunks(x.length, (lo, hi) -> {
            for (int i = lo; i < hi; i++) y[i] = Math.min(1f, Math.max(0f, x[i] / 6f + 0.5f));
        });
        return Tensor.result("hardSigmoid", y, a.shape(), out -> {
            float[] g = out.gradArray(), gx = a.gradArray();
            chunks(x.length, (lo, hi) -> VectorKernels.maskedAccumulate(x, g, gx, lo, hi, -3f, 3f, 1f / 6f, true));
        }, a);
    }

    /** x · relu6(x + 3) / 6 (PyTorch hardswish). */
    static Tensor hardSwish(Tensor a) {
        float[] x = a.data(), y = new float[x.length];
        chunks(x.length, (lo, hi) -> {
            for (int i = lo; i < hi; i++) y[i] = x[i] * Math.min(1f, Math.max(0f, x[i] / 6f + 0.5f));
        });
        return Tensor.result("hardSwish", y, a.shape(), out -> {
            float[] g = out.gradArray(), gx = a.gradArray();
            chunks(x.length, (lo, hi) -> {
                for (int i = lo; i < hi; i++) {
                    float v = x[i];
                    if (v >= 3f) gx[i] += g[i];
                    else if (v > -3f) gx[i] += g[i] * (2f * v + 3f) / 6f;
                }
            });
        }, a);
    }

    /** Sizes [outer, n, inner] of a shape around one axis. */
    static int[] around(int[] shape, int axis) {
        int outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= shape[i];
        for (int i = axis + 1; i < shape.length; i++) inner *= shape[i];
        return new int[] {outer, shape[axis], inner};
    }

    static Tensor softmax(Tensor a, int axis) {
        return softmaxImpl(a, axis, false);
    }

    static Tensor logSoftmax(Tensor a, int axis) {
        return softmaxImpl(a, axis, true);
    }

    /** Subtracts the maximum before exponentiating, so large logits neither overflow nor lose the answer. */
    private static Tensor softmaxImpl(Tensor a, int axis, boolean log) {
        String op = log ? "logSoftmax" : "softmax";
        int[] shape = a.shapeRef();
        int ax = Shape.axis(op, axis, shape.length);
        int[] d = around(shape, ax);
        int outer = d[0], n = d[1], inner = d[2];
        if (n == 0) throw new IllegalArgumentException(op + ": empty axis " + axis + " in shape " + Shape.str(shape));
        float[] x = a.data(), y = new float[x.length];
        int lines = outer * inner;
        Parallel.forEach((lines + 255) / 256, t -> {
            for (int line = t * 256, end = Math.min(lines, line + 256); line < end; line++) {
                int base = (line / inner) * n * inner + line % inner;
                if (inner == 1) { // contiguous rows (the usual last-axis case): vector kernels
                    float max = VectorKernels.max(x, base, n);
                    if (log) {
                        double logSum = Math.log(VectorKernels.sumExp(x, base, n, max));
                        for (int k = 0; k < n; k++) y[base + k] = (float) ((double) x[base + k] - max - logSum);
                    } else {
                        VectorKernels.scaledExp(x, base, n, max, 0f, 1f, y, base, false);
                        float inv = (float) (1.0 / VectorKernels.sum(y, base, n));
                        for (int k = 0; k < n; k++) y[base + k] *= inv;
                    }
                    continue;
                }
                float max = Float.NEGATIVE_INFINITY;
                for (int k = 0; k < n; k++) max = Math.max(max, x[base + k * inner]);
                double sum = 0;
                for (int k = 0; k < n; k++) sum += Math.exp(x[base + k * inner] - max);
                if (log) {
                    // (x − max) − log Σ in double: x − (max + log Σ) in float loses the answer for large logits.
                    double logSum = Math.log(sum);
                    for (int k = 0; k < n; k++) y[base + k * inner] = (float) ((double) x[base + k * inner] - max - logSum);
                } else {
                    double inv = 1.0 / sum;
                    for (int k = 0; k < n; k++) y[base + k * inner] = (float) (Math.exp(x[base + k * inner] - max) * inv);
                }
            }
        });
        return Tensor.result(op, y, a.shape(), out -> {
            float[] g = out.gradArray(), gx = a.gradArray();
            Parallel.forEach((lines + 255) / 256, t -> {
                for (int line = t * 256, end = Math.min(lines, line + 256); line < end; line++) {
                    int base = (line / inner) * n * inner + line % inner;
                    if (log && inner == 1) {
                        float sg = (float) VectorKernels.sum(g, base, n);
                        float[] tmp = rowScratch(n);
                        VectorKernels.scaledExp(y, base, n, 0f, 0f, 1f, tmp, 0, false);
                        for (int k = 0; k < n; k++) gx[base + k] += g[base + k] - tmp[k] * sg;
                    } else if (log) {
                        // d/dx_k = g_k − softmax_k · Σ g
                        double sg = 0;
                        for (int k = 0; k < n; k++) sg += g[base + k * inner];
                        for (int k = 0; k < n; k++) gx[base + k * inner] += (float) (g[base + k * inner] - Math.exp(y[base + k * inner]) * sg);
                    } else {
                        // d/dx_k = y_k · (g_k − Σ g·y)
                        double gy = 0;
                        for (int k = 0; k < n; k++) gy += (double) g[base + k * inner] * y[base + k * inner];
                        for (int k = 0; k < n; k++) gx[base + k * inner] += (float) (y[base + k * inner] * (g[base + k * inner] - gy));
                    }
                }
            });
        }, a);
    }

    private static final ThreadLocal<float[]> ROW = ThreadLocal.withInitial(() -> new float[0]);

    private static float[] rowScratch(int n) {
        float[] b = ROW.get();
        if (b.length < n) {
            b = new float[n];
            ROW.set(b);
        }
        return b;
    }

    /** Inverted dropout: keeps each element with probability 1−p and scales kept ones by 1/(1−p). */
    static Tensor dropout(Tensor a, float p, boolean training, java.util.Random rng) {
        if (!(p >= 0f && p <= 1f)) throw new IllegalArgumentException("dropout: probability must be in [0, 1], got " + p);
        if (!training || p == 0f) return a;
        if (rng == null) throw new IllegalArgumentException("dropout: training mode needs a Random");
        float[] x = a.data(), y = new float[x.length];
        float[] mask = new float[x.length];
        float keep = p == 1f ? 0f : 1f / (1f - p);
        for (int i = 0; i < x.length; i++) {
            if (rng.nextFloat() >= p) mask[i] = keep;
            y[i] = x[i] * mask[i];
        }
        return Tensor.result("dropout", y, a.shape(), out -> {
            float[] g = out.gradArray(), gx = a.gradArray();
            for (int i = 0; i < g.length; i++) gx[i] += g[i] * mask[i];
        }, a);
    }
}
