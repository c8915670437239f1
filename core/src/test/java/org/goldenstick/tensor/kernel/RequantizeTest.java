package org.goldenstick.tensor.kernel;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import org.junit.jupiter.api.extension.ExtendWith;

/** Requantize against an independent BigDecimal HALF_EVEN reference, both paths. */
@ExtendWith(KernelSettings.class)
class RequantizeTest {

    static int ref(float v, int zp, boolean unsigned) {
        int r = new BigDecimal(v).setScale(0, RoundingMode.HALF_EVEN).intValueExact() + zp;
        return Math.max(unsigned ? 0 : -128, Math.min(unsigned ? 255 : 127, r));
    }

    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void quantizeLinearRoundsHalfToEvenAndSaturates(boolean vector) {
        Kernels.useVector(vector);
        Random rnd = new Random(1);
        for (boolean unsigned : new boolean[] {false, true}) {
            int n = 203;
            float[] x = new float[n];
            for (int i = 0; i < n; i++) x[i] = i < 40 ? (i - 20) * 0.5f : (float) rnd.nextGaussian() * 200f;  // exact ties first
            float scale = 0.5f;
            int zp = unsigned ? 128 : -3;
            byte[] out = new byte[n + 2];
            Requantize.quantizeLinear(x, 0, n, scale, zp, unsigned, out, 1);
            for (int i = 0; i < n; i++) {
                int got = unsigned ? out[1 + i] & 0xFF : out[1 + i];
                assertEquals(ref(x[i] / scale, zp, unsigned), got, "x=" + x[i] + " unsigned=" + unsigned);
            }
        }
        assertEquals(0, Requantize.quantize(0.5f, 1f, 0, false));
        assertEquals(2, Requantize.quantize(1.5f, 1f, 0, false));
        assertEquals(-2, Requantize.quantize(-2.5f, 1f, 0, false));
    }

    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void requantizeWithBiasAndPerColumnMultiplier(boolean vector) {
        Kernels.useVector(vector);
        Random rnd = new Random(2);
        int m = 5, n = 37;
        int[] acc = new int[m * n];
        for (int i = 0; i < acc.length; i++) acc[i] = rnd.nextInt(40001) - 20000;
        acc[3] = 50;                                   // with multiplier 0.01 → 0.5 → ties to 0
        int[] bias = new int[n];
        for (int j = 0; j < n; j++) bias[j] = rnd.nextInt(201) - 100;
        bias[3] = 0;
        for (boolean unsigned : new boolean[] {false, true}) {
            for (float[] mult : new float[][] {{0.01f}, perCol(rnd, n)}) {
                if (mult.length == n) mult[3] = 0.01f;
                int zp = unsigned ? 10 : 0;
                byte[] out = new byte[m * n];
                Requantize.requantize(m, n, acc, 0, n, mult, bias, zp, unsigned, out, 0, n);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++) {
                        float v = (acc[i * n + j] + bias[j]) * mult[mult.length == 1 ? 0 : j];
                        int got = unsigned ? out[i * n + j] & 0xFF : out[i * n + j];
                        assertEquals(ref(v, zp, unsigned), got, "acc=" + acc[i * n + j] + " j=" + j);
                    }
            }
        }
    }

    static float[] perCol(Random rnd, int n) {
        float[] m = new float[n];
        for (int j = 0; j < n; j++) m[j] = 0.001f + rnd.nextFloat() * 0.02f;
        return m;
    }
    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void requantizeRowWritesCodesAndTheirDequantizedValues(boolean vector) {
        Kernels.useVector(vector);
        Random rnd = new Random(3);
        for (boolean unsigned : new boolean[] {false, true}) {
            for (int len : new int[] {1, 7, 16, 28, 45}) { // shorter than a vector, whole vectors, a masked tail
                int[] acc = new int[len + 3];
                for (int i = 0; i < acc.length; i++) acc[i] = rnd.nextInt(60001) - 30000;
                acc[2] = 45;                                          // (45 + 5) · 0.01 = 0.5: ties to even
                int add = 5, zp = unsigned ? 7 : -4, minCode = unsigned ? 0 : -127; // a narrow signed range's clamp
                float mult = 0.01f, scale = 0.25f;
                byte[] out = new byte[len + 4];
                float[] values = new float[len + 4];
                Requantize.requantizeRow(acc, 2, len, add, mult, zp, unsigned, minCode, scale, out, 1, values, 3);
                for (int i = 0; i < len; i++) {
                    int want = ref((acc[2 + i] + add) * mult, zp, unsigned);
                    int got = unsigned ? out[1 + i] & 0xFF : out[1 + i];
                    assertEquals(want, got, "code " + i + " of " + len + " unsigned=" + unsigned);
                    assertEquals((Math.max(want, minCode) - zp) * scale, values[3 + i], "value " + i + " of " + len);
                }
                assertEquals(0, out[0], "nothing written before the row");
                assertEquals(0, out[1 + len], "nothing written past the row");
                assertEquals(0f, values[3 + len]);
            }
        }
    }
}
