package org.goldenstick.quant;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;

class FakeQuantizeTest {
    /** Independent float64 implementation of §5.3: nudged grid, clamp, round, dequantize; STE mask. */
    static double[][] reference(float[] x, double min, double max, int bits, boolean symmetric, boolean narrow) {
        double qmin = narrow ? 1 : 0, qmax = Math.pow(2, bits) - 1;
        if (symmetric) {
            double m = Math.max(-min, max);
            min = -m;
            max = m;
        }
        double scale = (max - min) / (qmax - qmin);
        double zpFromMin = qmin - min / scale;
        double zp = zpFromMin <= qmin ? qmin : zpFromMin >= qmax ? qmax : Math.floor(zpFromMin + 0.5);
        double nmin = (qmin - zp) * scale, nmax = (qmax - zp) * scale;
        double[] y = new double[x.length], mask = new double[x.length], tie = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double c = Math.min(Math.max(x[i], nmin), nmax);
            double t = (c - nmin) / scale;
            y[i] = Math.floor(t + 0.5) * scale + nmin;
            mask[i] = x[i] >= nmin && x[i] <= nmax ? 1 : 0;
            tie[i] = Math.abs(t - Math.floor(t) - 0.5) < 1e-4 ? 1 : 0;
        }
        return new double[][] {y, mask, tie, {scale}};
    }

    @Test
    void forwardAndSteGradientMatchFloat64Reference() {
        Random rng = new Random(11);
        for (boolean symmetric : new boolean[] {false, true}) {
            for (boolean narrow : new boolean[] {false, true}) {
                float[] data = new float[4000];
                for (int i = 0; i < data.length; i++) data[i] = (float) (rng.nextGaussian() * 2 + 0.3);
                FakeQuantize fq = FakeQuantize.perTensor(new QuantSpec(8, symmetric, symmetric, narrow), 0);
                fq.setRange(new float[] {-3.1f}, new float[] {4.7f});
                fq.eval();
                Tensor x = Tensor.of(data.clone(), 40, 100).requiresGrad(true);
                Tensor y = fq.forward(x);
                float[] seed = new float[data.length];
                for (int i = 0; i < seed.length; i++) seed[i] = (float) rng.nextGaussian();
                y.backward(seed);
                double[][] ref = reference(data, -3.1f, 4.7f, 8, symmetric, narrow);
                int clipped = 0;
                for (int i = 0; i < data.length; i++) {
                    if (ref[2][i] == 0) assertEquals(ref[0][i], y.data()[i], 1e-5, "forward element " + i);
                    else assertEquals(ref[0][i], y.data()[i], ref[3][0] + 1e-5, "forward element at a tie " + i);
                    assertEquals(ref[1][i] * seed[i], x.grad().data()[i], 0.0, "STE gradient element " + i);
                    if (ref[1][i] == 0) clipped++;
                }
                assertTrue(clipped > 10, "test data must exercise clipping, got " + clipped);
            }
        }
    }

    /** One training forward + backward (range from the batch) on a path; returns {range, output, input gradient}. */
    private static float[][] trainStep(FakeQuantize fq, float[] data, int[] shape, float[] seed, boolean vector) {
        boolean was = org.goldenstick.tensor.kernel.Kernels.useVector(vector);
        try {
            fq.train();
            Tensor x = Tensor.of(data.clone(), shape).requiresGrad(true);
            Tensor y = fq.forward(x);
            y.backward(seed);
            float[] range = new float[2 * fq.channels()];
            System.arraycopy(fq.floatMin(), 0, range, 0, fq.channels());
            System.arraycopy(fq.floatMax(), 0, range, fq.channels(), fq.channels());
            return new float[][] {range, y.data(), x.grad().data()};
        } finally {
            org.goldenstick.tensor.kernel.Kernels.useVector(was);
        }
    }

    @Test
    void vectorAndScalarPathsGiveIdenticalBitsAcrossChunks() {
        Random rng = new Random(12);
        int[] shape = {5, 7, 40, 41}; // 57,400 elements: two parallel chunks, runs cut by channel and chunk borders
        int n = 5 * 7 * 40 * 41;
        float[] data = new float[n], seed = new float[n];
        for (int i = 0; i < n; i++) {
            data[i] = (float) (rng.nextGaussian() * 3 + (i / 1640 % 7) * 0.2);
            seed[i] = (float) rng.nextGaussian();
        }
        data[123] = -0f;
        for (int variant = 0; variant < 3; variant++) {
            float[][][] got = new float[2][][];
            for (int path = 0; path < 2; path++) {
                FakeQuantize fq = switch (variant) {
                    case 0 -> FakeQuantize.perTensor(QuantSpec.uint8Asymmetric(), 0);
                    case 1 -> FakeQuantize.perChannel(new QuantSpec(8, true, true, true), 1, 7, 0);
                    default -> FakeQuantize.perChannel(new QuantSpec(8, true, true, false), 0, 5, 0);
                };
                got[path] = trainStep(fq, data, shape, seed, path == 0);
            }
            for (int k = 0; k < 3; k++) assertArrayEquals(got[1][k], got[0][k], "variant " + variant + " part " + k);
            // and the float64 reference on channel 0 of the per-tensor variant
            if (variant == 0) {
                float lo = Math.min(0f, got[0][0][0]), hi = Math.max(0f, got[0][0][1]);
                double[][] ref = reference(data, lo, hi, 8, false, false);
                for (int i = 0; i < n; i += 97) {
                    if (ref[2][i] == 0) assertEquals(ref[0][i], got[0][1][i], 1e-5, "forward element " + i);
                    assertEquals(ref[1][i] * seed[i], got[0][2][i], 0.0, "STE gradient element " + i);
                }
            }
        }
    }

    /** Training (two steps: the range moves) or eval, forward and backward of relu/relu6 then fq, fused or as two ops. */
    private static float[][] reluThenQuantize(boolean fused, boolean relu6, boolean training, int variant, float[] data, int[] shape, float[] seed, boolean vector) {
        boolean was = org.goldenstick.tensor.kernel.Kernels.useVector(vector);
        try {
            FakeQuantize fq = switch (variant) {
                case 0 -> FakeQuantize.perTensor(QuantSpec.uint8Asymmetric(), 0);
                case 1 -> FakeQuantize.perChannel(new QuantSpec(8, true, true, true), 1, 7, 0);
                default -> FakeQuantize.perTensor(QuantSpec.uint8Asymmetric(), 1); // quant delay: the first step passes through
            };
            fq.setRange(new float[fq.channels()], fillOf(fq.channels(), 2.5f));
            fq.train(training);
            float[][] out = null;
            for (int step = 0; step < 2; step++) {
                Tensor x = Tensor.of(data.clone(), shape).requiresGrad(true);
                Tensor y = fused ? fq.forwardAfterRelu(x, relu6 ? 6f : Float.POSITIVE_INFINITY)
                        : fq.forward(relu6 ? org.goldenstick.tensor.Functional.relu6(x) : x.relu());
                Tensor z = y.add(x.mul(0.5f)); // x used twice: the fused gradient must add to the other use's
                z.backward(seed);
                float[] range = new float[2 * fq.channels()];
                System.arraycopy(fq.floatMin(), 0, range, 0, fq.channels());
                System.arraycopy(fq.floatMax(), 0, range, fq.channels(), fq.channels());
                out = new float[][] {range, y.data(), x.grad().data(), {fq.step()}};
            }
            return out;
        } finally {
            org.goldenstick.tensor.kernel.Kernels.useVector(was);
        }
    }

    private static float[] fillOf(int n, float v) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    @Test
    void reluThenQuantizeInOneOpGivesTheBitsOfTheTwoOps() {
        Random rng = new Random(13);
        int[] shape = {5, 7, 40, 41}; // two parallel chunks, runs cut by channel and chunk borders
        int n = 5 * 7 * 40 * 41;
        float[] data = new float[n], seed = new float[n];
        for (int i = 0; i < n; i++) {
            data[i] = (float) (rng.nextGaussian() * 4 + 1);
            seed[i] = (float) rng.nextGaussian();
        }
        data[7] = -0f;
        data[8] = 0f;
        data[9] = 6f;
        for (boolean vector : new boolean[] {true, false})
            for (boolean relu6 : new boolean[] {false, true})
                for (boolean training : new boolean[] {true, false})
                    for (int variant = 0; variant < 3; variant++) {
                        String what = (relu6 ? "relu6" : "relu") + (training ? " train" : " eval") + " variant " + variant + (vector ? " vector" : " scalar");
                        float[][] two = reluThenQuantize(false, relu6, training, variant, data, shape, seed, vector);
                        float[][] one = reluThenQuantize(true, relu6, training, variant, data, shape, seed, vector);
                        String[] part = {"range", "forward", "input gradient", "quant-delay counter"};
                        for (int k = 0; k < 4; k++) assertArrayEquals(two[k], one[k], what + ": " + part[k]);
                    }
        // and the float64 reference: the grid on clamp(x), the gradient where the activation and the grid both pass
        FakeQuantize fq = FakeQuantize.perTensor(QuantSpec.uint8Asymmetric(), 0);
        fq.setRange(new float[] {0f}, new float[] {4.5f});
        fq.eval();
        Tensor x = Tensor.of(data.clone(), shape).requiresGrad(true);
        Tensor y = fq.forwardAfterRelu(x, 6f);
        y.backward(seed);
        float[] clamped = new float[n];
        for (int i = 0; i < n; i++) clamped[i] = Math.min(6f, Math.max(0f, data[i]));
        double[][] ref = reference(clamped, 0f, 4.5f, 8, false, false);
        int blocked = 0;
        for (int i = 0; i < n; i++) {
            if (ref[2][i] == 0) assertEquals(ref[0][i], y.data()[i], 1e-5, "forward element " + i);
            double pass = data[i] > 0 && data[i] < 6 ? ref[1][i] : 0;
            assertEquals(pass * seed[i], x.grad().data()[i], 0.0, "gradient element " + i);
            if (pass == 0) blocked++;
        }
        assertTrue(blocked > n / 10, "the data must exercise both masks, got " + blocked);
        fq.setBypass(true);
        assertNull(fq.forwardAfterRelu(x, 6f), "a bypassed quantizer must leave the activation to its layer");
        assertThrows(IllegalArgumentException.class, () -> fq.forwardAfterRelu(x, 3f));
    }

    @Test
    void steGradientIsWrittenWholeIntoReusedArraysAndAddsWhenUsedTwice() {
        Random rng = new Random(13);
        int[] shape = {4, 3, 30, 30};
        int n = 4 * 3 * 30 * 30;
        float[] data = new float[n], seed = new float[n];
        for (int i = 0; i < n; i++) {
            data[i] = (float) (rng.nextGaussian() * 2);
            seed[i] = (float) rng.nextGaussian();
        }
        for (boolean vector : new boolean[] {true, false}) {
            boolean was = org.goldenstick.tensor.kernel.Kernels.useVector(vector);
            try {
                for (int uses = 1; uses <= 2; uses++) {
                    FakeQuantize fq = FakeQuantize.perTensor(QuantSpec.uint8Asymmetric(), 0);
                    fq.setRange(new float[] {-1.5f}, new float[] {2.5f});
                    fq.eval(); // a fixed range, so that some elements are clipped
                    org.goldenstick.tensor.StepBuffers buffers = new org.goldenstick.tensor.StepBuffers();
                    try (var ignored = buffers.open()) { // the pool's arrays then hold NaN: an unwritten element shows
                        for (int k = 0; k < 6; k++) java.util.Arrays.fill(org.goldenstick.tensor.StepBuffers.uninitialized(n), Float.NaN);
                    }
                    Tensor leaf = Tensor.of(data.clone(), shape).requiresGrad(true);
                    try (var ignored = buffers.open()) {
                        Tensor x = leaf.mul(1f); // not a leaf: its gradient comes from the pool
                        Tensor y = fq.forward(x);
                        if (uses == 2) y = y.add(fq.forward(x));
                        y.backward(seed);
                    }
                    double[][] ref = reference(data, -1.5f, 2.5f, 8, false, false);
                    float[] g = leaf.grad().data();
                    for (int i = 0; i < n; i++) assertEquals(uses * ref[1][i] * seed[i], g[i], 1e-6, "vector=" + vector + " uses=" + uses + " element " + i);
                }
            } finally {
                org.goldenstick.tensor.kernel.Kernels.useVector(was);
            }
        }
    }

    @Test
    void perChannelUsesOneRangePerChannel() {
        Random rng = new Random(5);
        int oc = 3, per = 50;
        float[] data = new float[oc * per];
        for (int i = 0; i < data.length; i++) data[i] = (float) rng.nextGaussian() * (i / per + 1);
        FakeQuantize fq = FakeQuantize.perChannel(QuantSpec.int8Symmetric(), 0, oc, 0);
        Tensor y = fq.forward(Tensor.of(data.clone(), oc, 5, 10)); // training: range = batch range per channel
        for (int c = 0; c < oc; c++) {
            float lo = Float.MAX_VALUE, hi = -Float.MAX_VALUE;
            for (int j = 0; j < per; j++) {
                lo = Math.min(lo, data[c * per + j]);
                hi = Math.max(hi, data[c * per + j]);
            }
            assertEquals(Math.min(lo, 0), fq.floatMin()[c]);
            assertEquals(Math.max(hi, 0), fq.floatMax()[c]);
            float[] slice = java.util.Arrays.copyOfRange(data, c * per, (c + 1) * per);
            double[][] ref = reference(slice, fq.floatMin()[c], fq.floatMax()[c], 8, true, false);
            for (int j = 0; j < per; j++) if (ref[2][j] == 0) assertEquals(ref[0][j], y.data()[c * per + j], 1e-5);
        }
    }

    @Test
    void upstreamWorkedExampleWeightOfOneAtInitialRange() {
        // inference mode, initial range ±6, symmetric int8: scale 12/255, nudged zp 128, 1.0 -> 0.9882353
        FakeQuantize fq = FakeQuantize.perChannel(QuantSpec.int8Symmetric(), 0, 1, 0);
        fq.eval();
        assertEquals(0.9882353f, fq.forward(Tensor.ones(1, 4)).data()[0], 1e-6f);
    }

    @Test
    void quantDelayPassesThroughPerQuantizerCounter() {
        FakeQuantize a = FakeQuantize.perTensor(QuantSpec.uint8Asymmetric(), 2);
        FakeQuantize b = FakeQuantize.perTensor(QuantSpec.uint8Asymmetric(), 2);
        Tensor x = Tensor.of(new float[] {0.1234567f, 1f, -1f}, 3);
        assertArrayEquals(x.data(), a.forward(x).data());
        assertArrayEquals(x.data(), a.forward(x).data());
        assertNotEquals(x.data()[0], a.forward(x).data()[0]); // third call quantizes
        assertEquals(3, a.step());
        assertEquals(0, b.step()); // b has its own counter
        assertArrayEquals(x.data(), b.forward(x).data());
        b.eval();
        assertNotEquals(x.data()[0], b.forward(x).data()[0]); // no delay at inference
    }

    @Test
    void deployParamsReproduceEvalOutputsExactly() {
        Random rng = new Random(9);
        for (boolean symmetric : new boolean[] {false, true}) {
            FakeQuantize fq = FakeQuantize.perTensor(new QuantSpec(8, symmetric, symmetric, false), 0);
            float[] data = new float[1000];
            for (int i = 0; i < data.length; i++) data[i] = (float) rng.nextGaussian();
            fq.forward(Tensor.of(data, 1000)); // training call sets the range
            fq.eval();
            float[] y = fq.forward(Tensor.of(data, 1000)).data();
            QuantParams p = fq.quantParams();
            assertEquals(symmetric, p.signed());
            if (symmetric) assertEquals(0, p.zeroPoint()[0]);
            float[] dq = QuantMath.dequantize(QuantMath.quantize(data, new int[] {1000}, p), new int[] {1000}, p);
            int diff = 0;
            for (int i = 0; i < data.length; i++) if (Math.abs(dq[i] - y[i]) > 1e-6) diff++;
            assertEquals(0, diff, "deploy grid differs from fake-quant grid");
        }
    }

    @Test
    void invalidArgumentsNameTheField() {
        var e = assertThrows(IllegalArgumentException.class, () -> FakeQuantize.perTensor(QuantSpec.int8Symmetric(), -1));
        assertTrue(e.getMessage().contains("quantDelay"));
    }
}
