package org.goldenstick.tensor.kernel;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;
import org.junit.jupiter.api.extension.ExtendWith;

/** W8A16 GEMV/GEMM against a float64 reference over the raw int8 values and scales. */
@ExtendWith(KernelSettings.class)
class W8A16KernelsTest {

    static Int8Weights randomWeights(Random rnd, int rows, int cols, int group, MemorySegment seg, long off) {
        int groups = (cols + group - 1) / group;
        float[] scales = new float[rows * groups];
        for (int i = 0; i < scales.length; i++) scales[i] = 0.001f + rnd.nextFloat() * 0.05f;
        for (long i = 0; i < (long) rows * cols; i++) seg.set(java.lang.foreign.ValueLayout.JAVA_BYTE, off + i, (byte) (rnd.nextInt(256) - 128));
        return new Int8Weights(seg, off, rows, cols, scales, group);
    }

    static void check(Random rnd, int m, Int8Weights w, boolean acc) {
        int ldx = w.cols() + rnd.nextInt(3), ldy = w.rows() + rnd.nextInt(3), xOff = rnd.nextInt(3), yOff = rnd.nextInt(3);
        float[] x = new float[xOff + m * ldx];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        float[] y = new float[yOff + m * ldy];
        for (int i = 0; i < y.length; i++) y[i] = (float) rnd.nextGaussian();
        float[] y0 = y.clone();
        if (m == 1 && rnd.nextBoolean()) W8A16Kernels.gemv(w, x, xOff, y, yOff, acc);
        else W8A16Kernels.gemm(m, x, xOff, ldx, w, y, yOff, ldy, acc);
        for (int i = 0; i < m; i++)
            for (int r = 0; r < w.rows(); r++) {
                double s = 0, mag = 0;
                for (int c = 0; c < w.cols(); c++) {
                    double t = (double) w.q(r, c) * w.scales()[r * w.groups() + c / w.groupSize()] * x[xOff + i * ldx + c];
                    s += t;
                    mag += Math.abs(t);
                }
                int o = yOff + i * ldy + r;
                if (acc) {
                    s += y0[o];
                    mag += Math.abs(y0[o]);
                }
                if (Math.abs(y[o] - s) > 1e-5 * mag + 1e-6) {
                    fail(String.format("m=%d rows=%d cols=%d group=%d vector=%b: y[%d,%d]=%g expected %g", m, w.rows(), w.cols(), w.groupSize(), Kernels.vector(), i, r, y[o], s));
                }
            }
    }

    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void perChannelAndGroupedShapes(boolean vector) {
        Kernels.useVector(vector);
        Random rnd = new Random(vector ? 31 : 32);
        int[][] shapes = {{1, 1}, {7, 33}, {64, 128}, {33, 300}, {130, 257}, {2, 16}, {3, 1000}};
        for (int[] s : shapes) {
            for (int group : new int[] {s[1], 32, 20, 128}) {
                if (group > s[1]) continue;
                byte[] heap = new byte[s[0] * s[1] + 5];
                Int8Weights w = randomWeights(rnd, s[0], s[1], group, MemorySegment.ofArray(heap), 5 % (heap.length - s[0] * s[1] + 1));
                for (int m : new int[] {1, 2, 7, 16, 100}) check(rnd, m, w, rnd.nextBoolean());
            }
        }
    }

    @Test
    void mappedStyleOffHeapWeightsOnTwoThreads() {
        Parallel.setThreads(2);
        Random rnd = new Random(7);
        try (Arena arena = Arena.ofShared()) {
            int rows = 301, cols = 512;
            MemorySegment seg = arena.allocate((long) rows * cols + 64, 64);
            Int8Weights w = randomWeights(rnd, rows, cols, 128, seg, 64);
            check(rnd, 1, w, false);
            check(rnd, 64, w, true);
        }
    }

    @Test
    void quantizeRoundTripIsWithinHalfAStep() {
        Random rnd = new Random(9);
        int rows = 5, cols = 70;
        float[] wf = new float[rows * cols];
        for (int i = 0; i < wf.length; i++) wf[i] = (float) rnd.nextGaussian();
        for (int group : new int[] {cols, 16}) {
            Int8Weights w = Int8Weights.quantize(wf, rows, cols, group);
            float[] back = w.dequantize();
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++) {
                    float s = w.scale(r, c);
                    if (Math.abs(back[r * cols + c] - wf[r * cols + c]) > 0.5f * s * 1.0001f) fail("error above half a step at " + r + "," + c);
                }
            // The largest |w| of each group maps to ±127.
            int maxQ = 0;
            for (int c = 0; c < cols; c++) maxQ = Math.max(maxQ, Math.abs(w.q(0, c)));
            assertEquals(127, maxQ);
        }
    }

    @Test
    void rejectsMismatchedScalesAndVectors() {
        assertThrows(IllegalArgumentException.class, () -> Int8Weights.perChannel(new byte[6], 2, 3, new float[3]));
        Int8Weights w = Int8Weights.perChannel(new byte[6], 2, 3, new float[2]);
        assertThrows(IllegalArgumentException.class, () -> W8A16Kernels.gemv(w, new float[2], 0, new float[2], 0, false));
    }
}
