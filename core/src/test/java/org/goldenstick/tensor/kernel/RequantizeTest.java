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

    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void requantizeRowsOfAPaddedPlaneSpillOnlyWhereAllowed(boolean vector) {
        Kernels.useVector(vector);
        Random rnd = new Random(4);
        for (boolean unsigned : new boolean[] {false, true}) {
            for (int[] g : new int[][] {{28, 32, 28}, {10, 14, 10}, {4, 6, 4}, {17, 17, 3}}) { // cols, pitch, rows
                int cols = g[0], pitch = g[1], rows = g[2], n = rows * cols, extra = 40;
                int[] acc = new int[rows * pitch + 2];
                for (int i = 0; i < acc.length; i++) acc[i] = rnd.nextInt(60001) - 30000;
                int add = -3, zp = unsigned ? 128 : 3, minCode = unsigned ? 0 : -128;
                float mult = 0.007f, scale = 0.1f;
                int[][] bounds = {{unsigned ? 0 : -128, unsigned ? 255 : 127}, {zp, unsigned ? 255 : 127}}; // the type's range; a ReLU
                for (int[] lohi : bounds)
                for (int room : new int[] {n, n + extra}) { // the plane ends the image; later planes follow
                    byte[] out = new byte[n + extra + 2];
                    float[] values = new float[n + extra + 2];
                    java.util.Arrays.fill(out, (byte) 99);
                    java.util.Arrays.fill(values, 99f);
                    Requantize.requantizeRows(acc, 1, pitch, rows, cols, add, mult, zp, unsigned, lohi[0], lohi[1], minCode, scale, out, 2, values, 2, room);
                    for (int r = 0; r < rows; r++) {
                        for (int c = 0; c < cols; c++) {
                            int want = Math.max(lohi[0], ref((acc[1 + r * pitch + c] + add) * mult, zp, unsigned)), at = 2 + r * cols + c;
                            assertEquals(want, unsigned ? out[at] & 0xFF : out[at], "code r" + r + " c" + c + " room " + room);
                            assertEquals((Math.max(want, minCode) - zp) * scale, values[at], "value r" + r + " c" + c);
                        }
                    }
                    assertEquals(99, out[1], "nothing before the plane");
                    for (int i = 2 + room; i < out.length; i++) assertEquals(99, out[i], "nothing past the room, at " + i);
                    for (int i = 2 + room; i < values.length; i++) assertEquals(99f, values[i], "no value past the room, at " + i);
                }
            }
        }
    }

    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void quantizeRowClampsCodesAndWritesTheirValues(boolean vector) {
        Kernels.useVector(vector);
        Random rnd = new Random(5);
        for (boolean unsigned : new boolean[] {false, true}) {
            int zp = unsigned ? 20 : -10, lo = zp, hi = unsigned ? 200 : 90; // ReLU6-like bounds
            float scale = 0.05f;
            for (int len : new int[] {3, 16, 50}) {
                float[] x = new float[len + 1];
                for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextGaussian() * 8);
                x[1] = 0.025f; // half a step: ties to even
                byte[] out = new byte[len + 1];
                float[] values = new float[len + 1];
                Requantize.quantizeRow(x, 1, len, scale, zp, unsigned, lo, hi, lo, out, 0, values, 1);
                for (int i = 0; i < len; i++) {
                    int want = Math.max(lo, Math.min(hi, ref(x[1 + i] / scale, zp, unsigned)));
                    assertEquals(want, unsigned ? out[i] & 0xFF : out[i], "code " + i);
                    assertEquals((want - zp) * scale, values[1 + i], "value " + i);
                }
            }
        }
    }
}
