package org.goldenstick.tensor.kernel;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * W8A8 (SmoothQuant-style) linear kernels: activations are quantised per token (row) to symmetric int8
 * with {@code scale = max|x_row| / 127}, multiplied exactly with per-channel int8 weights into int32, and
 * rescaled: {@code y[i, j] = acc[i, j] · actScale[i] · wScale[j]}.
 *
 * <p>The integer product is exact on both paths: more than 16 tokens go through {@link Int8Gemm}; fewer
 * (decode, short prompts) use a two-weight-rows-per-pass dot kernel that widens both operands to float in registers and
 * converts each 256-long block sum to int (|sum| ≤ 256·128·128 &lt; 2^24, so exact).
 *
 * <pre>{@code
 * Int8Weights w = Int8Weights.quantize(weight, out, in, in);             // per-channel only
 * W8A8Kernels.QuantizedActivations xq = W8A8Kernels.quantizePerToken(x, 0, tokens, in);
 * W8A8Kernels.linear(xq, w, y, 0, out);                                   // y[tokens, out]
 * }</pre>
 */
public final class W8A8Kernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(F.length() * 8));
    private static final int LANES = F.length();
    private static final int BLOCK = 256;
    /** Up to this many tokens, the dot kernel (weights read in place) beats widening them into panels. */
    private static final int SMALL_M = 16;

    private W8A8Kernels() {}

    /**
     * Per-token symmetric int8 activations {@code [rows, cols]} with one scale per row.
     *
     * @param data   int8 values, row-major
     * @param scales one per row: {@code x ≈ data · scale}
     */
    public record QuantizedActivations(byte[] data, int rows, int cols, float[] scales) {
        public QuantizedActivations {
            if ((long) rows * cols != data.length || scales.length != rows) {
                throw new IllegalArgumentException("QuantizedActivations: " + data.length + " bytes and " + scales.length + " scales for [" + rows + ", " + cols + "]");
            }
        }
    }

    /** Dynamic per-token quantisation: scale = max|x_row|/127 (1 for an all-zero row), round half to even. */
    public static QuantizedActivations quantizePerToken(float[] x, int xOff, int rows, int cols) {
        if (xOff < 0 || xOff + (long) rows * cols > x.length) {
            throw new IllegalArgumentException("quantizePerToken: x of length " + x.length + " does not hold [" + rows + ", " + cols + "] at " + xOff);
        }
        byte[] q = new byte[rows * cols];
        float[] scales = new float[rows];
        for (int r = 0; r < rows; r++) {
            float max = 0;
            for (int c = 0; c < cols; c++) max = Math.max(max, Math.abs(x[xOff + r * cols + c]));
            float s = max == 0 ? 1f : max / 127f;
            scales[r] = s;
            Requantize.quantizeLinear(x, xOff + r * cols, cols, s, 0, false, q, r * cols);
        }
        return new QuantizedActivations(q, rows, cols, scales);
    }

    /** Exact int32 product {@code acc[rows, w.rows] = xq · qᵀ} (no scales applied). */
    public static int[] int32Product(QuantizedActivations xq, Int8Weights w) {
        check(xq, w);
        int m = xq.rows(), n = w.rows(), k = w.cols();
        int[] acc = new int[m * n];
        if (Kernels.vector() && m <= SMALL_M) {
            gemvInt(xq.data(), m, w, acc);
        } else {
            QMatrix a = QMatrix.int8(xq.data(), 0, k, 0);
            QMatrix b = new QMatrix(w.data(), w.offset(), k, true, false, new int[] {0});
            Int8Gemm.gemm(m, n, k, a, b, acc, 0, n, false);
        }
        return acc;
    }

    /** {@code y[i, j] = (xq · qᵀ)[i, j] · actScale[i] · wScale[j]} into y[yOff + i·ldy + j]. */
    public static void linear(QuantizedActivations xq, Int8Weights w, float[] y, int yOff, int ldy) {
        int[] acc = int32Product(xq, w);
        int m = xq.rows(), n = w.rows();
        if (m > 0 && n > 0 && (ldy < n || yOff < 0 || yOff + (long) (m - 1) * ldy + n > y.length)) {
            throw new IllegalArgumentException("W8A8: y of length " + y.length + " does not hold [" + m + ", " + n + "] at " + yOff + " with ld " + ldy);
        }
        float[] ws = w.scales();
        for (int i = 0; i < m; i++) {
            float sa = xq.scales()[i];
            for (int j = 0; j < n; j++) y[yOff + i * ldy + j] = acc[i * n + j] * (sa * ws[j]);
        }
    }

    /** Quantises x per token and applies {@link #linear}: {@code y[m, out] ≈ x[m, in] · W_realᵀ}. */
    public static void linear(int m, float[] x, int xOff, Int8Weights w, float[] y, int yOff, int ldy) {
        linear(quantizePerToken(x, xOff, m, w.cols()), w, y, yOff, ldy);
    }

    private static void check(QuantizedActivations xq, Int8Weights w) {
        if (!w.perChannel()) throw new IllegalArgumentException("W8A8: weights need per-channel scales, got group size " + w.groupSize() + " for " + w.cols() + " inputs");
        if (xq.cols() != w.cols()) throw new IllegalArgumentException("W8A8: activations have " + xq.cols() + " columns, weights " + w.cols() + " inputs");
    }

    /** Exact int8 dot products for a few tokens: per pair of weight rows (kept in L1), every token passes. */
    private static void gemvInt(byte[] xq, int m, Int8Weights w, int[] out) {
        int rows = w.rows(), k = w.cols();
        int tasks = (rows + 31) / 32;
        int threads = (long) m * rows * k < (1 << 16) ? 1 : Parallel.threads();
        Parallel.forEach(threads, tasks, t -> {
            int r0 = t * 32, r1 = Math.min(rows, r0 + 32);
            for (int r = r0; r < r1; r += 2) {
                for (int i = 0; i < m; i++) {
                    if (r + 1 < r1) pair(xq, i * k, w, r, out, i * rows);
                    else out[i * rows + r] = single(xq, i * k, w, r);
                }
            }
        });
    }

    private static void pair(byte[] xq, int xo, Int8Weights w, int r, int[] out, int oo) {
        MemorySegment seg = w.data();
        int cols = w.cols();
        long b0 = w.offset() + (long) r * cols, b1 = b0 + cols;
        int s0 = 0, s1 = 0;
        for (int c0 = 0; c0 < cols; c0 += BLOCK) {
            int c1 = Math.min(cols, c0 + BLOCK), c = c0;
            FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
            for (; c + LANES <= c1; c += LANES) {
                FloatVector xv = (FloatVector) ByteVector.fromArray(B, xq, xo + c).convertShape(VectorOperators.B2F, F, 0);
                FloatVector w0 = (FloatVector) ByteVector.fromMemorySegment(B, seg, b0 + c, ByteOrder.nativeOrder()).convertShape(VectorOperators.B2F, F, 0);
                FloatVector w1 = (FloatVector) ByteVector.fromMemorySegment(B, seg, b1 + c, ByteOrder.nativeOrder()).convertShape(VectorOperators.B2F, F, 0);
                a0 = w0.fma(xv, a0);
                a1 = w1.fma(xv, a1);
            }
            s0 += (int) Lanes.sum(a0); // integer-valued lanes: exact; Lanes.sum needs no type profile (DEVELOPING.md)
            s1 += (int) Lanes.sum(a1);
            for (; c < c1; c++) {
                s0 += xq[xo + c] * seg.get(ValueLayout.JAVA_BYTE, b0 + c);
                s1 += xq[xo + c] * seg.get(ValueLayout.JAVA_BYTE, b1 + c);
            }
        }
        out[oo + r] = s0;
        out[oo + r + 1] = s1;
    }

    private static int single(byte[] xq, int xo, Int8Weights w, int r) {
        long base = w.offset() + (long) r * w.cols();
        int s = 0;
        for (int c = 0; c < w.cols(); c++) s += xq[xo + c] * w.data().get(ValueLayout.JAVA_BYTE, base + c);
        return s;
    }
}
