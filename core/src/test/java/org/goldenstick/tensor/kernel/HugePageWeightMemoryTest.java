package org.goldenstick.tensor.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Large weight allocations on transparent huge pages ({@link WeightMemory.HugePages}): the same segment kind and
 * contents as an arena allocation, 2 MB aligned, advised for THP, unmapped when dropped, and an arena allocation when
 * the mapping fails. Checked against the kernel's own account ({@code /proc/self/smaps}, {@code /proc/self/status}).
 */
class HugePageWeightMemoryTest {
    private static final long MB = 1 << 20;
    private static final int INVALID_ADVICE = 9999; // madvise fails with EINVAL

    @TempDir
    Path tmp;

    @Test
    void theThpModeIsReadFromTheKernelsEnabledFile() throws IOException {
        assertTrue(WeightMemory.HugePages.thpEnabled(Files.writeString(tmp.resolve("a"), "always [madvise] never\n")));
        assertTrue(WeightMemory.HugePages.thpEnabled(Files.writeString(tmp.resolve("b"), "[always] madvise never\n")));
        assertFalse(WeightMemory.HugePages.thpEnabled(Files.writeString(tmp.resolve("c"), "always madvise [never]\n")));
        assertFalse(WeightMemory.HugePages.thpEnabled(tmp.resolve("missing")), "no THP support in the kernel");
    }

    @Test
    void mappingsArePaddedToWholeHugePagesOnlyWhereThatWastesLittle() {
        long w4 = 5632L * 2048 / 2; // a [5632, 2048] W4 matrix: 5.5 MiB -> three huge pages (9 % padding)
        assertEquals(6 * MB, WeightMemory.HugePages.mappedLength(w4));
        assertEquals(2 * MB, WeightMemory.HugePages.mappedLength(2 * MB));
        assertEquals(2 * MB + 64 * 1024, WeightMemory.HugePages.mappedLength(2 * MB + 1), "padding to 4 MB would waste 1/2");
        assertEquals(5 * MB + 64 * 1024, WeightMemory.HugePages.mappedLength(5 * MB + 12_345), "padding to 6 MB would waste 1/5");
        assertEquals(18 * MB, WeightMemory.HugePages.mappedLength(17 * MB));
    }

    @Test
    void aLargeAllocationIsAWeightKindSegmentOnHugePagesWithTheRightContents() throws IOException {
        assumeTrue(WeightMemory.hugePagesAvailable(), "no transparent huge pages here");
        byte[] bytes = new byte[(int) (5 * MB + 12_345)];
        new Random(7).nextBytes(bytes);
        MemorySegment c = WeightMemory.copy(bytes);
        assertEquals(bytes.length, c.byteSize());
        assertEquals(0, c.address() % (2 * MB), "2 MB aligned");
        assertTrue(WeightMemory.isWeightKind(c) && !WeightMemory.isFileView(c));
        assertSame(WeightMemory.allocate(64).getClass(), c.getClass(), "the same segment class as small (arena) allocations");
        assertArrayEquals(bytes, c.toArray(ValueLayout.JAVA_BYTE));
        assertEquals("1", smapsField(c.address(), "THPeligible"), "advised for huge pages before use");

        MemorySegment z = WeightMemory.allocate(3 * MB);
        for (long i = 0; i < z.byteSize(); i += 4096) assertEquals(0, z.get(ValueLayout.JAVA_BYTE, i), "zeroed at " + i);
        assertEquals(0, z.get(ValueLayout.JAVA_BYTE, z.byteSize() - 1));

        if (onlyAdvisedMemoryIsEligible()) assertEquals("0", smapsField(WeightMemory.allocate(MB).address(), "THPeligible"), "below 2 MB: an ordinary arena allocation");
    }

    @Test
    void whenTheMappingFailsNothingStaysMappedAndAllocateFallsBackToTheArena() throws IOException {
        assumeTrue(WeightMemory.hugePagesAvailable(), "no transparent huge pages here");
        try (Arena arena = Arena.ofConfined()) {
            assertNull(WeightMemory.HugePages.map(1L << 56, arena, WeightMemory.HugePages.MADV_HUGEPAGE), "mmap refuses 64 PB");
            long before = vmSizeKb();
            for (int i = 0; i < 100; i++) assertNull(WeightMemory.HugePages.map(6 * MB, arena, INVALID_ADVICE), "madvise refuses the advice");
            // 100 leaked mappings would be 600 MB of address space
            assertTrue(vmSizeKb() - before < 100 * 1024, "failed mappings are unmapped: VmSize grew " + (vmSizeKb() - before) + " kB");
        }
        byte[] bytes = new byte[(int) (4 * MB + 3)];
        new Random(8).nextBytes(bytes);
        MemorySegment s = WeightMemory.allocate(bytes.length, INVALID_ADVICE);
        assertTrue(WeightMemory.isWeightKind(s) && !s.isReadOnly());
        assertEquals(0, s.address() % WeightMemory.ALIGNMENT);
        if (onlyAdvisedMemoryIsEligible()) assertEquals("0", smapsField(s.address(), "THPeligible"), "the fallback is the arena's memory");
        for (long i = 0; i < s.byteSize(); i += 4096) assertEquals(0, s.get(ValueLayout.JAVA_BYTE, i));
        s.copyFrom(MemorySegment.ofArray(bytes));
        assertArrayEquals(bytes, s.toArray(ValueLayout.JAVA_BYTE));
    }

