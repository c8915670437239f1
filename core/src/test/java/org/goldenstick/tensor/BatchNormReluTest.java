package org.goldenstick.tensor;

import static org.goldenstick.GradCheck.check;
import static org.goldenstick.GradCheck.param;
import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.goldenstick.tensor.kernel.Kernels;
import org.junit.jupiter.api.Test;

/** The fused batch norm + ReLU / ReLU6 op against the two ops run one after the other, and against finite differences. */
class BatchNormReluTest {
    private interface Fused {
        Tensor apply(Tensor x, Tensor g, Tensor b, Tensor rm, Tensor rv, boolean training);
    }

    private static final Fused RELU = (x, g, b, rm, rv, t) -> Functional.batchNormRelu(x, g, b, rm, rv, t, 0.1f, 1e-5f);
    private static final Fused RELU6 = (x, g, b, rm, rv, t) -> Functional.batchNormRelu6(x, g, b, rm, rv, t, 0.1f, 1e-5f);

    private static Tensor unfused(boolean relu6, Tensor x, Tensor g, Tensor b, Tensor rm, Tensor rv, boolean training) {
        Tensor y = Functional.batchNorm(x, g, b, rm, rv, training, 0.1f, 1e-5f);
        return relu6 ? Functional.relu6(y) : Functional.relu(y);
    }

    /** Inputs spread so that the normalised values straddle 0 and 6; planes of 7×7 and 5×3 leave scalar tails. */
    private static Tensor input(long seed, int... shape) {
        Tensor x = Tensor.randn(new Random(seed), shape);
        for (int i = 0; i < x.numel(); i++) x.data()[i] = x.data()[i] * 3f + 1f;
        return x.requiresGrad(true);
    }

    @Test
    void fusedEqualsTheTwoOpsBitForBitOnBothKernelPaths() {
        for (boolean vector : new boolean[] {true, false}) {
            boolean was = Kernels.useVector(vector);
            try {
                for (boolean relu6 : new boolean[] {false, true})
                    for (boolean training : new boolean[] {true, false})
                        for (int[] shape : new int[][] {{4, 3, 7, 7}, {3, 2, 5, 3}, {2, 5, 16, 16}}) compare(relu6, training, shape, vector);
            } finally {
                Kernels.useVector(was);
            }
        }
    }

    private static void compare(boolean relu6, boolean training, int[] shape, boolean vector) {
        String what = (relu6 ? "relu6" : "relu") + (training ? " train " : " eval ") + java.util.Arrays.toString(shape) + (vector ? " vector" : " scalar");
        int c = shape[1];
        Tensor[] runs = new Tensor[2];
        float[][][] grads = new float[2][][];
        float[][][] stats = new float[2][][];
        for (int r = 0; r < 2; r++) {
            Tensor x = input(1, shape), g = param(2, c), b = param(3, c);
            for (int i = 0; i < c; i++) { // channels centred below 0, near 0 and near 6, some with negative γ
                g.data()[i] = i % 2 == 0 ? 1.5f : -2.5f;
                b.data()[i] = i % 3 == 0 ? -0.5f : i % 3 == 1 ? 1f : 5f;
            }
            Tensor rm = Tensor.of(new float[c], c), rv = Tensor.full(1.5f, c);
            Tensor y = r == 0 ? unfused(relu6, x, g, b, rm, rv, training) : (relu6 ? RELU6 : RELU).apply(x, g, b, rm, rv, training);
            float[] seed = Tensor.randn(new Random(9), shape).data();
            y.backward(seed);
            runs[r] = y;
            grads[r] = new float[][] {x.grad().data(), g.grad().data(), b.grad().data()};
            stats[r] = new float[][] {rm.data(), rv.data()};
        }
        assertArrayEquals(runs[0].data(), runs[1].data(), what + ": forward");
        int zeros = 0, tops = 0;
        for (float v : runs[1].data()) {
            if (v == 0f) zeros++;
            if (v == 6f) tops++;
        }
        assertTrue(zeros > 0 && (!relu6 || tops > 0), what + ": the clamp must be exercised (" + zeros + " zeros, " + tops + " at 6)");
        String[] names = {"dx", "dgamma", "dbeta"};
        for (int i = 0; i < 3; i++) assertArrayEquals(grads[0][i], grads[1][i], what + ": " + names[i]);
        assertArrayEquals(stats[0][0], stats[1][0], what + ": running mean");
        assertArrayEquals(stats[0][1], stats[1][1], what + ": running var");
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        for (boolean vector : new boolean[] {true, false}) {
            boolean was = Kernels.useVector(vector);
            try {
                check("batchNormRelu train", 1e-3, 3e-2, t -> RELU.apply(t[0], t[1], t[2], null, null, true), param(21, 3, 2, 5, 7), param(22, 2), param(23, 2));
                check("batchNormRelu6 train", 1e-3, 3e-2, t -> RELU6.apply(t[0], t[1], t[2], null, null, true), input(24, 3, 2, 5, 7), param(25, 2), param(26, 2));
                Tensor rm = Tensor.of(new float[] {0.1f, -0.3f}, 2), rv = Tensor.of(new float[] {0.8f, 1.7f}, 2);
                check("batchNormRelu eval", 1e-3, 3e-2, t -> RELU.apply(t[0], t[1], t[2], rm, rv, false), param(27, 3, 2, 3, 3), param(28, 2), param(29, 2));
            } finally {
                Kernels.useVector(was);
            }
        }
    }

    @Test
    void aTraceSeesTheTwoOps() {
        java.util.List<String> ops = new java.util.ArrayList<>();
        OpTrace.Listener l = new OpTrace.Listener() {
            public void op(String op, Tensor[] inputs, Tensor output) { ops.add(op); }
            public void enterLayer(Object layer, Tensor input) {}
            public void exitLayer(Object layer, Tensor input, Tensor output) {}
        };
        Tensor x = input(5, 2, 3, 4, 4);
        try (var g = GradMode.off(); OpTrace.Scope s = OpTrace.record(l)) {
            Functional.batchNormRelu6(x, null, null, null, null, true, 0.1f, 1e-5f);
        }
        assertEquals(java.util.List.of("batchNorm", "relu6"), ops);
    }
}
