package org.goldenstick.tensor.kernel;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;
import org.junit.jupiter.api.extension.ExtendWith;

/** W8A8: per-token quantisation, exact int32 products and the float rescale, against references. */
@ExtendWith(KernelSettings.class)
class W8A8KernelsTest {

    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void quantizeMultiplyRescale(boolean vector) {
        Kernels.useVector(vector);
        Random rnd = new Random(vector ? 41 : 42);
        for (int[] s : new int[][] {{1, 100, 700}, {1, 5, 17}, {9, 70, 300}, {3, 1, 1}, {16, 33, 520}, {17, 9, 40}}) {
            int m = s[0], n = s[1], k = s[2];
            float[] x = new float[m * k], wf = new float[n * k];
            for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian() * (i % 7 == 0 ? 5 : 1);
            for (int i = 0; i < wf.length; i++) wf[i] = (float) rnd.nextGaussian();
            Int8Weights w = Int8Weights.quantize(wf, n, k, k);
            W8A8Kernels.QuantizedActivations xq = W8A8Kernels.quantizePerToken(x, 0, m, k);
            for (int i = 0; i < m; i++) {
                float max = 0;
                for (int c = 0; c < k; c++) max = Math.max(max, Math.abs(x[i * k + c]));
                assertEquals(max / 127f, xq.scales()[i]);
                for (int c = 0; c < k; c++) {
                    int want = new BigDecimal(x[i * k + c] / xq.scales()[i]).setScale(0, RoundingMode.HALF_EVEN).intValueExact();
                    assertEquals(Math.max(-128, Math.min(127, want)), xq.data()[i * k + c]);
                }
            }
            int[] acc = W8A8Kernels.int32Product(xq, w);
            float[] y = new float[m * n];
            W8A8Kernels.linear(xq, w, y, 0, n);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    long ref = 0;
                    for (int c = 0; c < k; c++) ref += (long) xq.data()[i * k + c] * w.q(j, c);
                    assertEquals(ref, acc[i * n + j], "int32 product m=" + m + " n=" + n + " k=" + k);
                    double yr = ref * (double) xq.scales()[i] * w.scales()[j];
                    if (Math.abs(y[i * n + j] - yr) > 1e-6 * Math.abs(yr) + 1e-12) fail("rescale " + y[i * n + j] + " vs " + yr);
                }
        }
    }

    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void approximatesTheFloatLinear(boolean vector) {
        Kernels.useVector(vector);
        Random rnd = new Random(5);
        int m = 4, n = 32, k = 256;
        float[] x = new float[m * k], wf = new float[n * k];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        for (int i = 0; i < wf.length; i++) wf[i] = (float) rnd.nextGaussian();
        float[] y = new float[m * n];
        W8A8Kernels.linear(m, x, 0, Int8Weights.quantize(wf, n, k, k), y, 0, n);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double ref = 0;
                for (int c = 0; c < k; c++) ref += (double) x[i * k + c] * wf[j * k + c];
                // 8-bit on both sides: a few percent of sqrt(k) is the expected error scale.
                if (Math.abs(y[i * n + j] - ref) > 0.05 * Math.sqrt(k)) fail("y=" + y[i * n + j] + " ref=" + ref);
            }
    }

    @org.junit.jupiter.api.Test
    void groupedWeightsAreRejected() {
        Int8Weights g = Int8Weights.quantize(new float[64], 2, 32, 16);
        assertThrows(IllegalArgumentException.class, () -> W8A8Kernels.linear(1, new float[32], 0, g, new float[2], 0, 2));
    }
}