    @Test
    void theMappingIsUnmappedWhenItsArenaClosesOrItBecomesUnreachable() throws Exception {
        assumeTrue(WeightMemory.hugePagesAvailable(), "no transparent huge pages here");
        Arena arena = Arena.ofConfined();
        MemorySegment s = WeightMemory.HugePages.map(6 * MB, arena, WeightMemory.HugePages.MADV_HUGEPAGE);
        assertNotNull(s);
        s.set(ValueLayout.JAVA_LONG, 0, 42L);
        long address = s.address();
        assertTrue(isMapped(address));
        arena.close();
        assertFalse(isMapped(address), "munmap on close");

        // automatic: 32 × 16 MB dropped; the cleaner unmaps them after a GC (a leak keeps 512 MB of address space)
        long before = vmSizeKb();
        List<MemorySegment> held = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            MemorySegment m = WeightMemory.allocate(16 * MB);
            m.set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
            held.add(m);
        }
        assertTrue(vmSizeKb() - before >= 32 * 16 * 1024, "the mappings exist while held");
        held = null;
        long deadline = System.nanoTime() + 20_000_000_000L;
        long grown;
        do {
            System.gc();
            Thread.sleep(50);
            grown = vmSizeKb() - before;
        } while (grown > 128 * 1024 && System.nanoTime() < deadline);
        assertTrue(grown <= 128 * 1024, "dropped huge-page weights are unmapped; VmSize still " + grown + " kB above the start");
    }

    @Test
    void kernelsGiveIdenticalResultsOnHugePagesAndOnArenaMemory() throws IOException {
        assumeTrue(WeightMemory.hugePagesAvailable(), "no transparent huge pages here");
        int rows = 2048, cols = 2048, gs = 128;
        Random r = new Random(9);
        byte[] codes = new byte[rows * cols];
        for (int i = 0; i < codes.length; i++) codes[i] = (byte) (r.nextInt(16) - 8);
        float[] scales = new float[rows * cols / gs];
        for (int i = 0; i < scales.length; i++) scales[i] = 0.01f + r.nextFloat() * 0.02f;
        PackedIntWeights p = PackedIntWeights.pack(codes, rows, cols, 4, gs, scales, null);
        assertTrue(p.words().byteSize() >= 2 * MB && p.words().address() % (2 * MB) == 0, "packed words on huge pages");
        MemorySegment arena = WeightMemory.allocate(p.words().byteSize(), INVALID_ADVICE);
        arena.copyFrom(p.words());
        if (onlyAdvisedMemoryIsEligible()) assertEquals("0", smapsField(arena.address(), "THPeligible"), "the other memory is the arena's");
        PackedIntWeights q = new PackedIntWeights(arena, rows, cols, 4, gs, scales, null);
        float[] x = new float[3 * cols];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        float[] a = new float[3 * rows], b = new float[3 * rows];
        WNA16Kernels.gemm(3, x, 0, cols, p, a, 0, rows, false);
        WNA16Kernels.gemm(3, x, 0, cols, q, b, 0, rows, false);
        assertArrayEquals(a, b, 0f);
        float[] c = new float[rows], d = new float[rows];
        W8A8BlockKernels.packed4(p, x, 0, 1, c, 0, rows);
        W8A8BlockKernels.packed4(q, x, 0, 1, d, 0, rows);
        assertArrayEquals(c, d, 0f);
        // and both are the weights: one row against a float64 dot product of the codes
        double ref = 0, magnitude = 0;
        for (int k = 0; k < cols; k++) {
            double term = (double) codes[5 * cols + k] * scales[5 * (cols / gs) + k / gs] * x[k];
            ref += term;
            magnitude += Math.abs(term);
        }
        assertEquals(ref, a[5], 1e-3 * magnitude);
    }

    /** A field of the {@code /proc/self/smaps} entry of the mapping holding {@code address} (e.g. {@code THPeligible}). */
    private static String smapsField(long address, String field) throws IOException {
        boolean inside = false;
        for (String line : Files.readAllLines(Path.of("/proc/self/smaps"))) {
            long[] range = range(line);
            if (range != null) {
                inside = range[0] <= address && address < range[1];
                continue;
            }
            if (inside && line.startsWith(field + ":")) return line.substring(field.length() + 1).trim().split("\\s+")[0];
        }
        throw new AssertionError("no " + field + " for 0x" + Long.toHexString(address) + " in /proc/self/smaps");
    }

    /** THP mode {@code madvise}: memory is eligible for huge pages only where advised (with {@code always}, all is). */
    private static boolean onlyAdvisedMemoryIsEligible() throws IOException {
        return Files.readString(Path.of("/sys/kernel/mm/transparent_hugepage/enabled")).contains("[madvise]");
    }

    private static boolean isMapped(long address) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
            long[] range = range(line);
            if (range != null && range[0] <= address && address < range[1]) return true;
        }
        return false;
    }

    /** The {@code [start, end)} of a maps line {@code start-end perms ...}, or null for another line. */
    private static long[] range(String line) {
        int dash = line.indexOf('-'), space = line.indexOf(' ');
        if (dash <= 0 || space < dash) return null;
        try {
            return new long[] {Long.parseUnsignedLong(line.substring(0, dash), 16), Long.parseUnsignedLong(line.substring(dash + 1, space), 16)};
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static long vmSizeKb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) if (line.startsWith("VmSize:")) return Long.parseLong(line.replaceAll("\\D", ""));
        throw new AssertionError("no VmSize in /proc/self/status");
    }
}
