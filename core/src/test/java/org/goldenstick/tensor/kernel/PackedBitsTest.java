package org.goldenstick.tensor.kernel;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;
import org.junit.jupiter.api.extension.ExtendWith;

/** PackedBits storage and kernels against a float64 reference built from the raw indices. */
@ExtendWith(KernelSettings.class)
class PackedBitsTest {

    @Test
    void packingRoundTripsEveryIndex() {
        Random rnd = new Random(1);
        for (int bits : new int[] {1, 2, 4}) {
            int rows = 3, cols = 301;
            int[] idx = new int[rows * cols];
            for (int i = 0; i < idx.length; i++) idx[i] = rnd.nextInt(1 << bits);
            PackedBits w = PackedBits.pack(bits, idx, rows, cols, new float[] {1, 2, 3}, PackedBits.linspaceLevels(bits));
            for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) assertEquals(idx[r * cols + c], w.index(r, c));
            assertEquals(0, w.rowBytes() % 16);
            assertEquals((long) rows * w.rowBytes(), w.packedBytes());
            assertEquals(Math.ceil(cols * bits / 8.0 / 16) * 16, w.rowBytes());
        }
        assertArrayEquals(new float[] {-1, 1}, PackedBits.linspaceLevels(1));
        assertArrayEquals(new float[] {-1, -1f / 3, 1f / 3, 1}, PackedBits.linspaceLevels(2), 1e-7f);
    }

    static void check(Random rnd, int bits, int m, int rows, int cols, float[] levels, boolean acc) {
        int[] idx = new int[rows * cols];
        for (int i = 0; i < idx.length; i++) idx[i] = rnd.nextInt(1 << bits);
        float[] scales = new float[rows];
        for (int r = 0; r < rows; r++) scales[r] = 0.01f + rnd.nextFloat();
        PackedBits w = PackedBits.pack(bits, idx, rows, cols, scales, levels);
        int ldx = cols + rnd.nextInt(2), ldy = rows + rnd.nextInt(2), xOff = rnd.nextInt(3), yOff = rnd.nextInt(3);
        float[] x = new float[xOff + m * ldx];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        float[] y = new float[yOff + m * ldy];
        for (int i = 0; i < y.length; i++) y[i] = (float) rnd.nextGaussian();
        float[] y0 = y.clone();
        if (m == 1 && rnd.nextBoolean()) PackedBitsKernels.gemv(w, x, xOff, y, yOff, acc);
        else PackedBitsKernels.gemm(m, x, xOff, ldx, w, y, yOff, ldy, acc);
        for (int i = 0; i < m; i++)
            for (int r = 0; r < rows; r++) {
                double s = 0, mag = 0;
                for (int c = 0; c < cols; c++) {
                    double t = (double) scales[r] * levels[idx[r * cols + c]] * x[xOff + i * ldx + c];
                    s += t;
                    mag += Math.abs(t);
                }
                int o = yOff + i * ldy + r;
                if (acc) {
                    s += y0[o];
                    mag += Math.abs(y0[o]);
                }
                if (Math.abs(y[o] - s) > 1e-5 * mag + 1e-6) {
                    fail(String.format("bits=%d m=%d [%d,%d] vector=%b: y[%d,%d]=%g expected %g", bits, m, rows, cols, Kernels.vector(), i, r, y[o], s));
                }
            }
    }

    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void linspaceLevelsAllWidthsAndShapes(boolean vector) {
        Kernels.useVector(vector);
        Random rnd = new Random(vector ? 51 : 52);
        for (int bits : new int[] {1, 2, 4})
            for (int[] s : new int[][] {{1, 1}, {5, 128}, {33, 300}, {64, 512}, {2, 17}})
                for (int m : new int[] {1, 3, 40}) check(rnd, bits, m, s[0], s[1], PackedBits.linspaceLevels(bits), rnd.nextBoolean());
    }

    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void nonAffineLevelTableUsesTheDecodePath(boolean vector) {
        Kernels.useVector(vector);
        Random rnd = new Random(8);
        float[] levels = {-1f, -0.2f, 0.1f, 0.9f};
        check(rnd, 2, 1, 70, 300, levels, false);
        check(rnd, 2, 7, 70, 300, levels, true);
    }

    @Test
    void quantizePicksTheNearestLevel() {
        float[] w = {-0.9f, 0.2f, 0.4f, 2f};
        PackedBits p = PackedBits.quantize(2, w, 1, 4, new float[] {1f}, PackedBits.linspaceLevels(2));
        assertArrayEquals(new int[] {0, 2, 2, 3}, new int[] {p.index(0, 0), p.index(0, 1), p.index(0, 2), p.index(0, 3)});
    }

    @Test
    void rejectsBadInput() {
        assertThrows(IllegalArgumentException.class, () -> PackedBits.pack(3, new int[4], 1, 4, new float[1], new float[8]));
        assertThrows(IllegalArgumentException.class, () -> PackedBits.pack(1, new int[] {0, 2}, 1, 2, new float[1], new float[2]));
        assertThrows(IllegalArgumentException.class, () -> PackedBits.pack(2, new int[4], 1, 4, new float[1], new float[2]));
    }
}
