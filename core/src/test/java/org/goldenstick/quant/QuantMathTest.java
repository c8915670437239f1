package org.goldenstick.quant;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Map;
import java.util.Random;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;

class QuantMathTest {
    @Test
    void quantRangeMatchesUpstreamTable() {
        assertArrayEquals(new int[] {-128, 127}, QuantMath.quantRange(8, true, false));
        assertArrayEquals(new int[] {-127, 127}, QuantMath.quantRange(8, true, true));
        assertArrayEquals(new int[] {0, 255}, QuantMath.quantRange(8, false, false));
        assertArrayEquals(new int[] {1, 15}, QuantMath.quantRange(4, false, true));
        assertThrows(IllegalArgumentException.class, () -> QuantMath.quantRange(0, true, false));
    }

    @Test
    void allEqualRangesGiveScaleOneZeroPointZero() {
        QuantParams p = QuantMath.calQuantizationParams(new float[] {1, 1, 1, 1, 1, 1}, new float[] {1, 1, 1, 1, 1, 1}, 8, true, true, false, 0);
        for (int c = 0; c < 6; c++) {
            assertEquals(1f, p.scale()[c]);
            assertEquals(0, p.zeroPoint()[c]);
        }
    }

    @Test
    void symmetricAndAsymmetricScalesFollowTheFormula() {
        // symmetric signed int8: scale = 2·max(|min|,|max|)/255, zp 0 (not M/127)
        QuantParams s = QuantMath.calQuantizationParams(new float[] {-0.5f, -3f}, new float[] {2f, 1f}, 8, true, true, false, 0);
        assertEquals(4.0 / 255, s.scale()[0], 1e-7);
        assertEquals(6.0 / 255, s.scale()[1], 1e-7);
        assertArrayEquals(new int[] {0, 0}, s.zeroPoint());
        // asymmetric unsigned: scale = (max-min)/255, zp = round(0 - min/scale)
        QuantParams a = QuantMath.calQuantizationParams(new float[] {-1f}, new float[] {3f}, 8, false, false, false, -1);
        assertEquals(4.0 / 255, a.scale()[0], 1e-7);
        assertEquals(Math.round(1.0 / (4.0 / 255)), a.zeroPoint()[0]); // 63.75 -> 64
        // asymmetric signed: zp = round(-128 - min/scale)
        QuantParams b = QuantMath.calQuantizationParams(new float[] {-1f}, new float[] {3f}, 8, true, false, false, -1);
        assertEquals(-128 + 64, b.zeroPoint()[0]);
        assertThrows(IllegalArgumentException.class, () -> QuantMath.calQuantizationParams(new float[2], new float[3], 8, true, true, false, 0));
    }

    @Test
    void quantizePerChannelMatchesFloat64Reference() {
        Random rng = new Random(3);
        int oc = 4, per = 18;
        float[] w = new float[oc * per];
        for (int i = 0; i < w.length; i++) w[i] = (float) rng.nextGaussian() * (1 + i / per);
        float[] mins = new float[oc], maxs = new float[oc];
        for (int c = 0; c < oc; c++) {
            mins[c] = Float.MAX_VALUE;
            maxs[c] = -Float.MAX_VALUE;
            for (int j = 0; j < per; j++) {
                mins[c] = Math.min(mins[c], w[c * per + j]);
                maxs[c] = Math.max(maxs[c], w[c * per + j]);
            }
        }
        QuantParams p = QuantMath.calQuantizationParams(mins, maxs, 8, true, true, false, 0);
        int[] q = QuantMath.quantize(w, new int[] {oc, 2, 3, 3}, p);
        for (int i = 0; i < w.length; i++) {
            int c = i / per;
            double m = Math.max(Math.abs((double) mins[c]), Math.abs((double) maxs[c]));
            double scale = p.scale()[c]; // the float32 scale; its formula is checked here:
            assertEquals(2 * m / 255, scale, 1e-6 * scale);
            double v = w[i] / scale;
            double ref = Math.max(-128, Math.min(127, Math.signum(v) * Math.floor(Math.abs(v) + 0.5))); // half away from zero
            assertEquals(ref, q[i], 0.0, "element " + i);
        }
        float[] dq = QuantMath.dequantize(q, new int[] {oc, 2, 3, 3}, p);
        for (int i = 0; i < w.length; i++) assertEquals(w[i], dq[i], p.scale()[i / per] / 2 + 1e-6);
        assertThrows(IllegalArgumentException.class, () -> QuantMath.quantize(w, new int[] {3, 24}, p));
    }

    @Test
    void foldBatchNormMatchesDefinition() {
        float[] w = {1, 2, 3, 4};
        float[][] f = QuantMath.foldBatchNorm(w, 2, null, new float[] {2, 0.5f}, new float[] {0.1f, -1}, new float[] {1, 2}, new float[] {3, 0.25f}, 1f);
        double s0 = 2 / Math.sqrt(4), s1 = 0.5 / Math.sqrt(1.25);
        assertArrayEquals(new float[] {(float) (1 * s0), (float) (2 * s0), (float) (3 * s1), (float) (4 * s1)}, f[0], 1e-6f);
        assertArrayEquals(new float[] {(float) (0.1 - s0), (float) (-1 - 2 * s1)}, f[1], 1e-6f);
    }

    @Test
    void metadataRoundTrips() {
        QuantParams p = QuantMath.calQuantizationParams(new float[] {-1f, -2f}, new float[] {1f, 0.5f}, 8, true, true, true, 0);
        Map<String, String> m = p.toMetadata("conv.w.");
        assertEquals("linear_quant_algo", m.get("conv.w.quant_algo_name"));
        assertEquals(p, QuantParams.fromMetadata("conv.w.", m));
        assertThrows(IllegalArgumentException.class, () -> QuantParams.fromMetadata("x.", m));
    }

    @Test
    void observersTrackRanges() {
        var mm = new MinMaxObserver();
        mm.forward(Tensor.of(new float[] {-1, 2}, 2));
        mm.forward(Tensor.of(new float[] {0.5f, 4}, 2));
        assertArrayEquals(new float[] {-1}, mm.mins());
        assertArrayEquals(new float[] {4}, mm.maxs());
        var ema = new MovingAverageMinMaxObserver(0.5f);
        ema.forward(Tensor.of(new float[] {-1, 2}, 2));
        ema.forward(Tensor.of(new float[] {-3, 4}, 2));
        assertArrayEquals(new float[] {-2}, ema.mins());
        assertArrayEquals(new float[] {3}, ema.maxs());
        var pc = new PerChannelMinMaxObserver(1, 3);
        Tensor x = Tensor.of(new float[] {1, -2, 3, -4, 5, 6}, 2, 3);
        assertSame(x, pc.forward(x));
        assertArrayEquals(new float[] {-4, -2, 3}, pc.mins());
        assertArrayEquals(new float[] {1, 5, 6}, pc.maxs());
        assertThrows(IllegalStateException.class, () -> new MinMaxObserver().quantParams(QuantSpec.int8Symmetric()));
        QuantParams p = pc.quantParams(QuantSpec.int8Symmetric());
        assertEquals(3, p.channels());
        assertEquals(8.0 / 255, p.scale()[0], 1e-7);
    }
}
