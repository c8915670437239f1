package org.goldenstick.tensor.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

class LanesTest {
    @Test
    void exactIntKeepsThePreferredShapeAndRejectsAnother() {
        var ints = FloatVector.SPECIES_PREFERRED.withLanes(int.class);
        jdk.incubator.vector.IntVector v = jdk.incubator.vector.IntVector.broadcast(ints, 7);
        assertTrue(Lanes.exact(v) == v);
        var other = ints.vectorBitSize() == 128 ? jdk.incubator.vector.IntVector.SPECIES_256 : jdk.incubator.vector.IntVector.SPECIES_128;
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> Lanes.exact(jdk.incubator.vector.IntVector.zero(other)));
    }

    @Test
    void sumFollowsTheFixedPairwiseTreeBitForBit() {
        Random rng = new Random(7);
        int n = FloatVector.SPECIES_PREFERRED.length();
        // Many warm iterations so the check also runs after JIT compilation of Lanes.sum.
        for (int it = 0; it < 200_000; it++) {
            float[] lanes = new float[n];
            for (int i = 0; i < n; i++) lanes[i] = (float) (rng.nextGaussian() * Math.pow(10, rng.nextInt(9) - 4));
            float got = Lanes.sum(FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, lanes, 0));
            float want = Lanes.scalarTree(lanes);
            if (Float.floatToIntBits(got) != Float.floatToIntBits(want)) assertEquals(want, got, 0f, "iteration " + it);
        }
    }

    /** sumPair gives sum of each vector bit for bit (interpreted and compiled), and falls back for other species. */
    @Test
    void sumPairEqualsTwoSumsBitForBit() {
        Random rng = new Random(8);
        int n = FloatVector.SPECIES_PREFERRED.length();
        for (int it = 0; it < 200_000; it++) {
            float[] a = new float[n], b = new float[n];
            for (int i = 0; i < n; i++) {
                a[i] = (float) (rng.nextGaussian() * Math.pow(10, rng.nextInt(9) - 4));
                b[i] = (float) (rng.nextGaussian() * Math.pow(10, rng.nextInt(9) - 4));
            }
            long s = Lanes.sumPair(FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, a, 0), FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, b, 0));
            float wantA = Lanes.scalarTree(a), wantB = Lanes.scalarTree(b);
            if (Float.floatToIntBits(Lanes.first(s)) != Float.floatToIntBits(wantA)) assertEquals(wantA, Lanes.first(s), 0f, "a, iteration " + it);
            if (Float.floatToIntBits(Lanes.second(s)) != Float.floatToIntBits(wantB)) assertEquals(wantB, Lanes.second(s), 0f, "b, iteration " + it);
        }
        float[] lanes = {1e8f, 1f, -1e8f, 1f, 3f, 5f, 7f, 11f}, other = {-0f, 2f, 1e-7f, 3f, 1e7f, -1e7f, 0.5f, 9f};
        var s256 = FloatVector.SPECIES_256;
        long s = Lanes.sumPair(FloatVector.fromArray(s256, lanes, 0), FloatVector.fromArray(s256, other, 0));
        assertEquals(Lanes.scalarTree(lanes), Lanes.first(s), 0f);
        assertEquals(Lanes.scalarTree(other), Lanes.second(s), 0f);
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(Lanes.second(Lanes.sumPair(FloatVector.broadcast(s256, 1f), FloatVector.broadcast(s256, -0f)))), "the sign of a negative zero survives the packing");
    }

    @Test
    void otherSpeciesUseTheSameTree() {
        float[] lanes = {1e8f, 1f, -1e8f, 1f, 3f, 5f, 7f, 11f};
        float got = Lanes.sum(FloatVector.fromArray(FloatVector.SPECIES_256, lanes, 0));
        assertEquals(Lanes.scalarTree(lanes), got, 0f);
        double exact = 0;
        for (float v : lanes) exact += v;
        assertEquals(exact, got, 4f);
    }

    /**
     * Lanes.sum must compile to vector instructions without any type profile (see its class comment): a child JVM with
     * {@code -XX:-UseTypeProfile} (C2 then never uses a receiver profile, the worst case of a kernel compiled before
     * Lanes.sum was profiled) sums vectors in a compiled loop and reports the bytes it allocated per call. A sum that
     * needs a profile boxes its vectors (the loop over shuffles did: 864 bytes per call); this one allocates nothing.
     */
    @Test
    void sumAllocatesNothingOnceCompiledEvenWithoutTypeProfiles() throws Exception {
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(List.of(javaBin, "--add-modules", "jdk.incubator.vector", "-Xbatch", "-XX:-UseTypeProfile", "-Xmx64m",
                "-cp", System.getProperty("java.class.path"), LanesTest.class.getName())).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), out);
        assertEquals(0, p.exitValue(), out);
        Matcher m = Pattern.compile("bytesPerCall=([0-9.]+) sum=(\\S+)").matcher(out);
        assertTrue(m.find(), out);
        assertTrue(Double.parseDouble(m.group(1)) < 1, "Lanes.sum allocates " + m.group(1) + " bytes per call when compiled without type profiles: " + out);
        assertEquals(expectedChildSum(), Float.parseFloat(m.group(2)), 0f, "the child's sums");
    }

    private static final int CHILD_WARM_CALLS = 400, CHILD_WARM_N = 1000, CHILD_N = 100_000;

    private static float[] childInput() {
        int n = FloatVector.SPECIES_PREFERRED.length();
        float[] a = new float[n * 64];
        for (int i = 0; i < a.length; i++) a[i] = (i % 97) * 0.25f;
        return a;
    }

    /** One vector loaded per call (an exact type) summed by Lanes.sum: what a kernel does after its loop. */
    private static float childRun(float[] a, int n) {
        int l = FloatVector.SPECIES_PREFERRED.length();
        float s = 0;
        for (int it = 0; it < n; it++) s += Lanes.sum(FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, a, (it & 63) * l));
        return s;
    }

    private static float expectedChildSum() {
        float[] a = childInput();
        int l = FloatVector.SPECIES_PREFERRED.length();
        float s = 0;
        for (int it = 0; it < CHILD_N; it++) s += Lanes.scalarTree(java.util.Arrays.copyOfRange(a, (it & 63) * l, (it & 63) * l + l));
        return s;
    }

    /** The child JVM of {@link #sumAllocatesNothingOnceCompiledEvenWithoutTypeProfiles}. */
    public static void main(String[] args) {
        float[] a = childInput();
        for (int r = 0; r < CHILD_WARM_CALLS; r++) childRun(a, CHILD_WARM_N); // compiled (-Xbatch: before it returns)
        var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long b0 = mx.getCurrentThreadAllocatedBytes();
        float s = childRun(a, CHILD_N);
        long b1 = mx.getCurrentThreadAllocatedBytes();
        System.out.println("bytesPerCall=" + (b1 - b0) / (double) CHILD_N + " sum=" + s);
    }
}
