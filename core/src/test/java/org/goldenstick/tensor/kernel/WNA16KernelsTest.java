package org.goldenstick.tensor.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** Packing against compressed-tensors' documented example, and the W4/W8 kernels against a float64 reference. */
class WNA16KernelsTest {
    // these tests check the float-activation (W4A16 / W8A16) kernels; the int8-block ones are W8A8BlockKernelsTest's
    private W8A8BlockKernels.Mode wasMode;

    @org.junit.jupiter.api.BeforeEach
    void floatActivations() {
        wasMode = W8A8BlockKernels.setMode(W8A8BlockKernels.Mode.OFF);
    }

    @org.junit.jupiter.api.AfterEach
    void restoreMode() {
        W8A8BlockKernels.setMode(wasMode);
    }

    @Test
    void packingFollowsCompressedTensors() {
        // pack_to_int32's docstring: 8-bit codes [1, 2] -> unsigned [129, 130] -> one word 33409
        assertArrayEquals(new int[] {33409}, PackedIntWeights.packRows(new byte[] {1, 2}, 1, 2, 8));
        // 4 bits: first code in the lowest nibble; -8..7 -> 0..15; the 9th code starts a second word, padded with 0
        byte[] q = {-8, -7, 0, 1, 2, 3, 6, 7, 5};
        int word0 = 0x0 | 0x1 << 4 | 0x8 << 8 | 0x9 << 12 | 0xA << 16 | 0xB << 20 | 0xE << 24 | 0xF << 28;
        assertArrayEquals(new int[] {word0, 0xD}, PackedIntWeights.packRows(q, 1, 9, 4));
        assertArrayEquals(q, PackedIntWeights.unpackRows(new int[] {word0, 0xD}, 1, 9, 4));
        // packed along dim 0 (zero points): [3 rows, 2 cols] at 4 bits -> [1, 2], rows of a column in one word
        byte[] z = {1, -1, 2, -2, 3, -3};
        int[] pz = PackedIntWeights.packColumns(z, 3, 2, 4);
        assertArrayEquals(new int[] {9 | 10 << 4 | 11 << 8, 7 | 6 << 4 | 5 << 8}, pz);
        assertArrayEquals(z, PackedIntWeights.unpackColumns(pz, 3, 2, 4));
        assertThrows(IllegalArgumentException.class, () -> PackedIntWeights.packRows(new byte[] {8}, 1, 1, 4));
    }

    static PackedIntWeights random(Random rng, int rows, int cols, int bits, int group, boolean asym) {
        int lo = -(1 << (bits - 1)), span = 1 << bits, groups = cols / group;
        byte[] q = new byte[rows * cols];
        for (int i = 0; i < q.length; i++) q[i] = (byte) (lo + rng.nextInt(span));
        float[] s = new float[rows * groups];
        for (int i = 0; i < s.length; i++) s[i] = 0.01f + rng.nextFloat() * 0.05f;
        byte[] z = null;
        if (asym) {
            z = new byte[rows * groups];
            for (int i = 0; i < z.length; i++) z[i] = (byte) (lo + rng.nextInt(span));
        }
        return PackedIntWeights.pack(q, rows, cols, bits, group, s, z);
    }

    @ParameterizedTest
    @CsvSource({"4, 128, false, 37, 256", "4, 64, true, 33, 192", "4, 32, false, 20, 96", "4, 0, true, 18, 200", "4, 0, false, 9, 24",
            "8, 128, true, 21, 256", "8, 32, false, 17, 64", "8, 0, false, 13, 100", "4, 128, true, 64, 512",
            // row counts whose last pass of four rows holds three (35, 7) or two (6) rows; 37 and 33 above: one
            "4, 128, false, 35, 256", "8, 64, true, 7, 128", "4, 32, true, 6, 64",
            // per-channel 8 bits (four rows of four runs per pass): whole blocks of 64 columns and a tail; row counts
            // with a clamped last pass (9, 5, 3, 2, 1), several tasks of 32 rows with a short last one on two threads (70, 35)
            "8, 0, true, 9, 1000", "8, 0, false, 5, 256", "8, 0, true, 3, 64", "8, 0, false, 2, 64", "8, 0, true, 1, 128",
            "8, 0, true, 70, 1000", "8, 0, false, 35, 2048",
            // grouped and 4-bit passes over several tasks (spread rows), 2 threads
            "8, 128, false, 70, 1024", "4, 128, true, 45, 2048"})
    void vectorAndScalarMatchFloat64Reference(int bits, int group, boolean asym, int rows, int cols) {
        Random rng = new Random(bits * 1000 + group + rows);
        PackedIntWeights w = random(rng, rows, cols, bits, group == 0 ? cols : group, asym);
        for (int m : new int[] {1, 3, 17, 40}) {
            float[] x = new float[m * cols + 5];
            for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextGaussian();
            double[] ref = new double[m * rows];
            double[] mag = new double[m * rows];
            for (int i = 0; i < m; i++)
                for (int r = 0; r < rows; r++)
                    for (int c = 0; c < cols; c++) {
                        double v = (double) (w.q(r, c) - w.zeroPoint(r, c)) * w.scale(r, c) * x[5 + i * cols + c];
                        ref[i * rows + r] += v;
                        mag[i * rows + r] += Math.abs(v);
                    }
            for (boolean vector : new boolean[] {true, false}) {
                boolean was = Kernels.useVector(vector);
                try {
                    float[] y = new float[m * rows + 3];
                    java.util.Arrays.fill(y, 1f);
                    WNA16Kernels.gemm(m, x, 5, cols, w, y, 3, rows, true);   // accumulate onto ones
                    for (int i = 0; i < m * rows; i++) assertEquals(ref[i] + 1, y[3 + i], 1e-5 * (mag[i] + 8 * cols * 0.06) + 1e-5, "vector=" + vector + " m=" + m + " i=" + i);
                    if (m == 1) {
                        float[] g = new float[rows];
                        WNA16Kernels.gemv(w, x, 5, g, 0, false);
                        for (int r = 0; r < rows; r++) assertEquals(ref[r], g[r], 1e-5 * (mag[r] + 8 * cols * 0.06) + 1e-5, "gemv vector=" + vector);
                    }
                } finally {
                    Kernels.useVector(was);
                }
            }
        }
    }

