package org.goldenstick.tensor.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * W8A8-block kernels against float64 references written here: the activations quantized per block of 32 by this
 * test's own rule (d = max|x|/127, q = round(x/d)), integer products, scales applied in double; plus the bound of the
 * activation rounding against the unquantized product, and the switch in W8A16Kernels / GgmlBlockKernels.
 */
@ExtendWith(KernelSettings.class)
class W8A8BlockKernelsTest {
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** x quantized per block of 32, dequantized, in double. */
    static double[] blockQuantized(float[] x, int off, int cols) {
        double[] out = new double[cols];
        for (int c0 = 0; c0 < cols; c0 += 32) {
            int c1 = Math.min(cols, c0 + 32);
            double max = 0;
            for (int c = c0; c < c1; c++) max = Math.max(max, Math.abs(x[off + c]));
            float d = (float) max / 127f;
            for (int c = c0; c < c1; c++) out[c] = max == 0 ? 0 : Math.round(x[off + c] * (127f / (float) max)) * (double) d;
        }
        return out;
    }

    static float[] gaussian(Random rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (rnd.nextGaussian() * (i % 50 == 0 ? 8 : 1));
        return x;
    }

    /** Random Q8_0 rows (scales > 0, values -127..127) at offset 3 of a segment. */
    static MemorySegment q8_0Rows(Random rnd, MemorySegment seg, int rows, int cols) {
        long rowBytes = cols / 32 * 34L;
        for (int r = 0; r < rows; r++)
            for (int b = 0; b < cols / 32; b++) {
                long o = 3 + r * rowBytes + 34L * b;
                seg.set(F16, o, Float.floatToFloat16(0.001f + rnd.nextFloat() * 0.02f));
                for (int j = 0; j < 32; j++) seg.set(ValueLayout.JAVA_BYTE, o + 2 + j, (byte) (rnd.nextInt(255) - 127));
            }
        return seg;
    }

