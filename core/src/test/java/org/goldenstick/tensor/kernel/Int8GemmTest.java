package org.goldenstick.tensor.kernel;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import org.junit.jupiter.api.extension.ExtendWith;

/** Int8Gemm against a long-integer reference written here, on both kernel paths. */
@ExtendWith(KernelSettings.class)
class Int8GemmTest {

    static byte[] bytes(Random rnd, int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }

    static int zp(Random rnd, boolean unsigned) {
        return unsigned ? rnd.nextInt(256) : rnd.nextInt(256) - 128;
    }

    /** Reference straight from the definition, in long arithmetic. */
    static long ref(byte[] a, int aOff, int lda, boolean tA, boolean ua, int[] za, byte[] b, int bOff, int ldb, boolean tB, boolean ub, int[] zb, int i, int j, int k) {
        long s = 0;
        for (int p = 0; p < k; p++) {
            int av = tA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
            int bv = tB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
            if (ua) av &= 0xFF;
            if (ub) bv &= 0xFF;
            s += (long) (av - za[za.length == 1 ? 0 : i]) * (bv - zb[zb.length == 1 ? 0 : j]);
        }
        return s;
    }

    static void check(Random rnd, int m, int n, int k) {
        boolean tA = rnd.nextBoolean(), tB = rnd.nextBoolean(), ua = rnd.nextBoolean(), ub = rnd.nextBoolean(), acc = rnd.nextBoolean();
        int lda = (tA ? m : k) + rnd.nextInt(3), ldb = (tB ? k : n) + rnd.nextInt(3), ldc = n + rnd.nextInt(3);
        int aOff = rnd.nextInt(4), bOff = rnd.nextInt(4), cOff = rnd.nextInt(4);
        byte[] a = bytes(rnd, aOff + lda * (tA ? k : m)), b = bytes(rnd, bOff + ldb * (tB ? n : k));
        // Extreme zero points make |a − za| reach 255, the worst case for float exactness.
        int[] za = rnd.nextBoolean() ? new int[] {zp(rnd, ua)} : new int[m];
        if (za.length == m) for (int i = 0; i < m; i++) za[i] = zp(rnd, ua);
        int[] zb = rnd.nextBoolean() ? new int[] {zp(rnd, ub)} : new int[n];
        if (zb.length == n) for (int j = 0; j < n; j++) zb[j] = zp(rnd, ub);
        QMatrix qa = new QMatrix(MemorySegment.ofArray(a), aOff, lda, tA, ua, za);
        QMatrix qb = new QMatrix(MemorySegment.ofArray(b), bOff, ldb, tB, ub, zb);
        int[] c = new int[cOff + ldc * m + 2];
        for (int i = 0; i < c.length; i++) c[i] = rnd.nextInt(2001) - 1000;
        int[] c0 = c.clone();
        Int8Gemm.gemm(m, n, k, qa, qb, c, cOff, ldc, acc);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                long want = ref(a, aOff, lda, tA, ua, za, b, bOff, ldb, tB, ub, zb, i, j, k) + (acc ? c0[cOff + i * ldc + j] : 0);
                assertEquals(want, c[cOff + i * ldc + j], () -> String.format("m=%d n=%d k=%d tA=%b tB=%b ua=%b ub=%b vector=%b", m, n, k, tA, tB, ua, ub, Kernels.vector()));
            }
    }

    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void randomShapesSignednessZeroPointsTransposes(boolean vector) {
        Kernels.useVector(vector);
        Random rnd = new Random(vector ? 21 : 22);
        int[] sizes = {1, 2, 5, 6, 7, 31, 33, 100, 257, 600};
        for (int t = 0; t < 30; t++) {
            int m = sizes[rnd.nextInt(sizes.length - 1)], n = sizes[rnd.nextInt(sizes.length - 1)], k = sizes[rnd.nextInt(sizes.length)];
            check(rnd, m, n, k);
        }
    }

    @Test
    void worstCaseMagnitudesStayExactAcrossManyKBlocks() {
        // All (a − za) = −255 and (b − zb) = −255: each 256-block sums to 16 646 400 (just under 2^24).
        for (boolean vector : new boolean[] {true, false}) {
            Kernels.useVector(vector);
            int m = 13, n = 40, k = 1000;
            byte[] a = new byte[m * k], b = new byte[k * n];
            int[] c = new int[m * n];
            Int8Gemm.gemm(m, n, k, QMatrix.uint8(a, 0, k, 255), QMatrix.uint8(b, 0, n, 255), c, 0, n, false);
            for (int v : c) assertEquals(255L * 255L * k, v);
        }
    }

    @Test
    void offHeapOperandsAndTwoThreads() {
        Parallel.setThreads(2);
        Random rnd = new Random(4);
        int m = 150, n = 70, k = 300;
        byte[] a = bytes(rnd, m * k), b = bytes(rnd, n * k);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment sb = arena.allocate(b.length);
            MemorySegment.copy(MemorySegment.ofArray(b), 0, sb, 0, b.length);
            int[] c = new int[m * n], r = new int[m * n];
            QMatrix qa = QMatrix.int8(a, 0, k, 3), qb = new QMatrix(sb, 0, k, true, false, new int[] {-7});
            Int8Gemm.gemm(m, n, k, qa, qb, c, 0, n, false);
            Int8Gemm.scalar(m, n, k, qa, QMatrix.int8(b, 0, k, -7).transpose(), r, 0, n, false);
            org.junit.jupiter.api.Assertions.assertArrayEquals(r, c);
        }
    }

    @Test
    void rejectsBadShapesAndZeroPoints() {
        assertThrows(IllegalArgumentException.class, () -> QMatrix.int8(new byte[4], 0, 2, 200));
        assertThrows(IllegalArgumentException.class, () -> QMatrix.uint8(new byte[4], 0, 2, -1));
        assertThrows(IllegalArgumentException.class, () ->
                Int8Gemm.gemm(2, 2, 3, QMatrix.int8(new byte[5], 0, 3, 0), QMatrix.int8(new byte[6], 0, 2, 0), new int[4], 0, 2, false));
        assertThrows(IllegalArgumentException.class, () ->
                Int8Gemm.gemm(2, 2, 2, QMatrix.int8(new byte[4], 0, 2, 0), QMatrix.int8(new byte[4], 0, 2, 0).withZeroPoints(1, 2, 3), new int[4], 0, 2, false));
    }
}
