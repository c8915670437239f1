package org.goldenstick.tensor.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * Weight-only 4/8-bit kernels (W4A16, W8A16 in the compressed-tensors {@code pack-quantized} layout):
 * {@code y = x · W_realᵀ} over {@link PackedIntWeights}, never materialising W_real.
 *
 * <ul>
 *   <li>{@link #gemv} (decode): per block of L int32 words, every code position {@code i} of the word is one mask
 *       (in place: {@code u·2^(bits·i)}, the top position one shift instead) and an int→float conversion in
 *       registers, multiplied into a de-interleaved copy of x scaled by {@code 2^(−bits·i)} (made once per call, so
 *       lane j of position i meets column {@code (word+j)·p + i}; the power-of-two scalings are exact). Scale and zero point are fused per
 *       group: {@code Σ_c (q_c − z)·s·x_c = s·(Σ_c u_c·x_c − (2^(b−1) + z)·Σ_c x_c)} with the stored unsigned
 *       {@code u = q + 2^(b−1)}, the group sums of x computed once per call. Four rows per pass share the x loads; they
 *       come from four runs of the task's rows ({@link SpreadRows}), four weight streams in different pages, which
 *       read faster from memory than one row or four adjacent rows (docs/results.md). 8-bit weights with one scale
 *       per row (our W8A16 folders) take a leaner loop ({@code rowQuad8}: scales once per row, constant masks).
 *       L is the machine's int lane count (16 with AVX-512: a W4 block is 128 columns, one group of 128); narrower
 *       groups get their scales per lane by a gather. Columns after the last whole block run scalar.</li>
 *   <li>{@link #gemm} (prefill): a few rows run the GEMV per row; more are dequantised while packing B panels for
 *       the SGEMM micro-kernel.</li>
 *   <li>{@link #scalar}: the reference, dequantising each weight.</li>
 * </ul>
 * Where int8-block activations apply ({@link W8A8BlockKernels#appliesTo(int, boolean)}: by default decode-sized calls
 * on 4-bit weights) a call that does not accumulate goes to {@link W8A8BlockKernels#packed}: 8-bit symmetric weights to {@link W8A8BlockKernels#packed8}, 4-bit ones
 * (groups of whole blocks of 32) to the integer kernel {@link W8A8BlockKernels#packed4}.
 *
 * <pre>{@code
 * PackedIntWeights w = PackedIntWeights.pack(codes, out, in, 4, 128, scales, null);
 * WNA16Kernels.gemv(w, x, 0, y, 0, false);                            // y[out] = W·x
 * WNA16Kernels.gemm(tokens, xs, 0, in, w, ys, 0, out, false);         // ys[tokens, out]
 * }</pre>
 */
public final class WNA16Kernels {
    private static final int ROWS_PER_TASK = 32;
    private static final int SMALL_M = 16;

    private WNA16Kernels() {}

    /** {@code y[yOff + r] (+)= Σ_c W_real[r, c] · x[xOff + c]} for every row r. */
    public static void gemv(PackedIntWeights w, float[] x, int xOff, float[] y, int yOff, boolean accumulate) {
        check(w, 1, x, xOff, w.cols(), y, yOff, w.rows());
        if (!accumulate && W8A8BlockKernels.appliesTo(1, w.bits() == 4) && W8A8BlockKernels.supports(w)) {
            W8A8BlockKernels.packed(w, x, xOff, 1, y, yOff, w.rows());
            return;
        }
        if (!Kernels.vector()) {
            scalar(1, x, xOff, w.cols(), w, y, yOff, w.rows(), accumulate);
            return;
        }
        Prepared px = prepare(w, x, xOff);
        int rows = w.rows();
        int tasks = (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
        int threads = (long) rows * w.cols() < (1 << 16) ? 1 : Parallel.threads();
        if (w.bits() == 8 && w.groupSize() == w.cols()) {
            // per-channel 8-bit (our W8A16 folders): rowQuad8. Its own task loop: one loop choosing between rowQuad8 and
            // rowQuad per pass measured 1.5-2 % slower at model level (1 thread, 4 alternating JVMs; cause not looked into)
            Parallel.forEach(threads, tasks, t -> {
                int r0 = t * ROWS_PER_TASK, r1 = Math.min(rows, r0 + ROWS_PER_TASK);
                float[] out = SpreadRows.out(), lanes = QUAD_LANES.get();
                for (int p = 0, n = SpreadRows.passes(r0, r1); p < n; p++) {
                    int ra = SpreadRows.row(r0, r1, p, 0), rb = SpreadRows.row(r0, r1, p, 1), rc = SpreadRows.row(r0, r1, p, 2), rd = SpreadRows.row(r0, r1, p, 3);
                    rowQuad8(w, ra, rb, rc, rd, px, lanes);
                    finishQuad(w, ra, rb, rc, rd, px, x, xOff, 128, lanes, out);
                    for (int k = 0; k < SpreadRows.WAYS; k++)
                        if (SpreadRows.stored(r0, r1, p, k)) store(y, yOff + SpreadRows.row(r0, r1, p, k), out[k], accumulate);
                }
            });
            return;
        }
        Parallel.forEach(threads, tasks, t -> {
            int r0 = t * ROWS_PER_TASK, r1 = Math.min(rows, r0 + ROWS_PER_TASK);
            float[] out = SpreadRows.out(), lanes = QUAD_LANES.get();
            for (int p = 0, n = SpreadRows.passes(r0, r1); p < n; p++) {
                int ra = SpreadRows.row(r0, r1, p, 0), rb = SpreadRows.row(r0, r1, p, 1), rc = SpreadRows.row(r0, r1, p, 2), rd = SpreadRows.row(r0, r1, p, 3);
                rowQuad(w, ra, rb, rc, rd, px, lanes);
                finishQuad(w, ra, rb, rc, rd, px, x, xOff, 1 << (w.bits() - 1), lanes, out);
                for (int k = 0; k < SpreadRows.WAYS; k++)
                    if (SpreadRows.stored(r0, r1, p, k)) store(y, yOff + SpreadRows.row(r0, r1, p, k), out[k], accumulate);
            }
        });
    }

    private static void store(float[] y, int at, float v, boolean accumulate) {
        y[at] = accumulate ? y[at] + v : v;
    }

    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = I.length();

    /**
     * x de-interleaved per block of L words ({@code xp[block·L·p + i·L + j] = x[(block·L + j)·p + i]}), the sums of x
     * per group over the vectorised columns, the group of each word, and the number of whole blocks.
     */
    private record Prepared(float[] xp, float[] groupSums, int[] wordGroup, int fullBlocks) {}

    private static Prepared prepare(PackedIntWeights w, float[] x, int xOff) {
        int cols = w.cols(), p = w.packFactor(), gs = w.groupSize();
        int block = L * p, full = cols / block;
        float[] gsum = new float[w.groups()];
        for (int g = 0; g < gsum.length; g++) {
            float s = 0;
            for (int c = g * gs, end = Math.min((g + 1) * gs, full * block); c < end; c++) s += x[xOff + c];
            gsum[g] = s;
        }
        int bits = w.bits();
        float[] xp = new float[full * block];
        for (int b = 0; b < full; b++) {
            int base = b * block;
            for (int i = 0; i < p; i++) {
                // code position i is read in place (masked, not shifted) except the last: x carries 2^(−bits·i)
                float unit = i == p - 1 ? 1f : Math.scalb(1f, -bits * i);
                for (int j = 0; j < L; j++) xp[base + i * L + j] = x[xOff + base + j * p + i] * unit;
            }
        }
        int[] wordGroup = new int[full * L];
        for (int k = 0; k < wordGroup.length; k++) wordGroup[k] = k * p / gs;
        return new Prepared(xp, gsum, wordGroup, full);
    }

    /**
     * out = rows ra, rb, rc, rd times x. Each lane accumulates one word's codes (all in one group, as groups are whole
     * words), so a block's partial sums meet their scales in one FMA: broadcast when the block lies in one group,
     * gathered per lane otherwise (groups narrower than a block). Code position i &lt; p−1 is masked in place
     * ({@code word & (mask << bits·i)} = {@code u·2^(bits·i)}, exact in float) and meets x scaled by
     * {@code 2^(−bits·i)} (exact): one AND, one conversion and one FMA per position and row, no shift; the top
     * position is one unsigned shift (no mask). The products equal {@code u·x} bit for bit.
     */
    private static void rowQuad(PackedIntWeights w, int ra, int rb, int rc, int rd, Prepared px, float[] lanes) {
        int bits = w.bits(), p = w.packFactor(), mask = (1 << bits) - 1, top = bits * (p - 1);
        int wpr = w.wordsPerRow(), groups = w.groups(), gs = w.groupSize();
        MemorySegment packed = w.words();
        int[] wordGroup = px.wordGroup();
        float[] sc = w.scales(), xp = px.xp();
        boolean uniform = gs >= L * p;
        int full = px.fullBlocks();
        FloatVector totA = FloatVector.zero(F), totB = FloatVector.zero(F), totC = FloatVector.zero(F), totD = FloatVector.zero(F);
        long baseA = (long) ra * wpr, baseB = (long) rb * wpr, baseC = (long) rc * wpr, baseD = (long) rd * wpr;
        int sa0 = ra * groups, sb0 = rb * groups, sc0 = rc * groups, sd0 = rd * groups;
        for (int b = 0; b < full; b++) {
            int wo = b * L;
            IntVector va = word(packed, baseA + wo), vb = word(packed, baseB + wo);
            IntVector vc = word(packed, baseC + wo), vd = word(packed, baseD + wo);
            int xb = wo * p;
            FloatVector accA = FloatVector.zero(F), accB = FloatVector.zero(F), accC = FloatVector.zero(F), accD = FloatVector.zero(F);
            for (int i = 0; i < p - 1; i++) {
                FloatVector xv = FloatVector.fromArray(F, xp, xb + i * L);
                int m = mask << (bits * i);
                accA = pos(va, m, xv, accA);
                accB = pos(vb, m, xv, accB);
                accC = pos(vc, m, xv, accC);
                accD = pos(vd, m, xv, accD);
            }
            FloatVector xv = FloatVector.fromArray(F, xp, xb + (p - 1) * L);
            accA = ((FloatVector) va.lanewise(VectorOperators.LSHR, top).convert(VectorOperators.I2F, 0)).fma(xv, accA);
            accB = ((FloatVector) vb.lanewise(VectorOperators.LSHR, top).convert(VectorOperators.I2F, 0)).fma(xv, accB);
            accC = ((FloatVector) vc.lanewise(VectorOperators.LSHR, top).convert(VectorOperators.I2F, 0)).fma(xv, accC);
            accD = ((FloatVector) vd.lanewise(VectorOperators.LSHR, top).convert(VectorOperators.I2F, 0)).fma(xv, accD);
            if (uniform) {
                int g = xb / gs;
                totA = accA.fma(FloatVector.broadcast(F, sc[sa0 + g]), totA);
                totB = accB.fma(FloatVector.broadcast(F, sc[sb0 + g]), totB);
                totC = accC.fma(FloatVector.broadcast(F, sc[sc0 + g]), totC);
                totD = accD.fma(FloatVector.broadcast(F, sc[sd0 + g]), totD);
            } else {
                totA = accA.fma(FloatVector.fromArray(F, sc, sa0, wordGroup, wo), totA);
                totB = accB.fma(FloatVector.fromArray(F, sc, sb0, wordGroup, wo), totB);
                totC = accC.fma(FloatVector.fromArray(F, sc, sc0, wordGroup, wo), totC);
                totD = accD.fma(FloatVector.fromArray(F, sc, sd0, wordGroup, wo), totD);
            }
        }
        // handed over in memory, summed by the caller (finishQuad): see rowQuad8
        totA.intoArray(lanes, 0);
        totB.intoArray(lanes, L);
        totC.intoArray(lanes, 2 * L);
        totD.intoArray(lanes, 3 * L);
    }

    /**
     * Rows ra, rb, rc, rd of 8-bit weights with one scale per row (our W8A16 folders), rows from four runs of the task
     * ({@link SpreadRows}): four sequential weight streams, one block of L words of each per iteration, one
     * accumulator per row, the row's scale applied once at the end. Per CPU-second of one thread on a 600 MB working
     * set (AVX-512, docs/results.md) 1.45–1.5× the one-row pass it replaced, whose single stream left the core
     * waiting on memory, and 1.4× in cache (constant masks after unrolling; no per-block scale, group lookup or
     * division). The loop over the code positions stays a loop in the source: unrolled by hand, C2's inlining budget
     * runs out and the vectors are boxed (as they are with eight rows per pass).
     */
    private static void rowQuad8(PackedIntWeights w, int ra, int rb, int rc, int rd, Prepared px, float[] lanes) {
        MemorySegment packed = w.words();
        float[] xp = px.xp();
        int full = px.fullBlocks();
        long wpr = w.wordsPerRow(), baseA = ra * wpr, baseB = rb * wpr, baseC = rc * wpr, baseD = rd * wpr;
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        for (int b = 0; b < full; b++) {
            long wo = (long) b * L;
            IntVector v0 = word(packed, baseA + wo), v1 = word(packed, baseB + wo);
            IntVector v2 = word(packed, baseC + wo), v3 = word(packed, baseD + wo);
            int xb = b * L * 4;
            for (int i = 0; i < 4; i++) {
                FloatVector xv = FloatVector.fromArray(F, xp, xb + i * L);
                a0 = code8(v0, i, xv, a0);
                a1 = code8(v1, i, xv, a1);
                a2 = code8(v2, i, xv, a2);
                a3 = code8(v3, i, xv, a3);
            }
        }
        // The four accumulators leave in memory and the caller sums them (finishQuad): passed to a method C2 does not
        // inline, or summed behind a class test (Lanes.sum's other-species path), they were boxed at every pass
        // (~200 bytes per pass of four rows; WNA16KernelsTest.gemvAllocatesNothingPerPassOnceCompiled).
        float[] sc = w.scales();
        a0.mul(sc[ra]).intoArray(lanes, 0);
        a1.mul(sc[rb]).intoArray(lanes, L);
        a2.mul(sc[rc]).intoArray(lanes, 2 * L);
        a3.mul(sc[rd]).intoArray(lanes, 3 * L);
    }

    /** Per thread: the four accumulators of the last {@link #rowQuad} / {@link #rowQuad8} pass. */
    private static final ThreadLocal<float[]> QUAD_LANES = ThreadLocal.withInitial(() -> new float[4 * L]);

    /** {@code out[k]} = row k's lanes in {@code lanes} summed ({@link Lanes#sumPair}, the same bits as {@link Lanes#sum}), finished. */
    private static void finishQuad(PackedIntWeights w, int ra, int rb, int rc, int rd, Prepared px, float[] x, int xOff, int off, float[] lanes, float[] out) {
        byte[] zp = w.zeroPoints();
        long ab = Lanes.sumPair(FloatVector.fromArray(F, lanes, 0), FloatVector.fromArray(F, lanes, L));
        long cd = Lanes.sumPair(FloatVector.fromArray(F, lanes, 2 * L), FloatVector.fromArray(F, lanes, 3 * L));
        out[0] = finish(w, ra, Lanes.first(ab), px, x, xOff, off, zp);
        out[1] = finish(w, rb, Lanes.second(ab), px, x, xOff, off, zp);
        out[2] = finish(w, rc, Lanes.first(cd), px, x, xOff, off, zp);
        out[3] = finish(w, rd, Lanes.second(cd), px, x, xOff, off, zp);
    }

    /** acc + float(code position i of each 8-bit word, in place as in {@link #prepare}) · x. */
    private static FloatVector code8(IntVector word, int i, FloatVector x, FloatVector acc) {
        IntVector c = i == 3 ? word.lanewise(VectorOperators.LSHR, 24) : word.and(0xFF << (8 * i));
        return ((FloatVector) c.convert(VectorOperators.I2F, 0)).fma(x, acc);
    }

    /** L little-endian words from word index {@code i} of the segment. */
    private static IntVector word(MemorySegment s, long i) {
        return IntVector.fromMemorySegment(I, s, 4 * i, ByteOrder.LITTLE_ENDIAN);
    }

    /** acc + float(word &amp; m)·x */
    private static FloatVector pos(IntVector word, int m, FloatVector x, FloatVector acc) {
        return ((FloatVector) word.and(m).convert(VectorOperators.I2F, 0)).fma(x, acc);
    }

    /** One row's lanes summed, minus the fused zero-point term, plus the columns after the last whole block. */
    private static float finish(PackedIntWeights w, int r, float lanesSum, Prepared px, float[] x, int xOff, int off, byte[] zp) {
        int groups = w.groups(), s0 = r * groups;
        float[] sc = w.scales();
        float corr = 0;
        if (px.fullBlocks() > 0) {
            float[] gsum = px.groupSums();
            for (int g = 0; g < groups; g++) corr += sc[s0 + g] * (off + (zp == null ? 0 : zp[s0 + g])) * gsum[g];
        }
        float tail = 0;
        for (int c = px.fullBlocks() * L * w.packFactor(); c < w.cols(); c++) tail += (w.q(r, c) - w.zeroPoint(r, c)) * w.scale(r, c) * x[xOff + c];
        return lanesSum - corr + tail;
    }

    /** {@code y[m, rows] (+)= x[m, cols] · W_realᵀ}, x and y row-major with leading dimensions. */
    public static void gemm(int m, float[] x, int xOff, int ldx, PackedIntWeights w, float[] y, int yOff, int ldy, boolean accumulate) {
        check(w, m, x, xOff, ldx, y, yOff, ldy);
        if (m == 0 || w.rows() == 0) return;
        if (!accumulate && ldx == w.cols() && W8A8BlockKernels.appliesTo(m, w.bits() == 4) && W8A8BlockKernels.supports(w)) {
            W8A8BlockKernels.packed(w, x, xOff, m, y, yOff, ldy);
        } else if (!Kernels.vector()) {
            scalar(m, x, xOff, ldx, w, y, yOff, ldy, accumulate);
        } else if (m <= SMALL_M) {
            for (int i = 0; i < m; i++) gemv(w, x, xOff + i * ldx, y, yOff + i * ldy, accumulate);
        } else {
            new Packed(m, x, xOff, ldx, w, y, yOff, ldy, accumulate).run();
        }
    }

    /**
     * {@code ys[j] = x · W_jᵀ} ({@code [m, rows_j]}) for several weights that read the same {@code m} rows of x
     * ({@code [m, cols]} at {@code xOff}): a decoder layer's q, k and v, or its gate and up. Where int8-block activations
     * apply to all of them (4-bit, the same columns and group size) they run as one parallel region
     * ({@link W8A8BlockKernels#packed4(PackedIntWeights[], float[], int, int, float[][])}: one hand-off and one wait
     * for the last task instead of one per weight); otherwise one {@link #gemm} each. Either way each {@code ys[j]}
     * equals {@code gemm(m, x, xOff, cols, ws[j], ys[j], 0, rows_j, false)} bit for bit.
     *
     * <pre>{@code
     * WNA16Kernels.gemmShared(1, h, 0, new PackedIntWeights[] {wq, wk, wv}, new float[][] {q, k, v});
     * }</pre>
     */
    public static void gemmShared(int m, float[] x, int xOff, PackedIntWeights[] ws, float[][] ys) {
        if (ws.length != ys.length) throw new IllegalArgumentException("gemmShared: " + ws.length + " weights for " + ys.length + " outputs");
        boolean fused = ws.length > 0 && W8A8BlockKernels.appliesTo(m, true);
        for (PackedIntWeights w : ws) fused &= W8A8BlockKernels.supports4(w) && w.cols() == ws[0].cols() && w.groupSize() == ws[0].groupSize();
        if (fused) {
            W8A8BlockKernels.packed4(ws, x, xOff, m, ys);
            return;
        }
        for (int j = 0; j < ws.length; j++) gemm(m, x, xOff, ws[j].cols(), ws[j], ys[j], 0, ws[j].rows(), false);
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
            int bits = w.bits(), offset = 1 << (bits - 1);
            int wpr = w.wordsPerRow(), gs = w.groupSize(), groups = w.groups();
            float[] sc = w.scales();
            byte[] zp = w.zeroPoints();
            for (int jr = 0; jr < nc; jr += NR) {
                int nr = Math.min(NR, nc - jr), base = off + jr * kc;
                if (nr < NR) java.util.Arrays.fill(dst, base, base + kc * NR, 0f);
                for (int q = 0; q < nr; q++) {
                    int j = j0 + jr + q;
                    long wb = (long) j * wpr;
                    if (bits == 8) {
                        // one code per byte (little-endian words: byte c of the row is column c), widened a group
                        // segment at a time; the scalar loop below did two divisions and a word read per weight
                        for (int c = p0; c < p0 + kc; ) {
                            int g = c / gs, end = Math.min(p0 + kc, (g + 1) * gs);
                            Widen.row(w.words(), 4 * wb + c, end - c, true, offset + (zp == null ? 0 : zp[j * groups + g]), sc[j * groups + g], row, c - p0);
                            c = end;
                        }
                        Widen.scatter(row, kc, dst, base + q, NR);
                        continue;
                    }
                    // 4 bits: two codes per byte, column c in byte c/2 of the row (low nibble first), a group
                    // segment at a time as for 8 bits
                    for (int c = p0; c < p0 + kc; ) {
                        int g = c / gs, end = Math.min(p0 + kc, (g + 1) * gs);
                        Widen.nibbles(w.words(), 4 * wb + c / 2, c & 1, end - c, offset + (zp == null ? 0 : zp[j * groups + g]), sc[j * groups + g], row, c - p0);
                        c = end;
                    }
                    Widen.scatter(row, kc, dst, base + q, NR);
                }
            }
        }
    }
}
