package org.goldenstick.tensor;

/** Element-wise ops with NumPy broadcasting, and their gradients. */
final class Elementwise {
    private Elementwise() {}

    /** The four broadcasting arithmetic ops with their partial derivatives. */
    enum BinaryOp {
        ADD, SUB, MUL, DIV;

        float apply(float a, float b) {
            return switch (this) {
                case ADD -> a + b;
                case SUB -> a - b;
                case MUL -> a * b;
                case DIV -> a / b;
            };
        }

        /** ∂(a op b)/∂a. */
        float dA(float a, float b) {
            return switch (this) {
                case ADD, SUB -> 1f;
                case MUL -> b;
                case DIV -> 1f / b;
            };
        }

        /** ∂(a op b)/∂b. */
        float dB(float a, float b) {
            return switch (this) {
                case ADD -> 1f;
                case SUB -> -1f;
                case MUL -> a;
                case DIV -> -a / (b * b);
            };
        }
    }

    /** f(x) and f'(x) given x and y = f(x). */
    interface UnaryOp {
        float apply(float x);

        float derivative(float x, float y);
    }

    static final BinaryOp ADD = BinaryOp.ADD;
    static final BinaryOp SUB = BinaryOp.SUB;
    static final BinaryOp MUL = BinaryOp.MUL;
    static final BinaryOp DIV = BinaryOp.DIV;

    static final UnaryOp EXP = op(x -> (float) Math.exp(x), (x, y) -> y);
    static final UnaryOp LOG = op(x -> (float) Math.log(x), (x, y) -> 1f / x);
    static final UnaryOp SQRT = op(x -> (float) Math.sqrt(x), (x, y) -> 0.5f / y);
    static final UnaryOp SQUARE = op(x -> x * x, (x, y) -> 2f * x);
    static final UnaryOp ABS = op(Math::abs, (x, y) -> Math.signum(x));
    static final UnaryOp TANH = op(x -> (float) Math.tanh(x), (x, y) -> 1f - y * y);
    static final UnaryOp SIGMOID = op(x -> (float) (1.0 / (1.0 + Math.exp(-x))), (x, y) -> y * (1f - y));
    static final UnaryOp RELU = op(x -> x > 0 ? x : 0f, (x, y) -> x > 0 ? 1f : 0f);

    interface F1 {
        float f(float x);
    }

    interface F2 {
        float f(float x, float y);
    }

    static UnaryOp op(F1 f, F2 d) {
        return new UnaryOp() {
            public float apply(float x) {
                return f.f(x);
            }

            public float derivative(float x, float y) {
                return d.f(x, y);
            }
        };
    }

