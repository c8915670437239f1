package org.goldenstick.tensor.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * {@code y (+)= x · Wᵀ} with float activations and {@link FloatWeights} read in place (float32, bfloat16 or float16
 * in a mapped file): the floating-point counterpart of {@link W8A16Kernels}.
 *
 * <ul>
 *   <li>Up to {@link #SMALL_M} rows of x (decode): four weight rows per pass, each loaded once per x row as vectors
 *       straight from the segment (bfloat16 widened by a 16-bit shift, float16 decoded into a per-thread row first),
 *       rows split into blocks pulled dynamically by the workers.</li>
 *   <li>More rows (prefill): {@code yᵀ = W·xᵀ} with the weights on the broadcast side of a 12×32 register tile
 *       ({@link #rowTile12}), so they are read row by row as stored and never transposed into panels; only the
 *       activations are transposed, once per call.</li>
 * </ul>
 * {@link #scalar} is the reference (plain loops); {@link Kernels#useVector(boolean)} selects it.
 *
 * <pre>{@code
 * FloatWeights w = FloatWeights.of(weights, out, in);
 * FloatWeightKernels.gemm(1, x, 0, in, w, y, 0, out, false);   // y[out] = W·x
 * }</pre>
 */
public final class FloatWeightKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final VectorSpecies<Short> H = VectorSpecies.of(short.class, VectorShape.forBitSize(F.length() * 16));
    private static final int LANES = F.length();
    private static final int ROWS_PER_TASK = 32;
    /** Up to this many activation rows, the row-dot kernel beats decode-and-pack. */
    static final int SMALL_M = 16;

    private static final ThreadLocal<float[]> ROWS = ThreadLocal.withInitial(() -> new float[0]);

    private FloatWeightKernels() {}

    /** {@code y[m, rows] (+)= x[m, cols] · Wᵀ}, x and y row-major with leading dimensions. */
    public static void gemm(int m, float[] x, int xOff, int ldx, FloatWeights w, float[] y, int yOff, int ldy, boolean accumulate) {
        check(m, x, xOff, ldx, w, y, yOff, ldy);
        if (m == 0 || w.rows() == 0) return;
        if (!Kernels.vector()) {
            scalar(m, x, xOff, ldx, w, y, yOff, ldy, accumulate);
        } else if (m <= SMALL_M) {
            int rows = w.rows(), tasks = (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
            int threads = (long) rows * w.cols() * m < (1 << 16) ? 1 : Parallel.threads();
            Parallel.forEach(threads, tasks, t -> {
                int r0 = t * ROWS_PER_TASK, r1 = Math.min(rows, r0 + ROWS_PER_TASK);
                for (int r = r0; r < r1; r += 4) rowBlock(w, r, Math.min(4, r1 - r), m, x, xOff, ldx, y, yOff, ldy, accumulate);
            });
        } else {
            weightRows(m, x, xOff, ldx, w, y, yOff, ldy, accumulate);
        }
    }

    /** Weight rows per register tile ({@link #rowTile12}). */
    static final int TILE_ROWS = 12;
    /** Weight rows per task (the broadcast side: a block of ROW_BLOCK × KC floats stays in L2 while the token panels pass); a multiple of TILE_ROWS. */
    static final int ROW_BLOCK = 96;
    /** K block: a 32-token panel of kc transposed activations (kc·32 floats) stays in L1. */
    static final int KC = 256;

    private static final class RowsScratch {
        float[] w = new float[0], c = new float[0];
    }

    private static final ThreadLocal<RowsScratch> ROWS_SCRATCH = ThreadLocal.withInitial(RowsScratch::new);

    /**
     * Prefill: {@code yᵀ = W·xᵀ} with the weights as the broadcast side of the register tile, so they are never
     * transposed into panels (packing W into 32-column panels cost a third of prefill time: every weight is used by
     * only m tokens). x is transposed once into {@code xt [k][mPad]} (tokens past m zero) and shared by every task;
     * each task owns a block of weight rows, copies (decodes) its rows of one K block into a contiguous float block
     * and runs {@link #rowTile12} (12 weight rows × 32 tokens) over every token panel, accumulating {@code yᵀ} in a
     * per-thread block that is written transposed into y at the end. Each weight is read once from the mapping.
     */
    private static void weightRows(int m, float[] x, int xOff, int ldx, FloatWeights w, float[] y, int yOff, int ldy, boolean accumulate) {
        final int mr = TILE_ROWS, nr = 2 * LANES;
        final int n = w.rows(), k = w.cols(), mPad = PackedGemm.roundUp(m, nr);
        int threads = Parallel.threads();
        float[] xt = new float[k * mPad];
        Parallel.forEach(threads, (k + KC - 1) / KC, b -> transpose(m, Math.min(KC, k - KC * b), x, xOff + KC * b, ldx, xt, KC * b * mPad, mPad));
        // At least four tasks per thread where the rows allow it, so dynamic scheduling evens out a slow core.
        int block = Math.max(mr, Math.min(ROW_BLOCK, PackedGemm.roundUp((n + 4 * threads - 1) / (4 * threads), mr)));
        int tasks = (n + block - 1) / block;
        Parallel.forEach(threads, tasks, t -> {
            int r0 = t * block, rows = Math.min(block, n - r0), rowsPad = PackedGemm.roundUp(rows, mr);
            RowsScratch s = ROWS_SCRATCH.get();
            if (s.w.length < 2 * rowsPad * KC) s.w = new float[2 * rowsPad * KC];
            if (s.c.length < rowsPad * mPad) s.c = new float[rowsPad * mPad];
            float[] wb = s.w, ct = s.c;
            // Two weight blocks: while the first token panel runs on one, the next K block's rows are copied into the
            // other a group at a time, so their reads from the mapping overlap the kernel's arithmetic.
            int cur = 0, nxt = rowsPad * KC;
            for (int g = 0; g < rowsPad; g += mr) decodeGroup(w, r0, rows, g, 0, Math.min(KC, k), wb, cur);
            for (int p0 = 0; p0 < k; p0 += KC) {
                int kc = Math.min(KC, k - p0), p1 = p0 + KC, kcNext = Math.min(KC, k - p1);
                for (int j = 0; j < mPad; j += nr) {
                    for (int g = 0; g < rowsPad; g += mr) {
                        rowTile12(kc, wb, cur + g * kc, kc, xt, p0 * mPad + j, mPad, ct, g * mPad + j, mPad, p0 > 0);
                        if (j == 0 && kcNext > 0) decodeGroup(w, r0, rows, g, p1, kcNext, wb, nxt);
                    }
                }
                int swap = cur;
                cur = nxt;
                nxt = swap;
            }
            for (int i = 0; i < m; i++) {
                int o = yOff + i * ldy + r0;
                if (accumulate) for (int r = 0; r < rows; r++) y[o + r] += ct[r * mPad + i];
                else for (int r = 0; r < rows; r++) y[o + r] = ct[r * mPad + i];
            }
        });
    }

    /**
     * The prefill register tile: 12 weight rows (broadcast, rows at {@code a0 + r·lda}) × 32 tokens (two vectors at
     * {@code b0 + p·ldb}), 24 accumulators. Twelve rows rather than {@link Sgemm#rowKernel}'s six: each token vector
     * load then feeds 12 FMAs instead of 6, measured 1.15-1.2× faster per CPU-second on cache-resident blocks (and
     * ahead of 8×32 and 4×64). Writes {@code C = tile}, or {@code C += tile} with {@code add}.
     */
    static void rowTile12(int k, float[] a, int a0, int lda, float[] b, int b0, int ldb, float[] c, int co, int ldc, boolean add) {
        final int l = LANES;
        FloatVector c000, c001, c010, c011, c020, c021, c030, c031, c040, c041, c050, c051, c060, c061, c070, c071, c080, c081, c090, c091, c100, c101, c110, c111;
        if (add) {
            c000 = FloatVector.fromArray(F, c, co);
            c001 = FloatVector.fromArray(F, c, co + l);
            c010 = FloatVector.fromArray(F, c, co + 1 * ldc);
            c011 = FloatVector.fromArray(F, c, co + 1 * ldc + l);
            c020 = FloatVector.fromArray(F, c, co + 2 * ldc);
            c021 = FloatVector.fromArray(F, c, co + 2 * ldc + l);
            c030 = FloatVector.fromArray(F, c, co + 3 * ldc);
            c031 = FloatVector.fromArray(F, c, co + 3 * ldc + l);
            c040 = FloatVector.fromArray(F, c, co + 4 * ldc);
            c041 = FloatVector.fromArray(F, c, co + 4 * ldc + l);
            c050 = FloatVector.fromArray(F, c, co + 5 * ldc);
            c051 = FloatVector.fromArray(F, c, co + 5 * ldc + l);
            c060 = FloatVector.fromArray(F, c, co + 6 * ldc);
            c061 = FloatVector.fromArray(F, c, co + 6 * ldc + l);
            c070 = FloatVector.fromArray(F, c, co + 7 * ldc);
            c071 = FloatVector.fromArray(F, c, co + 7 * ldc + l);
            c080 = FloatVector.fromArray(F, c, co + 8 * ldc);
            c081 = FloatVector.fromArray(F, c, co + 8 * ldc + l);
            c090 = FloatVector.fromArray(F, c, co + 9 * ldc);
            c091 = FloatVector.fromArray(F, c, co + 9 * ldc + l);
            c100 = FloatVector.fromArray(F, c, co + 10 * ldc);
            c101 = FloatVector.fromArray(F, c, co + 10 * ldc + l);
            c110 = FloatVector.fromArray(F, c, co + 11 * ldc);
            c111 = FloatVector.fromArray(F, c, co + 11 * ldc + l);
        } else {
            c000 = c001 = c010 = c011 = c020 = c021 = c030 = c031 = c040 = c041 = c050 = c051 = c060 = c061 = c070 = c071 = c080 = c081 = c090 = c091 = c100 = c101 = c110 = c111 = FloatVector.zero(F);
        }
        int a01 = a0 + 1 * lda, a02 = a0 + 2 * lda, a03 = a0 + 3 * lda, a04 = a0 + 4 * lda, a05 = a0 + 5 * lda, a06 = a0 + 6 * lda, a07 = a0 + 7 * lda, a08 = a0 + 8 * lda, a09 = a0 + 9 * lda, a10 = a0 + 10 * lda, a11 = a0 + 11 * lda;
        for (int p = 0, bo = b0; p < k; p++, bo += ldb) {
            FloatVector b0v = FloatVector.fromArray(F, b, bo), b1v = FloatVector.fromArray(F, b, bo + l);
            FloatVector a0v = FloatVector.broadcast(F, a[a0 + p]);
            c000 = a0v.fma(b0v, c000);
            c001 = a0v.fma(b1v, c001);
            FloatVector a1v = FloatVector.broadcast(F, a[a01 + p]);
            c010 = a1v.fma(b0v, c010);
            c011 = a1v.fma(b1v, c011);
            FloatVector a2v = FloatVector.broadcast(F, a[a02 + p]);
            c020 = a2v.fma(b0v, c020);
            c021 = a2v.fma(b1v, c021);
            FloatVector a3v = FloatVector.broadcast(F, a[a03 + p]);
            c030 = a3v.fma(b0v, c030);
            c031 = a3v.fma(b1v, c031);
            FloatVector a4v = FloatVector.broadcast(F, a[a04 + p]);
            c040 = a4v.fma(b0v, c040);
            c041 = a4v.fma(b1v, c041);
            FloatVector a5v = FloatVector.broadcast(F, a[a05 + p]);
            c050 = a5v.fma(b0v, c050);
            c051 = a5v.fma(b1v, c051);
            FloatVector a6v = FloatVector.broadcast(F, a[a06 + p]);
            c060 = a6v.fma(b0v, c060);
            c061 = a6v.fma(b1v, c061);
            FloatVector a7v = FloatVector.broadcast(F, a[a07 + p]);
            c070 = a7v.fma(b0v, c070);
            c071 = a7v.fma(b1v, c071);
            FloatVector a8v = FloatVector.broadcast(F, a[a08 + p]);
            c080 = a8v.fma(b0v, c080);
            c081 = a8v.fma(b1v, c081);
            FloatVector a9v = FloatVector.broadcast(F, a[a09 + p]);
            c090 = a9v.fma(b0v, c090);
            c091 = a9v.fma(b1v, c091);
            FloatVector a10v = FloatVector.broadcast(F, a[a10 + p]);
            c100 = a10v.fma(b0v, c100);
            c101 = a10v.fma(b1v, c101);
            FloatVector a11v = FloatVector.broadcast(F, a[a11 + p]);
            c110 = a11v.fma(b0v, c110);
            c111 = a11v.fma(b1v, c111);
        }
        c000.intoArray(c, co);
        c001.intoArray(c, co + l);
        c010.intoArray(c, co + 1 * ldc);
        c011.intoArray(c, co + 1 * ldc + l);
        c020.intoArray(c, co + 2 * ldc);
        c021.intoArray(c, co + 2 * ldc + l);
        c030.intoArray(c, co + 3 * ldc);
        c031.intoArray(c, co + 3 * ldc + l);
        c040.intoArray(c, co + 4 * ldc);
        c041.intoArray(c, co + 4 * ldc + l);
        c050.intoArray(c, co + 5 * ldc);
        c051.intoArray(c, co + 5 * ldc + l);
        c060.intoArray(c, co + 6 * ldc);
        c061.intoArray(c, co + 6 * ldc + l);
        c070.intoArray(c, co + 7 * ldc);
        c071.intoArray(c, co + 7 * ldc + l);
        c080.intoArray(c, co + 8 * ldc);
        c081.intoArray(c, co + 8 * ldc + l);
        c090.intoArray(c, co + 9 * ldc);
        c091.intoArray(c, co + 9 * ldc + l);
        c100.intoArray(c, co + 10 * ldc);
        c101.intoArray(c, co + 10 * ldc + l);
        c110.intoArray(c, co + 11 * ldc);
        c111.intoArray(c, co + 11 * ldc + l);
    }

    /** Rows {@code g..g+TILE_ROWS} of the task's block (zero past {@code rows}), columns [p0, p0+kc), into {@code wb[base + r·kc …]}. */
    private static void decodeGroup(FloatWeights w, int r0, int rows, int g, int p0, int kc, float[] wb, int base) {
        for (int r = g; r < g + TILE_ROWS; r++) {
            if (r < rows) decode(w, w.address(r0 + r, p0), kc, wb, base + r * kc);
            else Arrays.fill(wb, base + r * kc, base + (r + 1) * kc, 0f);
        }
    }

    /**
     * {@code dst[d + p·ld + i] = x[xOff + i·ldx + p]} for i < m, p < k: 16 tokens of one column gathered per vector
     * store (the vector path), or 16×16 blocks of scalars.
     */
    static void transpose(int m, int k, float[] x, int xOff, int ldx, float[] dst, int d, int ld) {
        int i0 = 0;
        if (Kernels.vector()) {
            int[] index = new int[LANES];
            for (int q = 0; q < LANES; q++) index[q] = q * ldx;
            for (; i0 + LANES <= m; i0 += LANES) {
                int src = xOff + i0 * ldx;
                for (int p = 0; p < k; p++) FloatVector.fromArray(F, x, src + p, index, 0).intoArray(dst, d + p * ld + i0);
            }
        }
        for (; i0 < m; i0 += 16) {
            int i1 = Math.min(m, i0 + 16);
            for (int p0 = 0; p0 < k; p0 += 16) {
                int p1 = Math.min(k, p0 + 16);
                for (int i = i0; i < i1; i++) {
                    int src = xOff + i * ldx;
                    for (int p = p0; p < p1; p++) dst[d + p * ld + i] = x[src + p];
                }
            }
        }
    }

    /** Reference: each weight decoded with {@link FloatWeights#get}, float accumulation in column order. */
    public static void scalar(int m, float[] x, int xOff, int ldx, FloatWeights w, float[] y, int yOff, int ldy, boolean accumulate) {
        check(m, x, xOff, ldx, w, y, yOff, ldy);
        for (int i = 0; i < m; i++) {
            for (int r = 0; r < w.rows(); r++) {
                float s = 0;
                for (int c = 0; c < w.cols(); c++) s += w.get(r, c) * x[xOff + i * ldx + c];
                int o = yOff + i * ldy + r;
                y[o] = accumulate ? y[o] + s : s;
            }
        }
    }

    private static void check(int m, float[] x, int xOff, int ldx, FloatWeights w, float[] y, int yOff, int ldy) {
        if (m < 0) throw new IllegalArgumentException("FloatWeightKernels: negative row count " + m);
        if (m == 0) return;
        if (ldx < w.cols() || xOff < 0 || xOff + (long) (m - 1) * ldx + w.cols() > x.length) {
            throw new IllegalArgumentException("FloatWeightKernels: x (length " + x.length + ", offset " + xOff + ", ld " + ldx + ") does not hold " + m + " rows of " + w.cols() + " inputs");
        }
        if ((m > 1 && ldy < w.rows()) || yOff < 0 || yOff + (long) (m - 1) * ldy + w.rows() > y.length) {
            throw new IllegalArgumentException("FloatWeightKernels: y (length " + y.length + ", offset " + yOff + ", ld " + ldy + ") does not hold " + m + " rows of " + w.rows() + " outputs");
        }
    }

    /** Up to four weight rows {@code r …} against every x row; each weight vector is loaded once per x row. */
    private static void rowBlock(FloatWeights w, int r, int nr, int m, float[] x, int xOff, int ldx, float[] y, int yOff, int ldy, boolean accumulate) {
        int cols = w.cols();
        float[] dec = null;
        if (w.encoding() == FloatWeights.Encoding.F16) {
            dec = ROWS.get();
            if (dec.length < 4 * cols) ROWS.set(dec = new float[4 * cols]);
            for (int q = 0; q < nr; q++) decode(w, w.address(r + q, 0), cols, dec, q * cols);
        }
        float[] out = new float[4];
        for (int i = 0; i < m; i++) {
            int xo = xOff + i * ldx;
            if (nr == 4) {
                if (dec != null) dot4(dec, cols, x, xo, out);
                else if (w.encoding() == FloatWeights.Encoding.F32) dot4F32(w.data(), w.address(r, 0), cols, x, xo, out);
                else dot4Bf16(w.data(), w.address(r, 0), cols, x, xo, out);
            } else {
                for (int q = 0; q < nr; q++) out[q] = dec != null ? dotRow(dec, q * cols, cols, x, xo) : dotRow(w, r + q, x, xo);
            }
            int o = yOff + i * ldy + r;
            for (int q = 0; q < nr; q++) y[o + q] = accumulate ? y[o + q] + out[q] : out[q];
        }
    }

    private static void dot4F32(MemorySegment s, long a0, int cols, float[] x, int xo, float[] out) {
        long stride = 4L * cols, a1 = a0 + stride, a2 = a1 + stride, a3 = a2 + stride;
        FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F), s2 = FloatVector.zero(F), s3 = FloatVector.zero(F);
        int c = 0;
        for (; c + LANES <= cols; c += LANES) {
            FloatVector xv = FloatVector.fromArray(F, x, xo + c);
            long b = 4L * c;
            s0 = FloatVector.fromMemorySegment(F, s, a0 + b, ByteOrder.LITTLE_ENDIAN).fma(xv, s0);
            s1 = FloatVector.fromMemorySegment(F, s, a1 + b, ByteOrder.LITTLE_ENDIAN).fma(xv, s1);
            s2 = FloatVector.fromMemorySegment(F, s, a2 + b, ByteOrder.LITTLE_ENDIAN).fma(xv, s2);
            s3 = FloatVector.fromMemorySegment(F, s, a3 + b, ByteOrder.LITTLE_ENDIAN).fma(xv, s3);
        }
        float t0 = Lanes.sum(s0), t1 = Lanes.sum(s1), t2 = Lanes.sum(s2), t3 = Lanes.sum(s3);
        for (; c < cols; c++) {
            float xv = x[xo + c];
            long b = 4L * c;
            t0 += s.get(FloatWeights.F32_LE, a0 + b) * xv;
            t1 += s.get(FloatWeights.F32_LE, a1 + b) * xv;
            t2 += s.get(FloatWeights.F32_LE, a2 + b) * xv;
            t3 += s.get(FloatWeights.F32_LE, a3 + b) * xv;
        }
        out[0] = t0;
        out[1] = t1;
        out[2] = t2;
        out[3] = t3;
    }

    private static FloatVector bf16(MemorySegment s, long a) {
        IntVector iv = (IntVector) ShortVector.fromMemorySegment(H, s, a, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.S2I, I, 0);
        return iv.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    private static void dot4Bf16(MemorySegment s, long a0, int cols, float[] x, int xo, float[] out) {
        long stride = 2L * cols, a1 = a0 + stride, a2 = a1 + stride, a3 = a2 + stride;
        FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F), s2 = FloatVector.zero(F), s3 = FloatVector.zero(F);
        int c = 0;
        for (; c + LANES <= cols; c += LANES) {
            FloatVector xv = FloatVector.fromArray(F, x, xo + c);
            long b = 2L * c;
            s0 = bf16(s, a0 + b).fma(xv, s0);
            s1 = bf16(s, a1 + b).fma(xv, s1);
            s2 = bf16(s, a2 + b).fma(xv, s2);
            s3 = bf16(s, a3 + b).fma(xv, s3);
        }
        float t0 = Lanes.sum(s0), t1 = Lanes.sum(s1), t2 = Lanes.sum(s2), t3 = Lanes.sum(s3);
        for (; c < cols; c++) {
            float xv = x[xo + c];
            long b = 2L * c;
            t0 += bf16Scalar(s, a0 + b) * xv;
            t1 += bf16Scalar(s, a1 + b) * xv;
            t2 += bf16Scalar(s, a2 + b) * xv;
            t3 += bf16Scalar(s, a3 + b) * xv;
        }
        out[0] = t0;
        out[1] = t1;
        out[2] = t2;
        out[3] = t3;
    }

    private static float bf16Scalar(MemorySegment s, long a) {
        return Float.intBitsToFloat((s.get(FloatWeights.I16_LE, a) & 0xFFFF) << 16);
    }

    /** Four decoded rows {@code d[q·cols …]} against one x row. */
    private static void dot4(float[] d, int cols, float[] x, int xo, float[] out) {
        FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F), s2 = FloatVector.zero(F), s3 = FloatVector.zero(F);
        int c = 0;
        for (; c + LANES <= cols; c += LANES) {
            FloatVector xv = FloatVector.fromArray(F, x, xo + c);
            s0 = FloatVector.fromArray(F, d, c).fma(xv, s0);
            s1 = FloatVector.fromArray(F, d, cols + c).fma(xv, s1);
            s2 = FloatVector.fromArray(F, d, 2 * cols + c).fma(xv, s2);
            s3 = FloatVector.fromArray(F, d, 3 * cols + c).fma(xv, s3);
        }
        float t0 = Lanes.sum(s0), t1 = Lanes.sum(s1), t2 = Lanes.sum(s2), t3 = Lanes.sum(s3);
        for (; c < cols; c++) {
            float xv = x[xo + c];
            t0 += d[c] * xv;
            t1 += d[cols + c] * xv;
            t2 += d[2 * cols + c] * xv;
            t3 += d[3 * cols + c] * xv;
        }
        out[0] = t0;
        out[1] = t1;
        out[2] = t2;
        out[3] = t3;
    }

    private static float dotRow(float[] d, int off, int cols, float[] x, int xo) {
        FloatVector acc = FloatVector.zero(F);
        int c = 0;
        for (; c + LANES <= cols; c += LANES) acc = FloatVector.fromArray(F, d, off + c).fma(FloatVector.fromArray(F, x, xo + c), acc);
        float t = Lanes.sum(acc);
        for (; c < cols; c++) t += d[off + c] * x[xo + c];
        return t;
    }

    private static float dotRow(FloatWeights w, int r, float[] x, int xo) {
        MemorySegment s = w.data();
        long a = w.address(r, 0);
        int cols = w.cols(), c = 0;
        FloatVector acc = FloatVector.zero(F);
        boolean f32 = w.encoding() == FloatWeights.Encoding.F32;
        for (; c + LANES <= cols; c += LANES) {
            FloatVector wv = f32 ? FloatVector.fromMemorySegment(F, s, a + 4L * c, ByteOrder.LITTLE_ENDIAN) : bf16(s, a + 2L * c);
            acc = wv.fma(FloatVector.fromArray(F, x, xo + c), acc);
        }
        float t = Lanes.sum(acc);
        for (; c < cols; c++) t += w.get(r, c) * x[xo + c];
        return t;
    }

    /** {@code out[o + i]} = element i of the {@code len} elements of {@code w}'s encoding at byte address {@code a}. */
    static void decode(FloatWeights w, long a, int len, float[] out, int o) {
        MemorySegment s = w.data();
        switch (w.encoding()) {
            case F32 -> MemorySegment.copy(s, FloatWeights.F32_LE, a, out, o, len);
            case BF16 -> {
                int i = 0;
                if (Kernels.vector()) for (; i + LANES <= len; i += LANES) bf16(s, a + 2L * i).intoArray(out, o + i);
                for (; i < len; i++) out[o + i] = bf16Scalar(s, a + 2L * i);
            }
            case F16 -> {
                for (int i = 0; i < len; i++) out[o + i] = Float.float16ToFloat(s.get(FloatWeights.I16_LE, a + 2L * i));
            }
        }
    }
}