    static double q8_0Weight(MemorySegment seg, int cols, int r, int c) {
        long o = 3 + r * (cols / 32 * 34L) + 34L * (c / 32);
        return Float.float16ToFloat(seg.get(F16, o)) * (double) seg.get(ValueLayout.JAVA_BYTE, o + 2 + c % 32);
    }

    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void q8_0MatchesTheFloat64ReferenceOfBlockQuantizedActivations(boolean vector) {
        Kernels.useVector(vector);
        Random rnd = new Random(vector ? 11 : 12);
        try (Arena arena = Arena.ofShared()) {
            for (int[] s : new int[][] {{1, 32}, {7, 64}, {33, 256}, {130, 2048}}) {
                int rows = s[0], cols = s[1];
                MemorySegment w = q8_0Rows(rnd, arena.allocate(3 + rows * (cols / 32 * 34L)), rows, cols);
                for (int m : new int[] {1, 3}) {
                    float[] x = gaussian(rnd, m * cols), y = new float[m * rows];
                    W8A8BlockKernels.q8_0(w, 3, rows, cols, x, m, y);
                    for (int i = 0; i < m; i++) {
                        double[] xq = blockQuantized(x, i * cols, cols);
                        for (int r = 0; r < rows; r++) {
                            double ref = 0, mag = 0;
                            for (int c = 0; c < cols; c++) {
                                double t = q8_0Weight(w, cols, r, c) * xq[c];
                                ref += t;
                                mag += Math.abs(t);
                            }
                            if (Math.abs(y[i * rows + r] - ref) > 2e-6 * mag + 1e-7) fail(String.format("vector=%b [%d,%d] row %d of x %d: %g vs %g", vector, rows, cols, r, i, y[i * rows + r], ref));
                        }
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void q4_0MatchesTheFloat64ReferenceOfBlockQuantizedActivations(boolean vector) {
        Kernels.useVector(vector);
        Random rnd = new Random(vector ? 13 : 14);
        try (Arena arena = Arena.ofShared()) {
            for (int[] s : new int[][] {{1, 32}, {9, 96}, {70, 2048}}) {
                int rows = s[0], cols = s[1];
                long rowBytes = cols / 32 * 18L;
                MemorySegment w = arena.allocate(5 + rows * rowBytes);
                double[] dec = new double[rows * cols];
                for (int r = 0; r < rows; r++)
                    for (int b = 0; b < cols / 32; b++) {
                        long o = 5 + r * rowBytes + 18L * b;
                        float d = Float.float16ToFloat(Float.floatToFloat16(0.001f + rnd.nextFloat() * 0.02f));
                        w.set(F16, o, Float.floatToFloat16(d));
                        for (int j = 0; j < 16; j++) {
                            int lo = rnd.nextInt(16), hi = rnd.nextInt(16);
                            w.set(ValueLayout.JAVA_BYTE, o + 2 + j, (byte) (lo | hi << 4));
                            dec[r * cols + b * 32 + j] = (lo - 8) * (double) d;
                            dec[r * cols + b * 32 + 16 + j] = (hi - 8) * (double) d;
                        }
                    }
                for (int m : new int[] {1, 2}) {
                    float[] x = gaussian(rnd, m * cols), y = new float[m * rows];
                    W8A8BlockKernels.q4_0(w, 5, rows, cols, x, m, y);
                    for (int i = 0; i < m; i++) {
                        double[] xq = blockQuantized(x, i * cols, cols);
                        for (int r = 0; r < rows; r++) {
                            double ref = 0, mag = 0;
                            for (int c = 0; c < cols; c++) {
                                ref += dec[r * cols + c] * xq[c];
                                mag += Math.abs(dec[r * cols + c] * xq[c]);
                            }
                            if (Math.abs(y[i * rows + r] - ref) > 2e-6 * mag + 1e-7) fail(String.format("vector=%b Q4_0 [%d,%d] row %d of x %d: %g vs %g", vector, rows, cols, r, i, y[i * rows + r], ref));
                        }
                    }
                }
                // GgmlBlockKernels takes it in DECODE mode
                float[] x = gaussian(rnd, cols), viaGgml = new float[rows], direct = new float[rows];
                W8A8BlockKernels.setMode(W8A8BlockKernels.Mode.DECODE);
                GgmlBlockKernels.matmul(GgmlBlockKernels.Format.Q4_0, w, 5, rows, cols, x, 1, viaGgml);
                W8A8BlockKernels.q4_0(w, 5, rows, cols, x, 1, direct);
                org.junit.jupiter.api.Assertions.assertArrayEquals(direct, viaGgml);
                W8A8BlockKernels.setMode(W8A8BlockKernels.Mode.OFF);
            }
        }
    }

    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void int8WeightsPerChannelGroupedAndPartialBlocks(boolean vector) {
        Kernels.useVector(vector);
        Random rnd = new Random(vector ? 21 : 22);
        for (int[] s : new int[][] {{1, 1, 1}, {9, 688, 688}, {64, 256, 64}, {33, 2048, 2048}, {16, 96, 32}}) {
            int rows = s[0], cols = s[1], group = s[2];
            byte[] heap = new byte[rows * cols + 7];
            Int8Weights w = W8A16KernelsTest.randomWeights(rnd, rows, cols, group, MemorySegment.ofArray(heap), 7);
            for (int m : new int[] {1, 2, 16}) {
                int ldy = rows + 2;
                float[] x = gaussian(rnd, 1 + m * cols), y = new float[1 + m * ldy];
                W8A8BlockKernels.int8(w, x, 1, m, y, 1, ldy);
                for (int i = 0; i < m; i++) {
                    double[] xq = blockQuantized(x, 1 + i * cols, cols);
                    for (int r = 0; r < rows; r++) {
                        double ref = 0, mag = 0;
                        for (int c = 0; c < cols; c++) {
                            double t = w.q(r, c) * (double) w.scale(r, c) * xq[c];
                            ref += t;
                            mag += Math.abs(t);
                        }
                        float got = y[1 + i * ldy + r];
                        if (Math.abs(got - ref) > 2e-6 * mag + 1e-7) fail(String.format("vector=%b [%d,%d] g%d row %d of x %d: %g vs %g", vector, rows, cols, group, r, i, got, ref));
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void packedInt8WeightsAsStoredInOurW8a16Folders(boolean vector) {
        Kernels.useVector(vector);
        Random rnd = new Random(vector ? 41 : 42);
        for (int[] s : new int[][] {{5, 688, 688}, {34, 256, 64}, {3, 64, 64}, {4, 70, 70}}) {
            int rows = s[0], cols = s[1], group = s[2];
            byte[] codes = new byte[rows * cols];
            for (int i = 0; i < codes.length; i++) codes[i] = (byte) (rnd.nextInt(256) - 128);
            float[] scales = new float[rows * (cols / group)];
            for (int i = 0; i < scales.length; i++) scales[i] = 0.001f + rnd.nextFloat() * 0.01f;
            PackedIntWeights w = PackedIntWeights.pack(codes, rows, cols, 8, group, scales, null);
            for (int m : new int[] {1, 4}) {
                float[] x = gaussian(rnd, m * cols), y = new float[m * rows];
                W8A8BlockKernels.packed8(w, x, 0, m, y, 0, rows);
                for (int i = 0; i < m; i++) {
                    double[] xq = blockQuantized(x, i * cols, cols);
                    for (int r = 0; r < rows; r++) {
                        double ref = 0, mag = 0;
                        for (int c = 0; c < cols; c++) {
                            double t = codes[r * cols + c] * (double) scales[r * (cols / group) + c / group] * xq[c];
                            ref += t;
                            mag += Math.abs(t);
                        }
                        if (Math.abs(y[i * rows + r] - ref) > 2e-6 * mag + 1e-7) fail(String.format("vector=%b [%d,%d] g%d row %d: %g vs %g", vector, rows, cols, group, r, y[i * rows + r], ref));
                    }
                }
            }
            // WNA16Kernels takes the block kernel only when asked to
            float[] x = gaussian(rnd, cols), viaWna16 = new float[rows], direct = new float[rows];
            W8A8BlockKernels.setMode(W8A8BlockKernels.Mode.DECODE);
            WNA16Kernels.gemv(w, x, 0, viaWna16, 0, false);
            W8A8BlockKernels.packed8(w, x, 0, 1, direct, 0, rows);
            org.junit.jupiter.api.Assertions.assertArrayEquals(direct, viaWna16);
            W8A8BlockKernels.setMode(W8A8BlockKernels.Mode.OFF);
        }
        PackedIntWeights four = PackedIntWeights.pack(new byte[64], 1, 64, 4, 64, new float[1], null);
        assertThrows(IllegalArgumentException.class, () -> W8A8BlockKernels.packed8(four, new float[64], 0, 1, new float[1], 0, 1));
        PackedIntWeights asym = PackedIntWeights.pack(new byte[64], 1, 64, 8, 64, new float[1], new byte[1]);
        assertTrue(!W8A8BlockKernels.supports(asym));
    }

    /**
     * 4-bit pack-quantized weights (our W4A16 folders) with int8-block activations against the float64 reference:
     * symmetric and with zero points, groups of 32/64/128/256 and per channel, rows whose length is not a whole number
     * of vector steps (the scalar tail), 1 and 4 activation rows, heap and native (mapped-style) words.
     */
    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void packedInt4WeightsMatchTheFloat64Reference(boolean vector) {
        Kernels.useVector(vector);
        Random rnd = new Random(vector ? 51 : 52);
        try (Arena arena = Arena.ofShared()) {
            for (int[] s : new int[][] {{37, 256, 128, 0}, {33, 192, 64, 1}, {20, 96, 32, 0}, {18, 224, 224, 1}, {9, 2048, 128, 0},
                    {6, 512, 256, 1}, {5, 160, 160, 0}, {3, 1056, 32, 1}, {7, 384, 128, 1}}) {
                int rows = s[0], cols = s[1], group = s[2];
                boolean asym = s[3] == 1;
                PackedIntWeights heap = WNA16KernelsTest.random(rnd, rows, cols, 4, group, asym);
                MemorySegment nat = arena.allocate(heap.words().byteSize(), 64);
                nat.copyFrom(heap.words());
                PackedIntWeights mapped = new PackedIntWeights(nat, rows, cols, 4, group, heap.scales(), heap.zeroPoints());
                assertTrue(W8A8BlockKernels.supports(heap));
                for (int m : new int[] {1, 4}) {
                    float[] x = gaussian(rnd, m * cols + 3), y = new float[m * rows + 1], ym = new float[m * rows + 1];
                    W8A8BlockKernels.packed4(heap, x, 3, m, y, 1, rows);
                    W8A8BlockKernels.packed4(mapped, x, 3, m, ym, 1, rows);
                    for (int i = 0; i < m; i++) {
                        double[] xq = blockQuantized(x, 3 + i * cols, cols);
                        for (int r = 0; r < rows; r++) {
                            double ref = 0, mag = 0;
                            for (int c = 0; c < cols; c++) {
                                double t = (heap.q(r, c) - heap.zeroPoint(r, c)) * (double) heap.scale(r, c) * xq[c];
                                ref += t;
                                mag += Math.abs(t) + 8 * Math.abs(heap.scale(r, c) * xq[c]);
                            }
                            float got = y[1 + i * rows + r];
                            if (Math.abs(got - ref) > 2e-6 * mag + 1e-7) fail(String.format("vector=%b [%d,%d] g%d asym=%b row %d: %g vs %g", vector, rows, cols, group, asym, r, got, ref));
                            assertEquals(got, ym[1 + i * rows + r], "heap and native words give the same result");
                        }
                    }
                    assertEquals(0f, y[0], "y before yOff untouched");
                }
                // WNA16Kernels takes the block kernel only when asked to
                float[] x = gaussian(rnd, cols), viaWna16 = new float[rows], direct = new float[rows], floatActs = new float[rows];
                W8A8BlockKernels.setMode(W8A8BlockKernels.Mode.OFF);
                WNA16Kernels.gemv(heap, x, 0, floatActs, 0, false);
                W8A8BlockKernels.setMode(W8A8BlockKernels.Mode.DECODE);
                WNA16Kernels.gemv(heap, x, 0, viaWna16, 0, false);
                W8A8BlockKernels.packed4(heap, x, 0, 1, direct, 0, rows);
                org.junit.jupiter.api.Assertions.assertArrayEquals(direct, viaWna16);
                assertTrue(!java.util.Arrays.equals(direct, floatActs), "the switch off still quantized the activations");
                W8A8BlockKernels.setMode(W8A8BlockKernels.Mode.OFF);
            }
        }
        PackedIntWeights notBlocks = PackedIntWeights.pack(new byte[48], 1, 48, 4, 48, new float[1], null);
        assertTrue(!W8A8BlockKernels.supports(notBlocks));
        var e = assertThrows(IllegalArgumentException.class, () -> W8A8BlockKernels.packed4(notBlocks, new float[48], 0, 1, new float[1], 0, 1));
        assertTrue(e.getMessage().contains("48"), e.getMessage());
    }

    /**
     * packed4 keeps the last call's activation layout and reuses it for the same x (q, k and v share one input): the
     * same x again, after another kernel quantized other activations in between, gives the same result bit for bit;
     * x changed in one value, or the same x with weights of another group size, gives the float64 reference's result
     * for the new input, not the old one.
     */
    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void packedInt4ReusesTheActivationLayoutOnlyForTheSameInput(boolean vector) {
        Kernels.useVector(vector);
        Random rnd = new Random(vector ? 61 : 62);
        int rows = 24, cols = 512;
        PackedIntWeights w = WNA16KernelsTest.random(rnd, rows, cols, 4, 128, false), w64 = WNA16KernelsTest.random(rnd, rows, cols, 4, 64, true);
        PackedIntWeights other = WNA16KernelsTest.random(rnd, rows, cols, 8, 128, false);
        float[] x = gaussian(rnd, cols), first = new float[rows], again = new float[rows], changed = new float[rows], regrouped = new float[rows];
        W8A8BlockKernels.packed4(w, x, 0, 1, first, 0, rows);
        W8A8BlockKernels.packed8(other, gaussian(rnd, cols), 0, 1, new float[rows], 0, rows);
        float[] shifted = new float[cols + 5];
        System.arraycopy(x, 0, shifted, 5, cols);
        W8A8BlockKernels.packed4(w, shifted, 5, 1, again, 0, rows);
        org.junit.jupiter.api.Assertions.assertArrayEquals(first, again);
        float[] x2 = x.clone();
        x2[7] += 3f;
        W8A8BlockKernels.packed4(w, x2, 0, 1, changed, 0, rows);
        W8A8BlockKernels.packed4(w64, x2, 0, 1, regrouped, 0, rows);
        double[] xq = blockQuantized(x2, 0, cols);
        for (PackedIntWeights ww : new PackedIntWeights[] {w, w64}) {
            float[] y = ww == w ? changed : regrouped;
            for (int r = 0; r < rows; r++) {
                double ref = 0, mag = 0;
                for (int c = 0; c < cols; c++) {
                    double t = (ww.q(r, c) - ww.zeroPoint(r, c)) * (double) ww.scale(r, c) * xq[c];
                    ref += t;
                    mag += Math.abs(t) + 8 * Math.abs(ww.scale(r, c) * xq[c]);
                }
                if (Math.abs(y[r] - ref) > 2e-6 * mag + 1e-7) fail(String.format("vector=%b g%d row %d: %g vs %g", vector, ww.groupSize(), r, y[r], ref));
            }
        }
        assertTrue(!java.util.Arrays.equals(first, changed), "the changed input was not used");
    }

    /**
     * Weights that share an input (q, k, v) in one parallel region give each weight's own {@code packed4} result bit for
     * bit: row counts that are not whole tasks, symmetric and asymmetric, 1 and 3 activation rows, 1 and 2 threads;
     * {@link WNA16Kernels#gemmShared} takes that region only where int8-block activations apply to all the weights and
     * otherwise equals one {@link WNA16Kernels#gemm} each (mode off, an 8-bit weight, another group size).
     */
    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void weightsSharingAnInputInOneRegionEqualOneCallEach(boolean vector) {
        Kernels.useVector(vector);
        Random rnd = new Random(vector ? 71 : 72);
        int cols = 640;
        PackedIntWeights q = WNA16KernelsTest.random(rnd, 77, cols, 4, 128, false), k = WNA16KernelsTest.random(rnd, 16, cols, 4, 128, true);
        PackedIntWeights v = WNA16KernelsTest.random(rnd, 33, cols, 4, 128, false), w64 = WNA16KernelsTest.random(rnd, 33, cols, 4, 64, false);
        PackedIntWeights eight = WNA16KernelsTest.random(rnd, 33, cols, 8, 128, false);
        PackedIntWeights[] ws = {q, k, v};
        for (int threads : new int[] {1, 2})
            for (int m : new int[] {1, 3}) {
                Parallel.setThreads(threads);
                float[] x = gaussian(rnd, m * cols + 2);
                float[][] fused = {new float[m * 77], new float[m * 16], new float[m * 33]};
                W8A8BlockKernels.packed4(ws, x, 2, m, fused);
                for (int j = 0; j < ws.length; j++) {
                    float[] alone = new float[m * ws[j].rows()];
                    W8A8BlockKernels.packed4(ws[j], x, 2, m, alone, 0, ws[j].rows());
                    org.junit.jupiter.api.Assertions.assertArrayEquals(alone, fused[j], "weights " + j + ", m " + m + ", threads " + threads);
                }
                float[][] shared = {new float[m * 77], new float[m * 16], new float[m * 33]};
                W8A8BlockKernels.setMode(W8A8BlockKernels.Mode.DECODE);
                WNA16Kernels.gemmShared(m, x, 2, ws, shared);
                for (int j = 0; j < ws.length; j++) org.junit.jupiter.api.Assertions.assertArrayEquals(fused[j], shared[j]);
                for (W8A8BlockKernels.Mode mode : new W8A8BlockKernels.Mode[] {W8A8BlockKernels.Mode.OFF, W8A8BlockKernels.Mode.DECODE}) {
                    W8A8BlockKernels.setMode(mode);
                    PackedIntWeights[] mixed = mode == W8A8BlockKernels.Mode.OFF ? ws : new PackedIntWeights[] {q, eight, w64};
                    float[][] each = new float[3][], together = new float[3][];
                    for (int j = 0; j < 3; j++) {
                        each[j] = new float[m * mixed[j].rows()];
                        together[j] = new float[m * mixed[j].rows()];
                        WNA16Kernels.gemm(m, x, 2, cols, mixed[j], each[j], 0, mixed[j].rows(), false);
                    }
                    WNA16Kernels.gemmShared(m, x, 2, mixed, together);
                    for (int j = 0; j < 3; j++) org.junit.jupiter.api.Assertions.assertArrayEquals(each[j], together[j], mode + " weights " + j);
                }
                W8A8BlockKernels.setMode(W8A8BlockKernels.Mode.OFF);
            }
        var e = assertThrows(IllegalArgumentException.class, () -> W8A8BlockKernels.packed4(new PackedIntWeights[] {q, w64}, new float[cols], 0, 1, new float[][] {new float[77], new float[33]}));
        assertTrue(e.getMessage().contains("group 64"), e.getMessage());
    }

    /**
     * The 4-bit activation layout built in vector lanes equals the scalar loops' value for value (de-interleaved int8
     * values, lane scales and offsets, group sums, lane and step groups), and both equal its definition computed here
     * from the quantized activations: rows of 1 to 44 steps, a partial step, 1 and 3 activation rows, groups of 32 to 256;
     * the same object reused for another group size recomputes the groups.
     */
    @Test
    void nibbleLayoutInVectorLanesEqualsTheScalarLoops() {
        Random rnd = new Random(81);
        W8A8BlockKernels.NibbleActivations reused = new W8A8BlockKernels.NibbleActivations();
        for (int[] s : new int[][] {{128, 32}, {544, 32}, {2048, 128}, {5632, 128}, {1024, 256}, {640, 64}, {2048, 64}})
            for (int m : new int[] {1, 3}) {
                int cols = s[0], group = s[1];
                float[] x = gaussian(rnd, m * cols + 1);
                Kernels.useVector(false);
                W8A8BlockKernels.NibbleActivations scalar = new W8A8BlockKernels.NibbleActivations().of(x, 1, m, cols, group);
                Kernels.useVector(true);
                W8A8BlockKernels.NibbleActivations vector = new W8A8BlockKernels.NibbleActivations().of(x, 1, m, cols, group);
                W8A8BlockKernels.NibbleActivations again = reused.of(x, 1, m, cols, group);
                // a step: 4 short vectors (4 · 2 · the float lane count columns)
                int steps = vector.steps, step = 8 * jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length(), vcols = steps * step, lanes = vcols / 8, sl = step / 4;
                assertEquals(scalar.steps, steps);
                for (W8A8BlockKernels.NibbleActivations n : new W8A8BlockKernels.NibbleActivations[] {vector, again}) {
                    org.junit.jupiter.api.Assertions.assertArrayEquals(java.util.Arrays.copyOf(scalar.xs, m * vcols), java.util.Arrays.copyOf(n.xs, m * vcols));
                    org.junit.jupiter.api.Assertions.assertArrayEquals(java.util.Arrays.copyOf(scalar.laneScale, m * lanes), java.util.Arrays.copyOf(n.laneScale, m * lanes));
                    org.junit.jupiter.api.Assertions.assertArrayEquals(java.util.Arrays.copyOf(scalar.laneOffset, m * lanes), java.util.Arrays.copyOf(n.laneOffset, m * lanes));
                    org.junit.jupiter.api.Assertions.assertArrayEquals(java.util.Arrays.copyOf(scalar.groupSum, m * cols / group), java.util.Arrays.copyOf(n.groupSum, m * cols / group));
                    org.junit.jupiter.api.Assertions.assertArrayEquals(java.util.Arrays.copyOf(scalar.laneGroup, lanes), java.util.Arrays.copyOf(n.laneGroup, lanes));
                    org.junit.jupiter.api.Assertions.assertArrayEquals(java.util.Arrays.copyOf(scalar.stepGroup, steps), java.util.Arrays.copyOf(n.stepGroup, steps));
                }
                // the definition, from the quantized values
                short[] q = vector.acts.q;
                int padded = vector.acts.blocks * 32;
                for (int i = 0; i < m; i++)
                    for (int c = 0; c < vcols; c++) {
                        int st = c / step * step, j = (c - st) / 4, k = (c - st) % 4;
                        assertEquals(q[i * padded + c], vector.xs[i * vcols + st + k * sl + j], "column " + c);
                        if (c % 8 == 0) {
                            int sum = 0;
                            for (int t = c; t < c + 8; t++) sum += q[i * padded + t];
                            assertEquals(8 * sum, vector.laneOffset[i * lanes + c / 8]);
                            assertEquals(vector.acts.d[i * vector.acts.blocks + c / 32], vector.laneScale[i * lanes + c / 8]);
                            assertEquals(c / group, vector.laneGroup[c / 8]);
                        }
                    }
            }
    }

    /**
     * Compiled by C2 (-Xbatch child JVM, one thread), {@code packed4} boxes no vector: not inside its per-pass loop (a
     * vector op C2 could not inline, e.g. when the kernel runs out of C2's inlining budget, or an accumulator re-typed
     * inside the loop: 800 kB per call of this size) and not where the two accumulators leave the loop (a class test
     * there, {@code Lanes.exact}, made C2 box both on every pass: 49 kB per call; docs/results.md).
     */
    @Test
    void packedInt4AllocatesNothingPerPassOnceCompiled() throws Exception {
        String javaBin = java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java.util.List.of(javaBin, "--add-modules", "jdk.incubator.vector", "-Xbatch", "-Xmx256m", "-Dgstick.threads=1",
                "-cp", System.getProperty("java.class.path"), Packed4AllocationChild.class.getName())).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, java.util.concurrent.TimeUnit.SECONDS), out);
        assertEquals(0, p.exitValue(), out);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("bytesPerCall=([0-9.]+)").matcher(out);
        assertTrue(m.find(), out);
        // a call is 256 passes of two rows: the task's lambda, nothing per pass
        assertTrue(Double.parseDouble(m.group(1)) < 1024, "packed4 allocates " + m.group(1) + " bytes per call once compiled: " + out);
    }

    /** The child JVM of {@link #packedInt4AllocatesNothingPerPassOnceCompiled}. */
    static final class Packed4AllocationChild {
        public static void main(String[] args) {
            Random rnd = new Random(3);
            int rows = 512, cols = 2048;
            PackedIntWeights w = WNA16KernelsTest.random(rnd, rows, cols, 4, 128, false);
            float[] y = new float[rows];
            float[][] xs = {gaussian(rnd, cols), gaussian(rnd, cols)};
            for (int r = 0; r < 3000; r++) W8A8BlockKernels.packed4(w, xs[r & 1], 0, 1, y, 0, rows); // compiled (-Xbatch: before it returns)
            var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
            long b0 = mx.getCurrentThreadAllocatedBytes();
            for (int r = 0; r < 200; r++) W8A8BlockKernels.packed4(w, xs[r & 1], 0, 1, y, 0, rows);
            System.out.println("bytesPerCall=" + (mx.getCurrentThreadAllocatedBytes() - b0) / 200.0);
        }
    }

    @Test
    void packedInt4VectorAndScalarAgreeOnTwoThreads() {
        Parallel.setThreads(2);
        Random rnd = new Random(6);
        int rows = 515, cols = 1024;
        PackedIntWeights w = WNA16KernelsTest.random(rnd, rows, cols, 4, 128, false);
        float[] x = gaussian(rnd, cols), yv = new float[rows], ys = new float[rows];
        Kernels.useVector(true);
        W8A8BlockKernels.packed4(w, x, 0, 1, yv, 0, rows);
        Kernels.useVector(false);
        W8A8BlockKernels.packed4(w, x, 0, 1, ys, 0, rows);
        for (int r = 0; r < rows; r++) assertEquals(ys[r], yv[r], 1e-4 * (1 + Math.abs(ys[r])), "row " + r);
    }

    @Test
    void vectorAndScalarAgreeOnMappedStyleWeightsOnTwoThreads() {
        Parallel.setThreads(2);
        Random rnd = new Random(5);
        int rows = 515, cols = 1024;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment w = q8_0Rows(rnd, arena.allocate(3 + rows * (cols / 32 * 34L)), rows, cols);
            float[] x = gaussian(rnd, cols), yv = new float[rows], ys = new float[rows];
            Kernels.useVector(true);
            W8A8BlockKernels.q8_0(w, 3, rows, cols, x, 1, yv);
            Kernels.useVector(false);
            W8A8BlockKernels.q8_0(w, 3, rows, cols, x, 1, ys);
            for (int r = 0; r < rows; r++) assertEquals(ys[r], yv[r], 1e-4 * (1 + Math.abs(ys[r])), "row " + r);
        }
    }

    /**
     * The vector activation quantization gives the scalar loop's codes and scales bit for bit (Math.round reproduced,
     * not floor(v + 0.5f)): random rows with a partial last block, an all-zero block, and blocks whose max is 127 (so
     * the products are the values themselves) holding ties and the floats just below them, where v + 0.5f rounds up.
     */
    @Test
    void vectorActivationQuantizationEqualsTheScalarLoopBitForBit() {
        Random rnd = new Random(17);
        int cols = 32 * 9 + 11;
        float[] x = gaussian(rnd, 3 * cols + 2);
        for (int c = 0; c < 32; c++) x[2 + 64 + c] = 0f;
        float[] tricky = {127f, 0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f, 126.5f, -126.5f, 0.49999997f, -0.49999997f, 1.4999999f, -1.4999999f,
                Math.nextDown(2.5f), Math.nextUp(-2.5f), Math.nextUp(0.5f), Math.nextDown(-0.5f), 3.5f, -3.5f, 1e-8f, -1e-8f, -127f, 63.5f, -63.5f,
                Math.nextDown(63.5f), Math.nextUp(-63.5f), 0f, -0f, 100.49999f, -100.49999f, 7.5f, -7.5f};
        System.arraycopy(tricky, 0, x, 2 + cols + 96, 32);
        for (int k = 0; k < 32; k++) x[2 + 2 * cols + 128 + k] = (k - 16) * 0.5f + 0.25f * (k % 2);
        x[2 + 2 * cols + 128] = 127f;
        W8A8BlockKernels.Activations vec = new W8A8BlockKernels.Activations(), ref = new W8A8BlockKernels.Activations();
        Kernels.useVector(true);
        vec.quantize(x, 2, 3, cols);
        Kernels.useVector(false);
        ref.quantize(x, 2, 3, cols);
        int padded = vec.blocks * 32;
        for (int i = 0; i < 3 * padded; i++) assertEquals(ref.q[i], vec.q[i], "code " + i);
        for (int i = 0; i < 3 * vec.blocks; i++) assertEquals(ref.d[i], vec.d[i], "scale " + i);
        assertEquals(1f, vec.d[vec.blocks + 3], 0f, "the tricky block's max is 127: d = 1");
        assertEquals(2, vec.q[padded + 96 + 3], "1.5 rounds half up");
        assertEquals(-1, vec.q[padded + 96 + 4], "-1.5 rounds half up, to -1");
        assertEquals(1, vec.q[padded + 96 + 11], "1.4999999f rounds down although 1.4999999f + 0.5f == 2f");
        // the same rounding over a sweep of values, against Math.round directly
        float[] v = new float[16 * 4096];
        for (int i = 0; i < v.length; i++) v[i] = i % 3 == 0 ? (i / 2 - 8192) * 0.5f * 0.25f : Math.nextDown((i - v.length / 2) * 0.0039f + 0.5f);
        int lanes = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length();
        for (int i = 0; i + lanes <= v.length; i += lanes) {
            int[] got = W8A8BlockKernels.roundHalfUp(jdk.incubator.vector.FloatVector.fromArray(jdk.incubator.vector.FloatVector.SPECIES_PREFERRED, v, i)).toArray();
            for (int j = 0; j < lanes; j++) assertEquals(Math.round(v[i + j]), got[j], "Math.round(" + v[i + j] + ")");
        }
    }

    @Test
    void activationRoundingStaysWithinItsBoundOfTheFloatProduct() {
        // |Σ w (x̂ - x)| ≤ Σ |w| d_b / 2: the only difference from W8A16 is the activation rounding.
        Random rnd = new Random(9);
        int rows = 40, cols = 512;
        Int8Weights w = W8A16KernelsTest.randomWeights(rnd, rows, cols, cols, MemorySegment.ofArray(new byte[rows * cols]), 0);
        float[] x = gaussian(rnd, cols), y = new float[rows];
        W8A8BlockKernels.int8(w, x, 0, 1, y, 0, rows);
        double worst = 0;
        for (int r = 0; r < rows; r++) {
            double exact = 0, bound = 0;
            for (int c = 0; c < cols; c++) {
                double wr = w.q(r, c) * (double) w.scale(r, c);
                exact += wr * x[c];
                double max = 0;
                for (int j = c / 32 * 32; j < c / 32 * 32 + 32; j++) max = Math.max(max, Math.abs(x[j]));
                bound += Math.abs(wr) * max / 127 / 2;
            }
            assertTrue(Math.abs(y[r] - exact) <= bound * 1.001 + 1e-6, "row " + r + ": " + y[r] + " vs " + exact + " bound " + bound);
            worst = Math.max(worst, Math.abs(y[r] - exact) / bound);
        }
        assertTrue(worst > 0, "activations were not quantized at all");
    }

    @Test
    void w8a16AndGgmlKernelsSwitchToTheBlockKernelOnlyWhenEnabled() {
        Random rnd = new Random(3);
        int rows = 48, cols = 256;
        Int8Weights w = W8A16KernelsTest.randomWeights(rnd, rows, cols, 64, MemorySegment.ofArray(new byte[rows * cols]), 0);
        float[] x = gaussian(rnd, 2 * cols), viaW8a16 = new float[2 * rows], direct = new float[2 * rows], floatActs = new float[2 * rows];
        W8A8BlockKernels.setMode(W8A8BlockKernels.Mode.OFF);
        W8A16Kernels.gemm(2, x, 0, cols, w, floatActs, 0, rows, false);
        W8A8BlockKernels.setMode(W8A8BlockKernels.Mode.DECODE);
        W8A16Kernels.gemm(2, x, 0, cols, w, viaW8a16, 0, rows, false);
        W8A8BlockKernels.int8(w, x, 0, 2, direct, 0, rows);
        org.junit.jupiter.api.Assertions.assertArrayEquals(direct, viaW8a16);
        boolean differs = false;
        for (int i = 0; i < direct.length; i++) differs |= direct[i] != floatActs[i];
        assertTrue(differs, "the W8A16 path gave the block kernel's results with the switch off");

        try (Arena arena = Arena.ofShared()) {
            MemorySegment q = q8_0Rows(rnd, arena.allocate(3 + rows * (cols / 32 * 34L)), rows, cols);
            float[] g = new float[2 * rows], b = new float[2 * rows];
            GgmlBlockKernels.matmul(GgmlBlockKernels.Format.Q8_0, q, 3, rows, cols, x, 2, g);
            W8A8BlockKernels.q8_0(q, 3, rows, cols, x, 2, b);
            org.junit.jupiter.api.Assertions.assertArrayEquals(b, g);
            // 17 rows is prefill for DECODE: float activations there; ALL takes every batch
            float[] x17 = gaussian(rnd, 17 * cols), f17 = new float[17 * rows], a17 = new float[17 * rows], ref17 = new float[17 * rows];
            GgmlBlockKernels.matmul(GgmlBlockKernels.Format.Q8_0, q, 3, rows, cols, x17, 17, f17);
            W8A8BlockKernels.q8_0(q, 3, rows, cols, x17, 17, ref17);
            W8A8BlockKernels.setMode(W8A8BlockKernels.Mode.ALL);
            GgmlBlockKernels.matmul(GgmlBlockKernels.Format.Q8_0, q, 3, rows, cols, x17, 17, a17);
            org.junit.jupiter.api.Assertions.assertArrayEquals(ref17, a17);
            assertTrue(!java.util.Arrays.equals(ref17, f17), "DECODE mode quantized a 17-row batch");
        }
        // the default: 4-bit weights at decode only
        assertEquals(W8A8BlockKernels.Mode.AUTO, W8A8BlockKernels.parse("auto"));
        assertEquals(W8A8BlockKernels.Mode.AUTO, W8A8BlockKernels.parse(""));
        W8A8BlockKernels.setMode(W8A8BlockKernels.Mode.AUTO);
        assertTrue(W8A8BlockKernels.appliesTo(1, true) && W8A8BlockKernels.appliesTo(16, true));
        assertTrue(!W8A8BlockKernels.appliesTo(17, true) && !W8A8BlockKernels.appliesTo(1, false) && !W8A8BlockKernels.appliesTo(1));
        float[] autoActs = new float[2 * rows];
        W8A16Kernels.gemm(2, x, 0, cols, w, autoActs, 0, rows, false);
        org.junit.jupiter.api.Assertions.assertArrayEquals(floatActs, autoActs, "AUTO keeps float activations for 8-bit weights");
        assertEquals(W8A8BlockKernels.Mode.DECODE, W8A8BlockKernels.parse("true"));
        assertEquals(W8A8BlockKernels.Mode.ALL, W8A8BlockKernels.parse(" All"));
        assertThrows(IllegalArgumentException.class, () -> W8A8BlockKernels.parse("yes"));
    }

    @Test
    void badShapesAreRejectedWithTheirSizes() {
        Int8Weights odd = W8A16KernelsTest.randomWeights(new Random(1), 4, 100, 20, MemorySegment.ofArray(new byte[400]), 0);
        assertThrows(IllegalArgumentException.class, () -> W8A8BlockKernels.int8(odd, new float[100], 0, 1, new float[4], 0, 4));
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = arena.allocate(100);
            var e = assertThrows(IllegalArgumentException.class, () -> W8A8BlockKernels.q8_0(seg, 0, 1, 48, new float[48], 1, new float[1]));
            assertTrue(e.getMessage().contains("48"), e.getMessage());
            assertThrows(IndexOutOfBoundsException.class, () -> W8A8BlockKernels.q8_0(seg, 0, 4, 64, new float[64], 1, new float[4]));
        }
    }
}
