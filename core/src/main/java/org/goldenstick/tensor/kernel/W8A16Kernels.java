package org.goldenstick.tensor.kernel;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Weight-only int8 kernels (W8A16: int8 weights, float activations): {@code y = x · W_realᵀ} with
 * {@code W_real = q · scale} from {@link Int8Weights}, never materialising W_real.
 *
 * <ul>
 *   <li>{@link #gemv} (decode, one row of x): four weight rows per pass from four runs of the task's rows
 *       ({@link SpreadRows}: four sequential streams in different pages, which read faster from memory than one row or
 *       adjacent rows; docs/results.md), one accumulator per row; 16 int8 weights are loaded as a 128-bit byte
 *       vector, widened to 16 floats ({@code B2F}) and FMA'd; the per-group partial sums are folded in with one FMA by
 *       the group scale. Rows are split into blocks
 *       pulled dynamically by the workers. It is bandwidth-bound: report GB/s of weights.</li>
 *   <li>{@link #gemm} (prefill, m &gt; 1): weights are dequantised while packing B panels and the SGEMM
 *       micro-kernel does the rest (each weight is dequantised once per call when m ≤ 96).</li>
 * </ul>
 * When {@link W8A8BlockKernels#appliesTo(int)} (decode-sized calls by default, see its mode) and not accumulating,
 * x is quantized per block of 32 and its integer kernel runs instead (W8A8-block numerics).
 *
 * <pre>{@code
 * Int8Weights w = Int8Weights.quantize(weight, out, in, 128);
 * W8A16Kernels.gemv(w, x, 0, y, 0, false);                          // y[out] = W·x
 * W8A16Kernels.gemm(tokens, xs, 0, in, w, ys, 0, out, false);       // ys[tokens, out]
 * }</pre>
 */
public final class W8A16Kernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(F.length() * 8));
    private static final int LANES = F.length();
    private static final int ROWS_PER_TASK = 32;
    /** Up to this many activation rows, the GEMV kernel beats dequantise-and-pack. */
    private static final int SMALL_M = 16;

    private W8A16Kernels() {}

    /** {@code y[yOff + r] (+)= Σ_c W_real[r, c] · x[xOff + c]} for every row r of w. */
    public static void gemv(Int8Weights w, float[] x, int xOff, float[] y, int yOff, boolean accumulate) {
        checkVectors(w, x, xOff, 1, w.cols(), y, yOff, 1, w.rows());
        if (!accumulate && W8A8BlockKernels.appliesTo(1) && W8A8BlockKernels.supports(w)) {
            W8A8BlockKernels.int8(w, x, xOff, 1, y, yOff, w.rows());
            return;
        }
        if (!Kernels.vector()) {
            scalar(1, x, xOff, w.cols(), w, y, yOff, w.rows(), accumulate);
            return;
        }
        int rows = w.rows();
        int tasks = (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
        int threads = (long) rows * w.cols() < (1 << 16) ? 1 : Parallel.threads();
        Parallel.forEach(threads, tasks, t -> spreadRows(w, t * ROWS_PER_TASK, Math.min(rows, (t + 1) * ROWS_PER_TASK), x, xOff, 1, 0, y, yOff, 0, accumulate));
    }

    /**
     * Rows {@code [r0, r1)} times each of the m activation rows ({@code x[xOff + i·ldx]} to {@code y[yOff + i·ldy]}),
     * four rows per pass from four runs of the range ({@link SpreadRows}); a pass's rows stay in L1 while the m
     * activation rows go by.
     */
    private static void spreadRows(Int8Weights w, int r0, int r1, float[] x, int xOff, int m, int ldx, float[] y, int yOff, int ldy, boolean accumulate) {
        float[] out = SpreadRows.out();
        for (int p = 0, n = SpreadRows.passes(r0, r1); p < n; p++)
            for (int i = 0; i < m; i++) {
                rowQuad(w, SpreadRows.row(r0, r1, p, 0), SpreadRows.row(r0, r1, p, 1), SpreadRows.row(r0, r1, p, 2), SpreadRows.row(r0, r1, p, 3), x, xOff + i * ldx, out);
                for (int k = 0; k < SpreadRows.WAYS; k++) {
                    if (!SpreadRows.stored(r0, r1, p, k)) continue;
                    int o = yOff + i * ldy + SpreadRows.row(r0, r1, p, k);
                    y[o] = accumulate ? y[o] + out[k] : out[k];
                }
            }
    }

    /**
     * Rows ra, rb, rc, rd (four weight streams in different pages, {@link SpreadRows}): per group, LANES columns of
     * each row per step into one accumulator per row, then one FMA by each row's group scale; columns after the last
     * whole step of a group run scalar.
     */
    private static void rowQuad(Int8Weights w, int ra, int rb, int rc, int rd, float[] x, int xOff, float[] out) {
        MemorySegment seg = w.data();
        int cols = w.cols(), gs = w.groupSize(), groups = w.groups();
        long bA = w.offset() + (long) ra * cols, bB = w.offset() + (long) rb * cols, bC = w.offset() + (long) rc * cols, bD = w.offset() + (long) rd * cols;
        float[] sc = w.scales();
        FloatVector tA = FloatVector.zero(F), tB = FloatVector.zero(F), tC = FloatVector.zero(F), tD = FloatVector.zero(F);
        float tailA = 0, tailB = 0, tailC = 0, tailD = 0;
        for (int g = 0; g < groups; g++) {
            int c0 = g * gs, c1 = Math.min(cols, c0 + gs), c = c0;
            FloatVector aA = FloatVector.zero(F), aB = FloatVector.zero(F), aC = FloatVector.zero(F), aD = FloatVector.zero(F);
            for (; c + LANES <= c1; c += LANES) {
                FloatVector xv = FloatVector.fromArray(F, x, xOff + c);
                aA = widened(seg, bA + c).fma(xv, aA);
                aB = widened(seg, bB + c).fma(xv, aB);
                aC = widened(seg, bC + c).fma(xv, aC);
                aD = widened(seg, bD + c).fma(xv, aD);
            }
            float pA = 0, pB = 0, pC = 0, pD = 0;
            for (; c < c1; c++) {
                float xc = x[xOff + c];
                pA += seg.get(ValueLayout.JAVA_BYTE, bA + c) * xc;
                pB += seg.get(ValueLayout.JAVA_BYTE, bB + c) * xc;
                pC += seg.get(ValueLayout.JAVA_BYTE, bC + c) * xc;
                pD += seg.get(ValueLayout.JAVA_BYTE, bD + c) * xc;
            }
            float sA = sc[ra * groups + g], sB = sc[rb * groups + g], sC = sc[rc * groups + g], sD = sc[rd * groups + g];
            tA = aA.fma(FloatVector.broadcast(F, sA), tA);
            tB = aB.fma(FloatVector.broadcast(F, sB), tB);
            tC = aC.fma(FloatVector.broadcast(F, sC), tC);
            tD = aD.fma(FloatVector.broadcast(F, sD), tD);
            tailA += pA * sA;
            tailB += pB * sB;
            tailC += pC * sC;
            tailD += pD * sD;
        }
        out[0] = Lanes.sum(tA) + tailA;
        out[1] = Lanes.sum(tB) + tailB;
        out[2] = Lanes.sum(tC) + tailC;
        out[3] = Lanes.sum(tD) + tailD;
    }

    /** LANES int8 weights at {@code at}, widened to floats. */
    private static FloatVector widened(MemorySegment seg, long at) {
        return (FloatVector) ByteVector.fromMemorySegment(B, seg, at, ByteOrder.nativeOrder()).convertShape(VectorOperators.B2F, F, 0);
    }

    /** {@code y[m, rows] (+)= x[m, cols] · W_realᵀ}, x and y row-major with leading dimensions. */
    public static void gemm(int m, float[] x, int xOff, int ldx, Int8Weights w, float[] y, int yOff, int ldy, boolean accumulate) {
        checkVectors(w, x, xOff, m, ldx, y, yOff, m, ldy);
        if (m == 0 || w.rows() == 0) return;
        if (!accumulate && ldx == w.cols() && W8A8BlockKernels.appliesTo(m) && W8A8BlockKernels.supports(w)) {
            W8A8BlockKernels.int8(w, x, xOff, m, y, yOff, ldy);
        } else if (!Kernels.vector()) {
            scalar(m, x, xOff, ldx, w, y, yOff, ldy, accumulate);
        } else if (m == 1) {
            gemv(w, x, xOff, y, yOff, accumulate);
        } else if (m <= SMALL_M) {
            // A few rows: GEMV-style, each pass's weight rows stay in L1 while every x row passes.
            int rows = w.rows();
            int tasks = (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
            Parallel.forEach(tasks, t -> spreadRows(w, t * ROWS_PER_TASK, Math.min(rows, (t + 1) * ROWS_PER_TASK), x, xOff, m, ldx, y, yOff, ldy, accumulate));
        } else {
            new Packed(m, x, xOff, ldx, w, y, yOff, ldy, accumulate).run();
        }
    }

    /** Reference: dequantise each weight and accumulate in float, row by row. */
    public static void scalar(int m, float[] x, int xOff, int ldx, Int8Weights w, float[] y, int yOff, int ldy, boolean accumulate) {
        for (int i = 0; i < m; i++)
            for (int r = 0; r < w.rows(); r++) {
                float s = 0;
                for (int c = 0; c < w.cols(); c++) s += w.q(r, c) * w.scale(r, c) * x[xOff + i * ldx + c];
                int o = yOff + i * ldy + r;
                y[o] = accumulate ? y[o] + s : s;
            }
    }

    static void checkVectors(Int8Weights w, float[] x, int xOff, int m, int ldx, float[] y, int yOff, int my, int ldy) {
        if (m < 0) throw new IllegalArgumentException("W8A16: negative row count " + m);
        if (m == 0) return;
        if (ldx < w.cols() || xOff < 0 || xOff + (long) (m - 1) * ldx + w.cols() > x.length) {
            throw new IllegalArgumentException("W8A16: x (length " + x.length + ", offset " + xOff + ", ld " + ldx + ") does not hold " + m + " rows of " + w.cols() + " inputs");
        }
        if (ldy < (my == 1 && m == 1 ? 1 : w.rows()) || yOff < 0 || yOff + (long) (my - 1) * ldy + w.rows() > y.length) {
            throw new IllegalArgumentException("W8A16: y (length " + y.length + ", offset " + yOff + ", ld " + ldy + ") does not hold " + my + " rows of " + w.rows() + " outputs");
        }
    }

    /** Packed GEMM: A = x, B = W_realᵀ dequantised while packing. */
    private static final class Packed extends FloatTimesWeightsGemm {
        final Int8Weights w;

        Packed(int m, float[] x, int xOff, int ldx, Int8Weights w, float[] y, int yOff, int ldy, boolean accumulate) {
            super(m, w.rows(), w.cols(), x, xOff, ldx, y, yOff, ldy, accumulate);
            this.w = w;
        }

        @Override
        void packB(float[] dst, int off, int j0, int nc, int p0, int kc) {
            MemorySegment seg = w.data();
            int cols = w.cols(), gs = w.groupSize(), groups = w.groups();
            float[] sc = w.scales(), row = Widen.scratch();
            for (int jr = 0; jr < nc; jr += NR) {
                int nr = Math.min(NR, nc - jr), base = off + jr * kc;
                if (nr < NR) Arrays.fill(dst, base, base + kc * NR, 0f);
                for (int q = 0; q < nr; q++) {
                    int j = j0 + jr + q;
                    long src = w.offset() + (long) j * cols;
                    // Dequantise group segment by group segment, then scatter into the panel column.
                    for (int p = p0; p < p0 + kc; ) {
                        int g = p / gs, end = Math.min(p0 + kc, (g + 1) * gs);
                        Widen.row(seg, src + p, end - p, false, 0, sc[j * groups + g], row, p - p0);
                        p = end;
                    }
                    Widen.scatter(row, kc, dst, base + q, NR);
                }
            }
        }
    }
}
