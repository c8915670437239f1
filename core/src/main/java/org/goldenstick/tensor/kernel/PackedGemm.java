package org.goldenstick.tensor.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The blocked GEMM driver shared by every packed kernel (fp32 SGEMM, exact int8 GEMM, dequantising
 * weight-only GEMM). GotoBLAS layout: K is cut into KC blocks, B into NR-column panels and A into
 * MR-row panels, and an MR×NR register-tiled micro-kernel runs over the packed panels.
 *
 * <p>A subclass says how to pack its operands (this is where transposes, int8 widening, zero points and
 * dequantisation happen) and how to store a finished tile; the driver does blocking and threading. Work
 * is split into M×N tiles pulled dynamically by {@link Parallel}. When there is more than one M block,
 * B is packed once up front and shared (each packed element is then reused by all M rows); otherwise
 * each task packs its own B tile and nothing is shared.
 */
abstract class PackedGemm {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    /** Micro-tile: MR rows × NR columns (two vectors), 12 accumulators. */
    static final int MR = 6, NR = 2 * L;
    /** Block sizes. KC ≤ 256 also keeps int8 partial sums exact in float (255·255·256 < 2^24). */
    static final int KC = 256, NC = 512, MC = 96;

    final int m, n, k;

    PackedGemm(int m, int n, int k) {
        this.m = m;
        this.n = n;
        this.k = k;
    }

    /**
     * Packs rows [i0, i0+mc) × columns [p0, p0+kc) of op(A) into ceil(mc/MR) panels; panel r holds
     * kc groups of MR values (row-major inside the group) and rows past mc are zero.
     */
    abstract void packA(float[] dst, int i0, int mc, int p0, int kc);

    /**
     * Packs rows [p0, p0+kc) × columns [j0, j0+nc) of op(B) into ceil(nc/NR) panels starting at dst[off];
     * each panel holds kc groups of NR values and columns past nc are zero.
     */
    abstract void packB(float[] dst, int off, int j0, int nc, int p0, int kc);

    /**
     * Stores an mr×nr tile (row stride NR in {@code tile}) at C(i, j); {@code overwrite} is true for the
     * first K block when the caller did not ask to accumulate.
     */
    abstract void storeTile(float[] tile, int i, int j, int mr, int nr, boolean overwrite);

    /** Float C for full tiles written straight from registers, or null to always go through storeTile. */
    float[] directC() {
        return null;
    }

    int directOffset(int i, int j) {
        throw new UnsupportedOperationException();
    }

    int directLd() {
        throw new UnsupportedOperationException();
    }

    /** True if the first K block overwrites C (not accumulate). */
    abstract boolean overwriteFirst();

    private static final class Buffers {
        float[] a = new float[roundUp(MC, MR) * KC];
        float[] b = new float[NC * KC];
        final float[] tile = new float[MR * NR];
        float[] shared = new float[0];
    }

    private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(Buffers::new);

    static int roundUp(int x, int q) {
        return (x + q - 1) / q * q;
    }

    /** Runs the whole product. */
    final void run() {
        if (m <= 0 || n <= 0) return;
        if (k <= 0) {
            if (overwriteFirst()) {
                float[] zero = new float[MR * NR];
                for (int i = 0; i < m; i += MR)
                    for (int j = 0; j < n; j += NR) storeTile(zero, i, j, Math.min(MR, m - i), Math.min(NR, n - j), true);
            }
            return;
        }
        int threads = Parallel.insideTask() ? 1 : Parallel.threads();
        int mBlocks = (m + MC - 1) / MC;
        int mc = roundUp((m + mBlocks - 1) / mBlocks, MR);
        mBlocks = (m + mc - 1) / mc;
        int nTile = Math.min(NC, roundUp(n, NR));
        // Enough tiles for dynamic scheduling to balance a slow core, without starving reuse of packed A.
        while (threads > 1 && (long) mBlocks * ((n + nTile - 1) / nTile) < 4L * threads && nTile > 2 * NR) {
            nTile = roundUp(nTile / 2, NR);
        }
        int nTiles = (n + nTile - 1) / nTile;
        final int fmc = mc, fnTile = nTile;
        int nPad = roundUp(n, NR);
        float[] sharedB = null;
        if (mBlocks > 1) {
            Buffers own = BUFFERS.get();
            long need = (long) nPad * k;
            if (need > Integer.MAX_VALUE - 16) throw new IllegalArgumentException("gemm: packed B too large: k=" + k + " n=" + n);
            if (own.shared.length < need) {
                float[] fresh = new float[(int) need];
                if (need <= (1 << 24)) own.shared = fresh; // cache up to 64 MiB per calling thread
                sharedB = fresh;
            } else {
                sharedB = own.shared;
            }
            final float[] sb = sharedB;
            int kBlocks = (k + KC - 1) / KC;
            int panelGroup = Math.max(1, NC / NR);
            int groups = (nPad / NR + panelGroup - 1) / panelGroup;
            Parallel.forEach(threads, kBlocks * groups, t -> {
                int pb = t / groups, g = t % groups;
                int p0 = pb * KC, kc = Math.min(KC, k - p0);
                int j0 = g * panelGroup * NR, nc = Math.min(panelGroup * NR, n - j0);
                packB(sb, p0 * nPad + j0 * kc, j0, nc, p0, kc);
            });
        }
        final float[] fsb = sharedB;
        Parallel.forEach(threads, mBlocks * nTiles, t -> {
            int ib = t / nTiles, jt = t % nTiles;
            int i0 = ib * fmc, mcur = Math.min(fmc, m - i0);
            int j0 = jt * fnTile, ncur = Math.min(fnTile, n - j0);
            Buffers buf = BUFFERS.get();
            for (int p0 = 0; p0 < k; p0 += KC) {
                int kc = Math.min(KC, k - p0);
                packA(buf.a, i0, mcur, p0, kc);
                float[] pb;
                int bBase;
                if (fsb != null) {
                    pb = fsb;
                    bBase = p0 * nPad + j0 * kc;
                } else {
                    pb = buf.b;
                    bBase = 0;
                    packB(pb, 0, j0, ncur, p0, kc);
                }
                boolean overwrite = p0 == 0 && overwriteFirst();
                block(buf, i0, mcur, j0, ncur, kc, pb, bBase, overwrite);
            }
        });
    }

