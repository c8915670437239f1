package org.goldenstick.tensor.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Float weights read in place (F32, BF16, F16 little-endian, off-heap and heap segments) against a float64 reference
 * computed from the element bits decoded by the format definitions, for the vector and scalar paths.
 */
@ExtendWith(KernelSettings.class)
class FloatWeightKernelsTest {

    /** Random weights of {@code enc} written into {@code seg} at {@code off}; returns their exact float values. */
    static double[] fill(Random rnd, MemorySegment seg, long off, int n, FloatWeights.Encoding enc) {
        double[] exact = new double[n];
        for (int i = 0; i < n; i++) {
            float f = (float) rnd.nextGaussian();
            switch (enc) {
                case F32 -> {
                    seg.set(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), off + 4L * i, f);
                    exact[i] = f;
                }
                case BF16 -> {
                    short bits = (short) (Float.floatToRawIntBits(f) >>> 16); // truncation: any bf16 pattern will do
                    seg.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), off + 2L * i, bits);
                    exact[i] = Float.intBitsToFloat((bits & 0xFFFF) << 16);
                }
                case F16 -> {
                    short bits = Float.floatToFloat16(f);
                    seg.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), off + 2L * i, bits);
                    exact[i] = Float.float16ToFloat(bits);
                }
            }
        }
        return exact;
    }

    private static void check(Random rnd, int m, FloatWeights w, double[] exact, boolean acc) {
        int ldx = w.cols() + rnd.nextInt(3), ldy = w.rows() + rnd.nextInt(3), xOff = rnd.nextInt(3), yOff = rnd.nextInt(3);
        float[] x = new float[xOff + m * ldx];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        float[] y = new float[yOff + m * ldy];
        for (int i = 0; i < y.length; i++) y[i] = (float) rnd.nextGaussian();
        float[] y0 = y.clone();
        FloatWeightKernels.gemm(m, x, xOff, ldx, w, y, yOff, ldy, acc);
        for (int i = 0; i < m; i++) {
            for (int r = 0; r < w.rows(); r++) {
                double s = acc ? y0[yOff + i * ldy + r] : 0, mag = Math.abs(s);
                for (int c = 0; c < w.cols(); c++) {
                    double t = exact[r * w.cols() + c] * x[xOff + i * ldx + c];
                    s += t;
                    mag += Math.abs(t);
                }
                float got = y[yOff + i * ldy + r];
                if (Math.abs(got - s) > 1e-5 * mag + 1e-6) {
                    fail(String.format("%s m=%d [%d, %d] vector=%b: y[%d,%d]=%g expected %g", w.encoding(), m, w.rows(), w.cols(), Kernels.vector(), i, r, got, s));
                }
            }
        }
    }

    @Test
    void everyEncodingMatchesTheFloat64ReferenceOnBothPaths() {
        Random rnd = new Random(11);
        int[][] shapes = {{1, 1}, {3, 5}, {4, 16}, {7, 33}, {37, 64}, {70, 129}, {130, 300}};
        int[] ms = {1, 2, 5, 16, 17, 40};
        try (Arena arena = Arena.ofShared()) {
            for (FloatWeights.Encoding enc : FloatWeights.Encoding.values()) {
                for (int[] sh : shapes) {
                    long off = 2L * rnd.nextInt(4); // unaligned starts, as a tensor inside a file may be
                    MemorySegment seg = arena.allocate(off + (long) sh[0] * sh[1] * enc.bytes());
                    double[] exact = fill(rnd, seg, off, sh[0] * sh[1], enc);
                    FloatWeights w = FloatWeights.of(seg, off, sh[0], sh[1], enc);
                    for (int r = 0; r < sh[0]; r += Math.max(1, sh[0] / 3)) for (int c = 0; c < sh[1]; c++) assertEquals(exact[r * sh[1] + c], w.get(r, c), 0.0);
                    for (boolean vector : new boolean[] {true, false}) {
                        Kernels.useVector(vector);
                        for (int m : ms) check(rnd, m, w, exact, rnd.nextBoolean());
                    }
                }
            }
        }
    }

    @Test
    void heapWeightsAndDecodedRowsAreTheSameValues() {
        Random rnd = new Random(5);
        float[] w = new float[9 * 21];
        for (int i = 0; i < w.length; i++) w[i] = (float) rnd.nextGaussian();
        FloatWeights fw = FloatWeights.of(w, 9, 21);
        assertEquals(java.util.Arrays.toString(w), java.util.Arrays.toString(fw.toFloats()));
        double[] exact = new double[w.length];
        for (int i = 0; i < w.length; i++) exact[i] = w[i];
        for (boolean vector : new boolean[] {true, false}) {
            Kernels.useVector(vector);
            for (int m : new int[] {1, 3, 20}) check(rnd, m, fw, exact, false);
        }
    }

    @Test
    void shapesThatDoNotFitAreRefusedWithTheirSizes() {
        MemorySegment seg = MemorySegment.ofArray(new byte[100]);
        String msg = assertThrows(IllegalArgumentException.class, () -> FloatWeights.of(seg, 0, 5, 6, FloatWeights.Encoding.F32)).getMessage();
        assertEquals(true, msg.contains("[5, 6]") && msg.contains("120 bytes") && msg.contains("100"), msg);
        FloatWeights w = FloatWeights.of(seg, 0, 5, 6, FloatWeights.Encoding.BF16);
        msg = assertThrows(IllegalArgumentException.class, () -> FloatWeightKernels.gemm(1, new float[5], 0, 6, w, new float[5], 0, 5, false)).getMessage();
        assertEquals(true, msg.contains("x (length 5"), msg);
    }

    /**
     * Prefill shapes for the weight-rows GEMM: more than 16 token rows (not multiples of 16 or 32), K past one and two
     * K blocks and not a multiple of 16, weight rows not a multiple of the 6-row tile and more than one row block
     * (the multi-thread split), every encoding, accumulate and overwrite.
     */
    @Test
    void prefillShapesMatchTheFloat64Reference() {
        Random rnd = new Random(23);
        int[][] shapes = {{7, 600}, {200, 513}, {97, 40}, {6, 256}, {385, 37}};
        int[] ms = {17, 33, 100, 129};
        try (Arena arena = Arena.ofShared()) {
            for (FloatWeights.Encoding enc : FloatWeights.Encoding.values()) {
                for (int[] sh : shapes) {
                    long off = 2L * rnd.nextInt(4);
                    MemorySegment seg = arena.allocate(off + (long) sh[0] * sh[1] * enc.bytes());
                    double[] exact = fill(rnd, seg, off, sh[0] * sh[1], enc);
                    FloatWeights w = FloatWeights.of(seg, off, sh[0], sh[1], enc);
                    for (int m : ms) {
                        check(rnd, m, w, exact, false);
                        check(rnd, m, w, exact, true);
                    }
                }
            }
        }
    }

    @Test
    void transposeGathersEveryElementOnBothPaths() {
        Random rnd = new Random(3);
        for (boolean vector : new boolean[] {true, false}) {
            Kernels.useVector(vector);
            for (int[] sh : new int[][] {{1, 1}, {15, 7}, {16, 33}, {37, 300}}) {
                int m = sh[0], k = sh[1], ldx = k + 2, xOff = 3, ld = m + 5, d = 4;
                float[] x = new float[xOff + m * ldx];
                for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
                float[] dst = new float[d + k * ld];
                FloatWeightKernels.transpose(m, k, x, xOff, ldx, dst, d, ld);
                for (int i = 0; i < m; i++) for (int p = 0; p < k; p++) assertEquals(x[xOff + i * ldx + p], dst[d + p * ld + i], 0.0);
            }
        }
    }
}
