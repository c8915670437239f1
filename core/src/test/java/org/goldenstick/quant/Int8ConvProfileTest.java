package org.goldenstick.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.goldenstick.tensor.Conv2dSpec;
import org.junit.jupiter.api.Test;

/**
 * The int8 convolution's compiled code must not depend on how C2 happened to inline it (docs/results.md, issue 19
 * "Where the int8 variance came from"). Child JVMs, one with type profiles as usual and one with
 * {@code -XX:-UseTypeProfile} (C2 never uses a receiver profile), run {@link Int8Conv#run} on ResNet-20's shapes in
 * network order plus the four-channel tile and depthwise, and report the bytes allocated per call once compiled. The
 * eight-channel tile used to convert its 16 accumulators after the loop through a helper that C2 did not inline
 * there (its node budget was spent: {@code NodeCountInliningCutoff}, or "callee is too large" at a cold call site);
 * each accumulator was then boxed to be passed, ≈ 290 KB per call of these shapes and 350 MB per ResNet-20 batch,
 * and the network ran up to 10 % slower. With profiles C2 inlined more before reaching the stores, so the usual run was the
 * one that boxed. The kernel itself allocates nothing now; what is left is the per-call bookkeeping (window offsets,
 * the sink), a few hundred bytes to 2.5 KB.
 */
class Int8ConvProfileTest {
    private record Case(int n, int c, int h, int w, int out, int k, Conv2dSpec spec) {}

    /** ResNet-20's convolution shapes in network order (as a deploy network first runs them), then depthwise. */
    private static final Case[] CASES = {
            new Case(4, 3, 32, 32, 16, 3, Conv2dSpec.of(1, 1, 1, 1)),     // stem: k = 27, tile8, wide rows
            new Case(4, 16, 32, 32, 16, 3, Conv2dSpec.of(1, 1, 1, 1)),    // stage 1: k = 144
            new Case(4, 16, 32, 32, 32, 3, Conv2dSpec.of(2, 1, 1, 1)),    // strided: unfolded rows
            new Case(4, 32, 16, 16, 32, 3, Conv2dSpec.of(1, 1, 1, 1)),    // stage 2: k = 288, two blocks of products
            new Case(4, 64, 8, 8, 64, 3, Conv2dSpec.of(1, 1, 1, 1)),      // stage 3: k = 576, three blocks
            new Case(4, 8, 16, 16, 4, 3, Conv2dSpec.of(1, 1, 1, 1)),      // tile4
            new Case(4, 32, 16, 16, 32, 3, Conv2dSpec.of(1, 1, 1, 32)),   // depthwise
    };

    /** Per-call allocation limit: above the bookkeeping (up to 2.5 KB), far below the boxed epilogues (≈ 290 KB per call). */
    private static final double LIMIT_BYTES_PER_CALL = 8192;

    @Test
    void int8ConvolutionAllocatesNothingPerTileWithTypeProfiles() throws Exception {
        checkChild(List.of());
    }

    @Test
    void int8ConvolutionAllocatesNothingPerTileWithoutTypeProfiles() throws Exception {
        checkChild(List.of("-XX:-UseTypeProfile"));
    }

    private static void checkChild(List<String> flags) throws Exception {
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new java.util.ArrayList<>(List.of(javaBin, "--add-modules", "jdk.incubator.vector", "-Xbatch", "-Xmx256m", "-Dgstick.threads=1"));
        cmd.addAll(flags);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Int8ConvProfileTest.class.getName()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), out);
        assertEquals(0, p.exitValue(), out);
        Matcher m = Pattern.compile("case=(\\d+) bytesPerCall=([0-9.]+) checksum=(-?\\d+)").matcher(out);
        int seen = 0;
        while (m.find()) {
            int i = Integer.parseInt(m.group(1));
            assertTrue(Double.parseDouble(m.group(2)) < LIMIT_BYTES_PER_CALL,
                    "Int8Conv allocates " + m.group(2) + " bytes per call on " + CASES[i] + " once compiled " + flags + ": " + out);
            assertEquals(checksum(i), Long.parseLong(m.group(3)), "the child's results on " + CASES[i]);
            seen++;
        }
        assertEquals(CASES.length, seen, out);
    }

    private static byte[][] inputs(Case t) {
        Random rng = new Random(3);
        byte[] x = new byte[t.n * t.c * t.h * t.w], w = new byte[t.out * (t.c / t.spec.groups()) * t.k * t.k];
        rng.nextBytes(x);
        rng.nextBytes(w);
        return new byte[][] {x, w};
    }

    /**
     * One call of the kernel on case i; the sum of every accumulator it hands out (uint8 input, zero point 3). Images
     * run on different threads where there are several (this test's JVM), so each image sums into its own slot: one
     * shared sum lost updates now and then and failed the comparison with the child's.
     */
    private static long run(Case t, byte[] x, Int8Conv.Weights w) {
        long[] perImage = new long[t.n];
        Int8Conv.run(x, true, 3, new int[] {t.n, t.c, t.h, t.w}, w, t.spec, (img, acc, ld, pitch) -> {
            long s = 0;
            for (int o = 0; o < t.out; o++) s += acc[o * ld] + acc[o * ld + ld / 2];
            perImage[img] += s;
        });
        long sum = 0;
        for (long s : perImage) sum += s;
        return sum;
    }

    private static long checksum(int i) {
        Case t = CASES[i];
        byte[][] in = inputs(t);
        return run(t, in[0], weights(t, in[1]));
    }

    private static Int8Conv.Weights weights(Case t, byte[] w) {
        return Int8Conv.Weights.of(w, false, new int[] {0}, new int[] {t.out, t.c / t.spec.groups(), t.k, t.k}, t.spec.groups());
    }

    /** The child JVM of the tests above. */
    public static void main(String[] args) {
        var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        byte[][] x = new byte[CASES.length][];
        Int8Conv.Weights[] w = new Int8Conv.Weights[CASES.length];
        for (int i = 0; i < CASES.length; i++) {
            byte[][] in = inputs(CASES[i]);
            x[i] = in[0];
            w[i] = weights(CASES[i], in[1]);
        }
        for (int r = 0; r < 150; r++) for (int i = 0; i < CASES.length; i++) run(CASES[i], x[i], w[i]); // as a network's passes
        for (int i = 0; i < CASES.length; i++) {
            int calls = 20;
            long check = 0, b0 = mx.getCurrentThreadAllocatedBytes();
            for (int r = 0; r < calls; r++) check = run(CASES[i], x[i], w[i]);
            long b1 = mx.getCurrentThreadAllocatedBytes();
            System.out.println("case=" + i + " bytesPerCall=" + (b1 - b0) / (double) calls + " checksum=" + check);
        }
    }
}
