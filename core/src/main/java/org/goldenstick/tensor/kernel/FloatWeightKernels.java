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
 *   <li>More rows (prefill): the packed GEMM driver, weights decoded to float32 while packing B panels.</li>
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
            new Packed(m, x, xOff, ldx, w, y, yOff, ldy, accumulate).run();
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

    /** Packed GEMM: A = x, B = Wᵀ decoded to float32 while packing. */
    private static final class Packed extends FloatTimesWeightsGemm {
        final FloatWeights w;

        Packed(int m, float[] x, int xOff, int ldx, FloatWeights w, float[] y, int yOff, int ldy, boolean accumulate) {
            super(m, w.rows(), w.cols(), x, xOff, ldx, y, yOff, ldy, accumulate);
            this.w = w;
        }

        @Override
        void packB(float[] dst, int off, int j0, int nc, int p0, int kc) {
            float[] row = Widen.scratch();
            for (int jr = 0; jr < nc; jr += NR) {
                int nr = Math.min(NR, nc - jr), base = off + jr * kc;
                if (nr < NR) Arrays.fill(dst, base, base + kc * NR, 0f);
                for (int q = 0; q < nr; q++) {
                    decode(w, w.address(j0 + jr + q, p0), kc, row, 0);
                    Widen.scatter(row, kc, dst, base + q, NR);
                }
            }
        }
    }
}