    static Tensor unary(String name, Tensor a, UnaryOp op) {
        float[] x = a.data();
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) y[i] = op.apply(x[i]);
        return Tensor.result(name, y, a.shape(), out -> {
            float[] g = out.gradArray();
            float[] ga = a.gradArray();
            for (int i = 0; i < x.length; i++) ga[i] += g[i] * op.derivative(x[i], y[i]);
        }, a);
    }

    static Tensor affine(Tensor a, float scale, float shift) {
        float[] x = a.data();
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) y[i] = x[i] * scale + shift;
        return Tensor.result("affine", y, a.shape(), out -> {
            float[] g = out.gradArray();
            float[] ga = a.gradArray();
            for (int i = 0; i < x.length; i++) ga[i] += g[i] * scale;
        }, a);
    }

    static Tensor pow(Tensor a, float p) {
        float[] x = a.data();
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) y[i] = (float) Math.pow(x[i], p);
        return Tensor.result("pow", y, a.shape(), out -> {
            float[] g = out.gradArray();
            float[] ga = a.gradArray();
            for (int i = 0; i < x.length; i++) ga[i] += g[i] * p * (float) Math.pow(x[i], p - 1);
        }, a);
    }

    static Tensor clamp(Tensor a, float lo, float hi) {
        float[] x = a.data();
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) y[i] = Math.min(hi, Math.max(lo, x[i]));
        return Tensor.result("clamp", y, a.shape(), out -> {
            float[] g = out.gradArray();
            float[] ga = a.gradArray();
            for (int i = 0; i < x.length; i++) if (x[i] >= lo && x[i] <= hi) ga[i] += g[i];
        }, a);
    }

    static Tensor binary(String name, Tensor a, Tensor b, BinaryOp op) {
        int[] as = a.shapeRef(), bs = b.shapeRef();
        float[] x = a.data(), z = b.data();
        if (java.util.Arrays.equals(as, bs)) {
            float[] y = StepBuffers.uninitialized(x.length); // every chunk written below
            Activations.chunks(y.length, (lo, hi) -> {
                switch (op) {
                    case ADD -> { for (int i = lo; i < hi; i++) y[i] = x[i] + z[i]; }
                    case SUB -> { for (int i = lo; i < hi; i++) y[i] = x[i] - z[i]; }
                    case MUL -> { for (int i = lo; i < hi; i++) y[i] = x[i] * z[i]; }
                    case DIV -> { for (int i = lo; i < hi; i++) y[i] = x[i] / z[i]; }
                }
            });
            return Tensor.result(name, y, a.shape(), out -> backwardSame(op, out, a, b), a, b);
        }
        int[] os = Shape.broadcast(name, as, bs);
        int n = Shape.numel(os);
        int[] ai = broadcastIndex(as, os), bi = broadcastIndex(bs, os);
        float[] y = new float[n];
        for (int i = 0; i < n; i++) y[i] = op.apply(x[ai[i]], z[bi[i]]);
        return Tensor.result(name, y, os, out -> {
            float[] g = out.gradArray();
            if (a.requiresGrad()) {
                float[] ga = a.gradArray();
                for (int i = 0; i < n; i++) ga[ai[i]] += g[i] * op.dA(x[ai[i]], z[bi[i]]);
            }
            if (b.requiresGrad()) {
                float[] gb = b.gradArray();
                for (int i = 0; i < n; i++) gb[bi[i]] += g[i] * op.dB(x[ai[i]], z[bi[i]]);
            }
        }, a, b);
    }

    private static void backwardSame(BinaryOp op, Tensor out, Tensor a, Tensor b) {
        float[] g = out.gradArray(), x = a.data(), z = b.data();
        // a fresh input gradient of an add (a's of a sub) is a copy of g: written, not added into zeros
        // (0f + g[i] is what adding into zeros gives, −0 included)
        if (a.requiresGrad()) {
            if ((op == BinaryOp.ADD || op == BinaryOp.SUB) && a.claimFreshGrad()) {
                float[] ga = a.gradArray();
                Activations.chunks(g.length, (lo, hi) -> { for (int i = lo; i < hi; i++) ga[i] = 0f + g[i]; });
            } else {
                float[] ga = a.gradArray();
                Activations.chunks(g.length, (lo, hi) -> {
                    switch (op) {
                        case ADD, SUB -> { for (int i = lo; i < hi; i++) ga[i] += g[i]; }
                        case MUL -> { for (int i = lo; i < hi; i++) ga[i] += g[i] * z[i]; }
                        case DIV -> { for (int i = lo; i < hi; i++) ga[i] += g[i] / z[i]; }
                    }
                });
            }
        }
        if (b.requiresGrad()) {
            if (op == BinaryOp.ADD && b.claimFreshGrad()) {
                float[] gb = b.gradArray();
                Activations.chunks(g.length, (lo, hi) -> { for (int i = lo; i < hi; i++) gb[i] = 0f + g[i]; });
            } else {
                float[] gb = b.gradArray();
                Activations.chunks(g.length, (lo, hi) -> {
                    switch (op) {
                        case ADD -> { for (int i = lo; i < hi; i++) gb[i] += g[i]; }
                        case SUB -> { for (int i = lo; i < hi; i++) gb[i] -= g[i]; }
                        case MUL -> { for (int i = lo; i < hi; i++) gb[i] += g[i] * x[i]; }
                        case DIV -> { for (int i = lo; i < hi; i++) gb[i] += g[i] * op.dB(x[i], z[i]); }
                    }
                });
            }
        }
    }

    /** For every element of the output shape, the flat index of the input element it reads. */
    static int[] broadcastIndex(int[] in, int[] out) {
        int n = Shape.numel(out);
        int[] idx = new int[n];
        int rank = out.length;
        int[] inStride = new int[rank];
        int[] s = Shape.strides(in);
        for (int d = 0; d < rank; d++) {
            int k = d - (rank - in.length);
            inStride[d] = (k >= 0 && in[k] != 1) ? s[k] : 0;
        }
        int[] counter = new int[rank];
        int off = 0;
        for (int i = 0; i < n; i++) {
            idx[i] = off;
            for (int d = rank - 1; d >= 0; d--) {
                counter[d]++;
                off += inStride[d];
                if (counter[d] < out[d]) break;
                off -= inStride[d] * out[d];
                counter[d] = 0;
            }
        }
        return idx;
    }
}
