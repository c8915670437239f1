package org.goldenstick.tensor.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Weight-only 4/8-bit kernels (W4A16, W8A16 in the compressed-tensors {@code pack-quantized} layout):
 * {@code y = x · W_realᵀ} over {@link PackedIntWeights}, never materialising W_real.
 *
 * <ul>
 *   <li>{@link #gemv} (decode): per block of L int32 words, every code position {@code i} of the word is one shift,
 *       one mask and an int→float conversion in registers, multiplied into a de-interleaved copy of x (made once
 *       per call, so lane j of position i meets column {@code (word+j)·p + i}). Scale and zero point are fused per
 *       group: {@code Σ_c (q_c − z)·s·x_c = s·(Σ_c u_c·x_c − (2^(b−1) + z)·Σ_c x_c)} with the stored unsigned
 *       {@code u = q + 2^(b−1)}, the group sums of x computed once per call. Two rows per pass share the x loads.
 *       L is the widest of 16/8/4 lanes that divides a group's words (W4 g128: 16 lanes = one group).</li>
 *   <li>{@link #gemm} (prefill): a few rows run the GEMV per row; more are dequantised while packing B panels for
 *       the SGEMM micro-kernel.</li>
 *   <li>{@link #scalar}: the reference, dequantising each weight.</li>
 * </ul>
 *
 * <pre>{@code
 * PackedIntWeights w = PackedIntWeights.pack(codes, out, in, 4, 128, scales, null);
 * WNA16Kernels.gemv(w, x, 0, y, 0, false);                            // y[out] = W·x
 * WNA16Kernels.gemm(tokens, xs, 0, in, w, ys, 0, out, false);         // ys[tokens, out]
 * }</pre>
 */
public final class WNA16Kernels {
    private static final int PREFERRED_INT_LANES = IntVector.SPECIES_PREFERRED.length();
    private static final int ROWS_PER_TASK = 32;
    private static final int SMALL_M = 16;

    private WNA16Kernels() {}

    /** {@code y[yOff + r] (+)= Σ_c W_real[r, c] · x[xOff + c]} for every row r. */
    public static void gemv(PackedIntWeights w, float[] x, int xOff, float[] y, int yOff, boolean accumulate) {
        check(w, 1, x, xOff, w.cols(), y, yOff, w.rows());
        if (!Kernels.vector()) {
            scalar(1, x, xOff, w.cols(), w, y, yOff, w.rows(), accumulate);
            return;
        }
        Prepared px = prepare(w, x, xOff);
        int rows = w.rows();
        int tasks = (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
        int threads = (long) rows * w.cols() < (1 << 16) ? 1 : Parallel.threads();
        Parallel.forEach(threads, tasks, t -> {
            int r0 = t * ROWS_PER_TASK, r1 = Math.min(rows, r0 + ROWS_PER_TASK);
            float[] out = new float[2];
            for (int r = r0; r < r1; r += 2) {
                int r2 = Math.min(r + 1, r1 - 1);
                rowPair(w, r, r2, px, x, xOff, out);
                store(y, yOff + r, out[0], accumulate);
                if (r2 != r) store(y, yOff + r2, out[1], accumulate);
            }
        });
    }

    private static void store(float[] y, int at, float v, boolean accumulate) {
        y[at] = accumulate ? y[at] + v : v;
    }

    /** x de-interleaved per block of L words, the group sums of x, and the lane count. */
    private record Prepared(float[] xp, float[] groupSums, int lanes, int fullBlocks) {}

    /** Lanes per block: the widest of 16/8/4 (up to the machine's int lanes) dividing a group's word count. */
    static int lanes(PackedIntWeights w) {
        int p = w.packFactor();
        int wordsPerGroup = w.groupSize() == w.cols() ? w.cols() / p : w.groupSize() / p;
        for (int l = PREFERRED_INT_LANES; l >= 4; l /= 2) {
            if (w.groupSize() == w.cols() ? wordsPerGroup >= l : wordsPerGroup % l == 0) return l;
        }
        return 0;
    }

    private static Prepared prepare(PackedIntWeights w, float[] x, int xOff) {
        int cols = w.cols(), p = w.packFactor(), gs = w.groupSize();
        int l = lanes(w);
        int block = l * p, full = l == 0 ? 0 : cols / block;
        // group sums over the vectorised columns (all of them, except a per-channel row's scalar tail)
        float[] gsum = new float[w.groups()];
        for (int g = 0; g < gsum.length; g++) {
            float s = 0;
            for (int c = g * gs, end = Math.min((g + 1) * gs, full * block); c < end; c++) s += x[xOff + c];
            gsum[g] = s;
        }
        float[] xp = new float[full * block];
        for (int b = 0; b < full; b++) {
            int base = b * block;
            for (int j = 0; j < l; j++) for (int i = 0; i < p; i++) xp[base + i * l + j] = x[xOff + base + j * p + i];
        }
        return new Prepared(xp, gsum, l, full);
    }

    private static VectorSpecies<Integer> intSpecies(int lanes) {
        return VectorSpecies.of(int.class, VectorShape.forBitSize(lanes * 32));
    }

    private static VectorSpecies<Float> floatSpecies(int lanes) {
        return VectorSpecies.of(float.class, VectorShape.forBitSize(lanes * 32));
    }

    /** out = {row ra · x, row rb · x}. */
    private static void rowPair(PackedIntWeights w, int ra, int rb, Prepared px, float[] x, int xOff, float[] out) {
        int l = px.lanes();
        int bits = w.bits(), p = w.packFactor(), mask = (1 << bits) - 1, off = 1 << (bits - 1);
        int wpr = w.wordsPerRow(), groups = w.groups(), gs = w.groupSize();
        int[] packed = w.packed();
        float[] sc = w.scales(), xp = px.xp();
        byte[] zp = w.zeroPoints();
        float corrA = 0, corrB = 0, tailA = 0, tailB = 0;
        float totalA, totalB;
        int vectorCols = px.fullBlocks() * l * p;
        if (l > 0) {
            VectorSpecies<Integer> I = intSpecies(l);
            VectorSpecies<Float> F = floatSpecies(l);
            FloatVector totA = FloatVector.zero(F), totB = FloatVector.zero(F);
            int blocksPerGroup = gs == w.cols() ? px.fullBlocks() : gs / (l * p);
            int baseA = ra * wpr, baseB = rb * wpr;
            for (int g = 0; g < groups; g++) {
                FloatVector accA = FloatVector.zero(F), accB = FloatVector.zero(F);
                int b0 = g * blocksPerGroup;
                for (int b = b0; b < b0 + blocksPerGroup; b++) {
                    IntVector va = IntVector.fromArray(I, packed, baseA + b * l);
                    IntVector vb = IntVector.fromArray(I, packed, baseB + b * l);
                    int xb = b * l * p;
                    for (int i = 0; i < p; i++) {
                        FloatVector xv = FloatVector.fromArray(F, xp, xb + i * l);
                        FloatVector qa = (FloatVector) va.lanewise(VectorOperators.LSHR, bits * i).and(mask).convert(VectorOperators.I2F, 0);
                        FloatVector qb = (FloatVector) vb.lanewise(VectorOperators.LSHR, bits * i).and(mask).convert(VectorOperators.I2F, 0);
                        accA = qa.fma(xv, accA);
                        accB = qb.fma(xv, accB);
                    }
                }
                float sa = sc[ra * groups + g], sb = sc[rb * groups + g];
                totA = accA.fma(FloatVector.broadcast(F, sa), totA);
                totB = accB.fma(FloatVector.broadcast(F, sb), totB);
                float gsum = px.groupSums()[g];
                corrA += sa * (off + (zp == null ? 0 : zp[ra * groups + g])) * gsum;
                corrB += sb * (off + (zp == null ? 0 : zp[rb * groups + g])) * gsum;
            }
            totalA = sum(totA);
            totalB = sum(totB);
        } else {
            totalA = 0;
            totalB = 0;
        }
        for (int c = vectorCols; c < w.cols(); c++) {
            float xv = x[xOff + c];
            tailA += (w.q(ra, c) - w.zeroPoint(ra, c)) * w.scale(ra, c) * xv;
            tailB += (w.q(rb, c) - w.zeroPoint(rb, c)) * w.scale(rb, c) * xv;
        }
        out[0] = totalA - corrA + tailA;
        out[1] = totalB - corrB + tailB;
    }

    private static float sum(FloatVector v) {
        if (v.species() == FloatVector.SPECIES_PREFERRED) return Lanes.sum(v);
        return Lanes.scalarTree(v.toArray());
    }

    /** {@code y[m, rows] (+)= x[m, cols] · W_realᵀ}, x and y row-major with leading dimensions. */
    public static void gemm(int m, float[] x, int xOff, int ldx, PackedIntWeights w, float[] y, int yOff, int ldy, boolean accumulate) {
        check(w, m, x, xOff, ldx, y, yOff, ldy);
        if (m == 0 || w.rows() == 0) return;
        if (!Kernels.vector()) {
            scalar(m, x, xOff, ldx, w, y, yOff, ldy, accumulate);
        } else if (m <= SMALL_M) {
            for (int i = 0; i < m; i++) gemv(w, x, xOff + i * ldx, y, yOff + i * ldy, accumulate);
        } else {
            new Packed(m, x, xOff, ldx, w, y, yOff, ldy, accumulate).run();
        }
    }

    /** Reference: dequantise each weight and accumulate in float, row by row. */
    public static void scalar(int m, float[] x, int xOff, int ldx, PackedIntWeights w, float[] y, int yOff, int ldy, boolean accumulate) {
        for (int i = 0; i < m; i++)
            for (int r = 0; r < w.rows(); r++) {
                float s = 0;
                for (int c = 0; c < w.cols(); c++) s += (w.q(r, c) - w.zeroPoint(r, c)) * w.scale(r, c) * x[xOff + i * ldx + c];
                int o = yOff + i * ldy + r;
                y[o] = accumulate ? y[o] + s : s;
            }
    }

    private static void check(PackedIntWeights w, int m, float[] x, int xOff, int ldx, float[] y, int yOff, int ldy) {
        if (m < 0) throw new IllegalArgumentException("WNA16: negative row count " + m);
        if (m == 0) return;
        if (ldx < w.cols() || xOff < 0 || xOff + (long) (m - 1) * ldx + w.cols() > x.length) {
            throw new IllegalArgumentException("WNA16: x (length " + x.length + ", offset " + xOff + ", ld " + ldx + ") does not hold " + m + " rows of " + w.cols() + " inputs");
        }
        if ((m > 1 && ldy < w.rows()) || yOff < 0 || yOff + (long) (m - 1) * ldy + w.rows() > y.length) {
            throw new IllegalArgumentException("WNA16: y (length " + y.length + ", offset " + yOff + ", ld " + ldy + ") does not hold " + m + " rows of " + w.rows() + " outputs");
        }
    }

    /** Packed GEMM: A = x, B = W_realᵀ dequantised while packing. */
    private static final class Packed extends FloatTimesWeightsGemm {
        final PackedIntWeights w;

        Packed(int m, float[] x, int xOff, int ldx, PackedIntWeights w, float[] y, int yOff, int ldy, boolean accumulate) {
            super(m, w.rows(), w.cols(), x, xOff, ldx, y, yOff, ldy, accumulate);
            this.w = w;
        }

        @Override
        void packB(float[] dst, int off, int j0, int nc, int p0, int kc) {
            float[] row = Widen.scratch();
            int bits = w.bits(), p = w.packFactor(), mask = (1 << bits) - 1, offset = 1 << (bits - 1);
            int wpr = w.wordsPerRow(), gs = w.groupSize(), groups = w.groups();
            int[] packed = w.packed();
            float[] sc = w.scales();
            byte[] zp = w.zeroPoints();
            for (int jr = 0; jr < nc; jr += NR) {
                int nr = Math.min(NR, nc - jr), base = off + jr * kc;
                if (nr < NR) java.util.Arrays.fill(dst, base, base + kc * NR, 0f);
                for (int q = 0; q < nr; q++) {
                    int j = j0 + jr + q, wb = j * wpr;
                    for (int c = p0; c < p0 + kc; c++) {
                        int g = c / gs;
                        int u = (packed[wb + c / p] >>> (bits * (c % p))) & mask;
                        row[c - p0] = (u - offset - (zp == null ? 0 : zp[j * groups + g])) * sc[j * groups + g];
                    }
                    Widen.scatter(row, kc, dst, base + q, NR);
                }
            }
        }
    }
}
