package org.goldenstick.ptq;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.goldenstick.nn.Linear;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The int8 quantizer and the W8A16 / W8A8 deploy layers against independent float64 references. */
class QuantizedLinearTest {
    /** Float64 reference of symmetric per-row int8: scale = max|w|/127.5, round half away from zero, clamp. */
    static double refScale(float[] w, int off, int n) {
        double m = 0;
        for (int i = 0; i < n; i++) m = Math.max(m, Math.abs((double) w[off + i]));
        return m == 0 ? 1.0 : m / 127.5;
    }

    static int refQuant(double v, double scale) {
        double r = v / scale;
        double q = Math.signum(r) * Math.floor(Math.abs(r) + 0.5);
        return (int) Math.max(-128, Math.min(127, q));
    }

    static Linear randomLinear(Random rng, int in, int out, boolean bias) {
        Linear l = new Linear(in, out, bias, rng);
        float[] w = l.weight().data();
        for (int i = 0; i < w.length; i++) w[i] = (float) (rng.nextGaussian() * 0.05 * (1 + (i % 7)));
        return l;
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void rtnWeightsAndScalesMatchFloat64Reference(boolean vector) {
        boolean was = Kernels.useVector(vector);
        try {
            rtnCase();
        } finally {
            Kernels.useVector(was);
        }
    }

    private void rtnCase() {
        Random rng = new Random(1);
        int in = 37, out = 11;
        Linear l = randomLinear(rng, in, out, false);
        l.weight().data()[5 * in + 3] = 0; // and one all-zero row
        for (int k = 0; k < in; k++) l.weight().data()[7 * in + k] = 0;
        // exact ties: max|w| = 127.5 gives scale 1, so these sit exactly halfway between two codes
        float[] ties = {127.5f, -127.5f, 2.5f, -2.5f, 0.5f, -0.5f, 126.5f, -0.49999997f, 3.5f, -3.5f, 100.5f};
        for (int k = 0; k < ties.length; k++) l.weight().data()[2 * in + k] = ties[k];
        W8A16Linear q = W8A16Linear.quantize(l);
        assertEquals(1f, q.weightScale()[2]);
        assertEquals(-128, q.int8Weight()[2 * in + 1]);
        assertEquals(-3, q.int8Weight()[2 * in + 3]);
        assertEquals(1, q.int8Weight()[2 * in + 4]);
        float[] w = l.weight().data();
        for (int o = 0; o < out; o++) {
            double s = refScale(w, o * in, in);
            assertEquals(s, q.weightScale()[o], 1e-7 * s, "scale of row " + o);
            for (int k = 0; k < in; k++) assertEquals(refQuant(w[o * in + k], q.weightScale()[o]), q.int8Weight()[o * in + k], "q[" + o + "," + k + "]");
        }
        assertEquals(1f, q.weightScale()[7]);
        // the largest magnitude of each row maps to +127 or -128
        for (int o = 0; o < out; o++) {
            if (o == 7) continue;
            int maxAbs = 0;
            for (int k = 0; k < in; k++) maxAbs = Math.max(maxAbs, Math.abs(q.int8Weight()[o * in + k]));
            assertTrue(maxAbs >= 127, "row " + o + " uses the full grid");
        }
    }

    @Test
    void roundingIsHalfAwayFromZero() {
        assertEquals(3, Int8.quantize(2.5, 1f));
        assertEquals(-3, Int8.quantize(-2.5, 1f));
        assertEquals(127, Int8.quantize(1000, 1f));
        assertEquals(-128, Int8.quantize(-1000, 1f));
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void w8a16ForwardMatchesFloat64DequantizedMatmul(boolean vector) {
        boolean was = Kernels.useVector(vector);
        try {
            w8a16Case();
        } finally {
            Kernels.useVector(was);
        }
    }

    private void w8a16Case() {
        for (int rows : new int[] {1, 3, 17}) {
            Random rng = new Random(rows);
            int in = 70, out = 300;
            Linear l = randomLinear(rng, in, out, true);
            W8A16Linear q = W8A16Linear.quantize(l);
            Tensor x = Tensor.randn(rng, rows, 1, in);
            float[] y = q.forward(x).data();
            assertArrayEquals(new int[] {rows, 1, out}, q.forward(x).shape());
            for (int r = 0; r < rows; r++) {
                for (int o = 0; o < out; o++) {
                    double acc = 0;
                    for (int k = 0; k < in; k++) acc += (double) x.data()[r * in + k] * q.int8Weight()[o * in + k] * q.weightScale()[o];
                    acc += l.bias().data()[o];
                    assertEquals(acc, y[r * out + o], 1e-4 * (1 + Math.abs(acc)), "y[" + r + "," + o + "] rows=" + rows);
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void w8a8PerTokenMatchesFloat64Reference(boolean vector) {
        boolean was = Kernels.useVector(vector);
        try {
            for (int rows : new int[] {1, 6}) w8a8Case(rows);
        } finally {
            Kernels.useVector(was);
        }
    }

    private void w8a8Case(int rows) {
        Random rng = new Random(5);
        int in = 50, out = 40;
        Linear l = randomLinear(rng, in, out, true);
        W8A8Linear q = W8A8Linear.quantize(l, ActGranularity.PER_TOKEN, 0);
        Tensor x = Tensor.randn(rng, rows, in);
        x.data()[(rows - 1) * in + 4] = 40f; // an outlier token only affects its own row's scale
        float[] y = q.forward(x).data();
        for (int r = 0; r < rows; r++) {
            double as = refScale(x.data(), r * in, in);
            for (int o = 0; o < out; o++) {
                long acc = 0;
                for (int k = 0; k < in; k++) acc += (long) refQuant(x.data()[r * in + k], (float) as) * q.int8Weight()[o * in + k];
                double ref = acc * as * q.weightScale()[o] + l.bias().data()[o];
                assertEquals(ref, y[r * out + o], 1e-5 * (1 + Math.abs(ref)), "y[" + r + "," + o + "]");
            }
        }
    }

    @Test
    void w8a8StaticUsesTheCalibratedScaleAndClips() {
        Random rng = new Random(6);
        int in = 16, out = 8;
        Linear l = randomLinear(rng, in, out, false);
        double calibMax = 2.0;
        W8A8Linear q = W8A8Linear.quantize(l, ActGranularity.PER_TENSOR, calibMax);
        assertEquals(calibMax / 127.5, q.inputScale(), 1e-7);
        Tensor x = Tensor.randn(rng, 3, in);
        x.data()[0] = 10f; // beyond the calibrated range: clipped to 127·scale
        float[] y = q.forward(x).data();
        double as = q.inputScale();
        for (int r = 0; r < 3; r++) {
            for (int o = 0; o < out; o++) {
                long acc = 0;
                for (int k = 0; k < in; k++) acc += (long) refQuant(x.data()[r * in + k], as) * q.int8Weight()[o * in + k];
                assertEquals(acc * as * q.weightScale()[o], y[r * out + o], 1e-5);
            }
        }
    }

    @Test
    void w8a8CloseToFloatLayerWithoutOutliers() {
        Random rng = new Random(9);
        Linear l = randomLinear(rng, 64, 32, false);
        Tensor x = Tensor.randn(rng, 4, 64);
        float[] ref = l.forward(x).data();
        float[] y = W8A8Linear.quantize(l, ActGranularity.PER_TOKEN, 0).forward(x).data();
        double err = 0, norm = 0;
        for (int i = 0; i < ref.length; i++) {
            err += (ref[i] - y[i]) * (ref[i] - y[i]);
            norm += ref[i] * ref[i];
        }
        assertTrue(Math.sqrt(err / norm) < 0.02, "relative error " + Math.sqrt(err / norm));
    }

    @Test
    void nonFiniteInputsAreRejected() {
        Random rng = new Random(2);
        Linear l = randomLinear(rng, 8, 4, false);
        l.weight().data()[3] = Float.NaN;
        var e = assertThrows(IllegalArgumentException.class, () -> W8A16Linear.quantize(l));
        assertTrue(e.getMessage().contains("non-finite"), e.getMessage());
        Linear ok = randomLinear(rng, 8, 4, false);
        Tensor x = Tensor.zeros(1, 8);
        x.data()[2] = Float.POSITIVE_INFINITY;
        assertThrows(ArithmeticException.class, () -> W8A8Linear.quantize(ok, ActGranularity.PER_TOKEN, 0).forward(x));
        assertThrows(IllegalArgumentException.class, () -> W8A16Linear.quantize(ok).forward(Tensor.zeros(1, 9)));
    }
}