    private void block(Buffers buf, int i0, int mc, int j0, int nc, int kc, float[] pb, int bBase, boolean overwrite) {
        float[] c = directC();
        float[] pa = buf.a;
        for (int jr = 0; jr < nc; jr += NR) {
            int nr = Math.min(NR, nc - jr);
            int bo = bBase + jr * kc;
            for (int ir = 0; ir < mc; ir += MR) {
                int mr = Math.min(MR, mc - ir);
                int ao = ir * kc;
                if (c != null && mr == MR && nr == NR) {
                    kernel(kc, pa, ao, pb, bo, c, directOffset(i0 + ir, j0 + jr), directLd(), !overwrite);
                } else {
                    kernel(kc, pa, ao, pb, bo, buf.tile, 0, NR, false);
                    storeTile(buf.tile, i0 + ir, j0 + jr, mr, nr, overwrite);
                }
            }
        }
    }

    /**
     * The 6×(2·lanes) micro-kernel: per k step two B vectors and six A broadcasts feed 12 FMAs held in
     * locals (the JIT keeps them in registers). Writes C = tile or C += tile.
     */
    static void kernel(int kc, float[] a, int ao, float[] b, int bo, float[] c, int co, int ldc, boolean add) {
        // Accumulating starts from C itself: one code path keeps the compiled kernel small enough for C2
        // to inline every Vector API call (a separate add-at-the-end path pushed it over the node limit).
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (add) {
            c00 = FloatVector.fromArray(S, c, co);
            c01 = FloatVector.fromArray(S, c, co + L);
            c10 = FloatVector.fromArray(S, c, co + ldc);
            c11 = FloatVector.fromArray(S, c, co + ldc + L);
            c20 = FloatVector.fromArray(S, c, co + 2 * ldc);
            c21 = FloatVector.fromArray(S, c, co + 2 * ldc + L);
            c30 = FloatVector.fromArray(S, c, co + 3 * ldc);
            c31 = FloatVector.fromArray(S, c, co + 3 * ldc + L);
            c40 = FloatVector.fromArray(S, c, co + 4 * ldc);
            c41 = FloatVector.fromArray(S, c, co + 4 * ldc + L);
            c50 = FloatVector.fromArray(S, c, co + 5 * ldc);
            c51 = FloatVector.fromArray(S, c, co + 5 * ldc + L);
        } else {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = FloatVector.zero(S);
        }
        for (int p = 0; p < kc; p++) {
            FloatVector b0 = FloatVector.fromArray(S, b, bo);
            FloatVector b1 = FloatVector.fromArray(S, b, bo + L);
            FloatVector av = FloatVector.broadcast(S, a[ao]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[ao + 1]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, a[ao + 2]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, a[ao + 3]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(S, a[ao + 4]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(S, a[ao + 5]);
            c50 = av.fma(b0, c50);
            c51 = av.fma(b1, c51);
            ao += MR;
            bo += NR;
        }
        c00.intoArray(c, co);
        c01.intoArray(c, co + L);
        c10.intoArray(c, co + ldc);
        c11.intoArray(c, co + ldc + L);
        c20.intoArray(c, co + 2 * ldc);
        c21.intoArray(c, co + 2 * ldc + L);
        c30.intoArray(c, co + 3 * ldc);
        c31.intoArray(c, co + 3 * ldc + L);
        c40.intoArray(c, co + 4 * ldc);
        c41.intoArray(c, co + 4 * ldc + L);
        c50.intoArray(c, co + 5 * ldc);
        c51.intoArray(c, co + 5 * ldc + L);
    }
}
