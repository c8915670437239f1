package org.goldenstick.quant;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.goldenstick.tensor.Conv2dSpec;
import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** Int8 deploy layers against float references computed on the dequantized operands. */
class DeployLayersTest {
    static QuantParams perChannelSym(float[] w, int oc) {
        int per = w.length / oc;
        float[] lo = new float[oc], hi = new float[oc];
        for (int c = 0; c < oc; c++) {
            lo[c] = Float.MAX_VALUE;
            hi[c] = -Float.MAX_VALUE;
            for (int j = 0; j < per; j++) {
                lo[c] = Math.min(lo[c], w[c * per + j]);
                hi[c] = Math.max(hi[c], w[c * per + j]);
            }
        }
        return QuantMath.calQuantizationParams(lo, hi, 8, true, true, false, 0);
    }

    static double quantDequant(double v, QuantParams p) {
        double q = Math.max(p.qmin(), Math.min(p.qmax(), Math.floor(Math.abs(v / p.scale()[0]) + 0.5) * Math.signum(v) + p.zeroPoint()[0]));
        return (q - p.zeroPoint()[0]) * p.scale()[0];
    }

    @Test
    void int8GemmMatchesIntegerDefinition() {
        Random rng = new Random(1);
        int m = 5, n = 7, k = 300;
        byte[] a = new byte[m * k], b = new byte[n * k];
        rng.nextBytes(a);
        rng.nextBytes(b);
        int[] za = {17}, zb = new int[n];
        for (int j = 0; j < n; j++) zb[j] = rng.nextInt(256) - 128;
        int[] c = new int[m * n];
        Int8Ops.gemm(m, n, k, a, true, za, b, true, false, zb, c);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                long s = 0;
                for (int p = 0; p < k; p++) s += (long) ((a[i * k + p] & 0xFF) - za[0]) * (b[j * k + p] - zb[j]);
                assertEquals(s, c[i * n + j]);
            }
        }
    }

    @Test
    void qlinearMatchesFloatReferenceOnDequantizedOperands() {
        Random rng = new Random(2);
        int in = 20, out = 6, m = 9;
        Tensor w = Tensor.randn(rng, out, in), b = Tensor.randn(rng, out), x = Tensor.randn(rng, m, in);
        QuantParams wp = perChannelSym(w.data(), out);
        QuantParams ip = QuantMath.calQuantizationParams(new float[] {-3f}, new float[] {3.5f}, 8, false, false, false, -1);
        QuantParams op = QuantMath.calQuantizationParams(new float[] {-8f}, new float[] {9f}, 8, false, false, false, -1);
        QLinear q = QLinear.quantize(w, b, wp, ip, op);
        float[] y = q.forward(x).data();
        float[] wdq = QuantMath.dequantize(QuantMath.quantize(w.data(), w.shape(), wp), w.shape(), wp);
        int close = 0;
        for (int i = 0; i < m; i++) {
            for (int o = 0; o < out; o++) {
                double s = 0;
                for (int p = 0; p < in; p++) s += quantDequant(x.data()[i * in + p], ip) * wdq[o * in + p];
                s += q.biasInt32()[o] * (double) ip.scale()[0] * wp.scale()[o];
                double ref = quantDequant(s, op);
                assertEquals(ref, y[i * out + o], op.scale()[0] * 1.0001, "at " + i + "," + o); // at most one step at a tie
                if (Math.abs(ref - y[i * out + o]) < 1e-5) close++;
            }
        }
        assertTrue(close >= m * out - 1, "almost all outputs identical, got " + close);
        boolean was = org.goldenstick.tensor.kernel.Kernels.useVector(false);
        try {
            assertArrayEquals(y, q.forward(x).data(), "scalar and vector kernels must agree exactly");
        } finally {
            org.goldenstick.tensor.kernel.Kernels.useVector(was);
        }
    }

    @Test
    void qconv2dMatchesFloatConvOnDequantizedOperands() {
        Random rng = new Random(3);
        for (int groups : new int[] {1, 2}) {
            Tensor w = Tensor.randn(rng, 4, 6 / groups, 3, 3), b = Tensor.randn(rng, 4), x = Tensor.uniform(rng, -1, 2, 2, 6, 7, 5);
            Conv2dSpec spec = new Conv2dSpec(2, 1, 1, 0, 1, 2, 1, 1, groups);
            QuantParams wp = perChannelSym(w.data(), 4);
            QuantParams ip = QuantMath.calQuantizationParams(new float[] {-1f}, new float[] {2f}, 8, false, false, false, -1);
            QConv2d q = QConv2d.quantize(w, b, spec, wp, ip, null); // float output: compare directly
            float[] xdq = Int8Ops.dequantizeActivations(Int8Ops.quantizeActivations(x.data(), ip), ip);
            float[] wdq = QuantMath.dequantize(QuantMath.quantize(w.data(), w.shape(), wp), w.shape(), wp);
            float[] bdq = new float[4];
            for (int c = 0; c < 4; c++) bdq[c] = q.biasInt32()[c] * ip.scale()[0] * wp.scale()[c];
            Tensor ref = Functional.conv2d(Tensor.of(xdq, x.shape()), Tensor.of(wdq, w.shape()), Tensor.of(bdq, 4), spec);
            Tensor y = q.forward(x);
            assertArrayEquals(ref.shape(), y.shape());
            for (int i = 0; i < ref.numel(); i++) assertEquals(ref.data()[i], y.data()[i], 1e-4, "groups " + groups + " element " + i);
        }
    }
}
