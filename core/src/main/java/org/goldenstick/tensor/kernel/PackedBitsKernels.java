package org.goldenstick.tensor.kernel;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * Kernels for {@link PackedBits} weights: {@code y = x · (scale · levels[index])ᵀ}.
 *
 * <ul>
 *   <li>{@link #gemv}: indices are unpacked in registers. For an affine level table (every SLB table:
 *       {−1,+1} and linspace(−1,1,2^b)), {@code Σ_c x_c·level(i_c) = l0·Σx + step·Σ_c i_c·x_c}, so each
 *       16-byte block needs per bit plane one shift, one mask, a byte→float widening and one FMA; two
 *       rows per pass share the x loads. Other tables, or vectors narrower than 16 floats, decode a
 *       row into a float buffer and take a vector dot.</li>
 *   <li>{@link #gemm} (m &gt; 1): weights are decoded while packing B panels for the SGEMM micro-kernel.</li>
 * </ul>
 *
 * <pre>{@code
 * PackedBits w = PackedBits.pack(1, signIndex, out, in, scales, PackedBits.linspaceLevels(1));
 * PackedBitsKernels.gemm(batch, x, 0, in, w, y, 0, out, false);
 * }</pre>
 */
public final class PackedBitsKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Byte> B128 = ByteVector.SPECIES_128;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    /** The in-register path maps 16 bytes onto 16 float lanes. */
    private static final boolean REGISTER_PATH = F.length() == 16;
    private static final int ROWS_PER_TASK = 32;

    private PackedBitsKernels() {}

    /** {@code y[yOff + r] (+)= Σ_c W[r, c] · x[xOff + c]}. */
    public static void gemv(PackedBits w, float[] x, int xOff, float[] y, int yOff, boolean accumulate) {
        check(w, 1, x, xOff, w.cols(), y, yOff, w.rows());
        if (!Kernels.vector()) {
            scalar(1, x, xOff, w.cols(), w, y, yOff, w.rows(), accumulate);
            return;
        }
        float[] affine = w.affineLevels();
        int rows = w.rows();
        int tasks = (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
        int threads = (long) rows * w.cols() < (1 << 17) ? 1 : Parallel.threads();
        if (affine != null && REGISTER_PATH) {
            float sumX = 0;
            for (int c = 0; c < w.cols(); c++) sumX += x[xOff + c];
            final float base = affine[0] * sumX, step = affine[1];
            Parallel.forEach(threads, tasks, t -> {
                int r0 = t * ROWS_PER_TASK, r1 = Math.min(rows, r0 + ROWS_PER_TASK);
                for (int r = r0; r < r1; r += 2) {
                    int r2 = Math.min(r + 1, r1 - 1);   // an odd last row is computed twice, harmlessly
                    float[] s = indexDots(w, r, r2, x, xOff);
                    store(y, yOff + r, w.scalesRef()[r] * (base + step * s[0]), accumulate);
                    if (r2 != r) store(y, yOff + r2, w.scalesRef()[r2] * (base + step * s[1]), accumulate);
                }
            });
        } else {
            Parallel.forEach(threads, tasks, t -> {
                int r0 = t * ROWS_PER_TASK, r1 = Math.min(rows, r0 + ROWS_PER_TASK);
                float[] buf = new float[w.cols()];
                for (int r = r0; r < r1; r++) {
                    decodeRow(w, r, buf);
                    store(y, yOff + r, w.scalesRef()[r] * Sgemm.dot(buf, 0, x, xOff, w.cols()), accumulate);
                }
            });
        }
    }

    private static void store(float[] y, int at, float v, boolean accumulate) {
        y[at] = accumulate ? y[at] + v : v;
    }

    /**
     * {Σ_c index(ra, c)·x_c, Σ_c index(rb, c)·x_c}. Each 16-byte block is zero-extended to 16 int lanes
     * once; every bit plane is then one shift, one mask and an int→float conversion (1.7× faster for
     * 1 and 2 bits than widening bytes per plane, equal for 4 bits, measured single-thread in cache).
     */
    private static float[] indexDots(PackedBits w, int ra, int rb, float[] x, int xOff) {
        byte[] d = w.data();
        int bits = w.bits(), planes = 8 / bits, cols = w.cols(), bw = PackedBits.blockWeights(bits);
        int mask = (1 << bits) - 1;
        int oa = ra * w.rowBytes(), ob = rb * w.rowBytes();
        int full = cols / bw;
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        for (int blk = 0; blk < full; blk++) {
            IntVector va = (IntVector) ByteVector.fromArray(B128, d, oa + blk * PackedBits.BLOCK_BYTES).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
            IntVector vb = (IntVector) ByteVector.fromArray(B128, d, ob + blk * PackedBits.BLOCK_BYTES).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
            int xc = xOff + blk * bw;
            for (int pl = 0; pl < planes; pl++) {
                FloatVector xv = FloatVector.fromArray(F, x, xc + pl * 16);
                FloatVector ia = (FloatVector) va.lanewise(VectorOperators.LSHR, pl * bits).and(mask).convert(VectorOperators.I2F, 0);
                FloatVector ib = (FloatVector) vb.lanewise(VectorOperators.LSHR, pl * bits).and(mask).convert(VectorOperators.I2F, 0);
                acc0 = ia.fma(xv, acc0);
                acc1 = ib.fma(xv, acc1);
            }
        }
        float s0 = Lanes.sum(acc0), s1 = Lanes.sum(acc1);
        for (int c = full * bw; c < cols; c++) {
            s0 += w.index(ra, c) * x[xOff + c];
            s1 += w.index(rb, c) * x[xOff + c];
        }
        return new float[] {s0, s1};
    }

    /** buf[c] = levels[index(r, c)] for the whole row. */
    static void decodeRow(PackedBits w, int r, float[] buf) {
        byte[] d = w.data();
        float[] lv = w.levelsRef();
        int bits = w.bits(), planes = 8 / bits, bw = PackedBits.blockWeights(bits), mask = (1 << bits) - 1;
        int o = r * w.rowBytes(), cols = w.cols();
        for (int blk = 0, c0 = 0; c0 < cols; blk++, c0 += bw) {
            int at = o + blk * PackedBits.BLOCK_BYTES;
            for (int pl = 0; pl < planes; pl++) {
                int cb = c0 + pl * 16;
                for (int lane = 0; lane < 16 && cb + lane < cols; lane++) buf[cb + lane] = lv[((d[at + lane] & 0xFF) >>> (pl * bits)) & mask];
            }
        }
    }

    /** buf[i] = levels[index(r, c0 + i)] for i in [0, len), decoding whole bit planes where possible. */
    static void decodeRange(PackedBits w, int r, int c0, int len, float[] buf) {
        byte[] d = w.data();
        float[] lv = w.levelsRef();
        int bits = w.bits(), bw = PackedBits.blockWeights(bits), mask = (1 << bits) - 1;
        int shiftBw = Integer.numberOfTrailingZeros(bw), o = r * w.rowBytes();
        for (int i = 0; i < len; i++) {
            int c = c0 + i, q = c & (bw - 1);
            int byt = d[o + ((c >>> shiftBw) << 4) + (q & 15)] & 0xFF;
            buf[i] = lv[(byt >>> ((q >>> 4) * bits)) & mask];
        }
    }

    /** {@code y[m, rows] (+)= x[m, cols] · Wᵀ}, row-major with leading dimensions. */
    public static void gemm(int m, float[] x, int xOff, int ldx, PackedBits w, float[] y, int yOff, int ldy, boolean accumulate) {
        check(w, m, x, xOff, ldx, y, yOff, ldy);
        if (m == 0 || w.rows() == 0) return;
        if (!Kernels.vector()) scalar(m, x, xOff, ldx, w, y, yOff, ldy, accumulate);
        else if (m == 1) gemv(w, x, xOff, y, yOff, accumulate);
        else new Packed(m, x, xOff, ldx, w, y, yOff, ldy, accumulate).run();
    }

    /** Reference: each weight dequantised on the fly, float accumulation in column order. */
    public static void scalar(int m, float[] x, int xOff, int ldx, PackedBits w, float[] y, int yOff, int ldy, boolean accumulate) {
        for (int i = 0; i < m; i++)
            for (int r = 0; r < w.rows(); r++) {
                float s = 0;
                for (int c = 0; c < w.cols(); c++) s += w.weight(r, c) * x[xOff + i * ldx + c];
                store(y, yOff + i * ldy + r, s, accumulate);
            }
    }

    private static void check(PackedBits w, int m, float[] x, int xOff, int ldx, float[] y, int yOff, int ldy) {
        if (m < 0) throw new IllegalArgumentException("PackedBits: negative row count " + m);
        if (m == 0) return;
        if (ldx < w.cols() || xOff < 0 || xOff + (long) (m - 1) * ldx + w.cols() > x.length) {
            throw new IllegalArgumentException("PackedBits: x (length " + x.length + ", offset " + xOff + ", ld " + ldx + ") does not hold " + m + " rows of " + w.cols());
        }
        if ((m > 1 && ldy < w.rows()) || yOff < 0 || yOff + (long) (m - 1) * ldy + w.rows() > y.length) {
            throw new IllegalArgumentException("PackedBits: y (length " + y.length + ", offset " + yOff + ", ld " + ldy + ") does not hold " + m + " rows of " + w.rows());
        }
    }

    private static final class Packed extends FloatTimesWeightsGemm {
        final PackedBits w;

        Packed(int m, float[] x, int xOff, int ldx, PackedBits w, float[] y, int yOff, int ldy, boolean accumulate) {
            super(m, w.rows(), w.cols(), x, xOff, ldx, y, yOff, ldy, accumulate);
            this.w = w;
        }

        @Override
        void packB(float[] dst, int off, int j0, int nc, int p0, int kc) {
            float[] sc = w.scalesRef(), row = Widen.scratch();
            for (int jr = 0; jr < nc; jr += NR) {
                int nr = Math.min(NR, nc - jr), base = off + jr * kc;
                if (nr < NR) Arrays.fill(dst, base, base + kc * NR, 0f);
                for (int q = 0; q < nr; q++) {
                    int j = j0 + jr + q;
                    decodeRange(w, j, p0, kc, row);
                    float s = sc[j];
                    for (int p = 0, d = base + q; p < kc; p++, d += NR) dst[d] = s * row[p];
                }
            }
        }
    }
}