    @Test
    void dequantizeAndBadShapes() {
        PackedIntWeights w = random(new Random(1), 4, 64, 4, 32, true);
        float[] d = w.dequantize();
        assertEquals((w.q(3, 40) - w.zeroPoint(3, 40)) * w.scale(3, 40), d[3 * 64 + 40]);
        assertThrows(IllegalArgumentException.class, () -> PackedIntWeights.of(w.packed(), 4, 64, 4, 48, w.scales(), null));   // 48 does not divide 64
        assertThrows(IllegalArgumentException.class, () -> PackedIntWeights.of(w.packed(), 4, 64, 3, 32, w.scales(), null));
        assertThrows(IllegalArgumentException.class, () -> WNA16Kernels.gemv(w, new float[63], 0, new float[4], 0, false));
    }

    /**
     * Compiled by C2 (-Xbatch child JVM, one thread), the float-activation GEMV boxes no accumulator: 8-bit per-channel
     * rows (the int8 LM head, {@code rowQuad8}) and 4-bit g128 rows ({@code rowQuad}, int8-block activations off). A call
     * allocates its activation layout (a few kB for 2048 columns) and nothing per pass of four rows; the accumulators
     * handed to a method C2 did not inline were boxed at every pass (~200 bytes each, 100 kB per call here).
     */
    @Test
    void gemvAllocatesNothingPerPassOnceCompiled() throws Exception {
        String javaBin = java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString();
        for (String bits : new String[] {"8", "4"}) {
            Process p = new ProcessBuilder(java.util.List.of(javaBin, "--add-modules", "jdk.incubator.vector", "-Xbatch", "-Xmx256m", "-Dgstick.threads=1",
                    "-Dgstick.int8-activations=off", "-cp", System.getProperty("java.class.path"), GemvAllocationChild.class.getName(), bits)).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertTrue(p.waitFor(300, java.util.concurrent.TimeUnit.SECONDS), out);
            assertEquals(0, p.exitValue(), out);
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("bytesPerCall=([0-9.]+) layout=([0-9]+)").matcher(out);
            assertTrue(m.find(), out);
            // 512 passes per call: 40 bytes per pass would be 20 kB
            assertTrue(Double.parseDouble(m.group(1)) < Long.parseLong(m.group(2)) + 4096, bits + "-bit gemv allocates " + m.group(1) + " bytes per call once compiled: " + out);
        }
    }

    /** The child JVM of {@link #gemvAllocatesNothingPerPassOnceCompiled}: {@code args[0]} bits. */
    static final class GemvAllocationChild {
        public static void main(String[] args) {
            int bits = Integer.parseInt(args[0]), rows = 2048, cols = 2048;
            Random rnd = new Random(4);
            PackedIntWeights w = random(rnd, rows, cols, bits, bits == 8 ? cols : 128, false);
            float[] y = new float[rows];
            float[][] xs = new float[2][cols];
            for (float[] x : xs) for (int i = 0; i < cols; i++) x[i] = (float) rnd.nextGaussian();
            for (int r = 0; r < 1500; r++) WNA16Kernels.gemv(w, xs[r & 1], 0, y, 0, false); // compiled (-Xbatch: before it returns)
            var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
            long b0 = mx.getCurrentThreadAllocatedBytes();
            for (int r = 0; r < 200; r++) WNA16Kernels.gemv(w, xs[r & 1], 0, y, 0, false);
            // the per-call activation layout: x de-interleaved (cols floats), word groups (cols / packFactor ints), group sums
            long layout = 16L + 4L * cols + 16 + 4L * cols * bits / 32 + 16 + 4L * w.groups();
            System.out.println("bytesPerCall=" + (mx.getCurrentThreadAllocatedBytes() - b0) / 200.0 + " layout=" + layout);
        }
    }
}
