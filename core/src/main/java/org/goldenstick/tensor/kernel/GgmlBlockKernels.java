package org.goldenstick.tensor.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code y = x · Wᵀ} straight from ggml's Q8_0 and Q4_0 blocks (as a GGUF file maps them), never materialising
 * float weights. Each weight row is {@code cols / 32} blocks; a block is an fp16 scale {@code d} then 32 int8
 * values (Q8_0, 34 bytes) or 16 bytes of nibbles, value {@code j} in the low nibble of byte {@code j} and value
 * {@code j + 16} in the high one, stored {@code + 8} (Q4_0, 18 bytes). The vector path widens the bytes to
 * floats ({@code B2F}) and FMAs them with {@code x} scaled by {@code d}; more than 16 rows of x (prefill) go through
 * the packed SGEMM driver with the blocks dequantized into its B panels. The scalar path is the reference.
 * Activations stay float (llama.cpp instead quantizes them to 8 bits, so its results differ in the last digits), unless
 * {@link W8A8BlockKernels#appliesTo(int)}: then Q8_0 and Q4_0 rows go through its int8-block kernel, as llama.cpp's do.
 *
 * <pre>{@code
 * GgmlBlockKernels.matmul(GgmlBlockKernels.Format.Q4_0, mapped, tensorOffset, out, in, x, tokens, y);
 * }</pre>
 */
public final class GgmlBlockKernels {
    /** The block formats with a kernel. */
    public enum Format {
        Q8_0(34), Q4_0(18);

        private final int blockBytes;

        Format(int blockBytes) {
            this.blockBytes = blockBytes;
        }

        public int blockBytes() {
            return blockBytes;
        }
    }

    public static final int BLOCK = 32;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = F.length();
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(LANES * 8));
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int ROWS_PER_TASK = 16;
    /** Above this many activation rows (prefill) the blocks are dequantized into packed GEMM panels instead of dotted row by row. */
    private static final int PACKED_MIN_ROWS = 16;

    private GgmlBlockKernels() {}

    /**
     * {@code y[i, r] = Σ_c W[r, c] · x[i, c]} for {@code i < m}, {@code r < rows}; W's rows start at {@code offset} in
     * {@code w}, each {@code cols / 32} blocks of {@code f}; x is {@code [m, cols]}, y {@code [m, rows]}, row-major.
     */
    public static void matmul(Format f, MemorySegment w, long offset, int rows, int cols, float[] x, int m, float[] y) {
        if (cols % BLOCK != 0) throw new IllegalArgumentException(f + " rows of " + cols + " values are not whole blocks of " + BLOCK);
        long rowBytes = (long) cols / BLOCK * f.blockBytes();
        if (offset < 0 || offset + rowBytes * rows > w.byteSize()) throw new IndexOutOfBoundsException(f + ": " + rows + " rows of " + rowBytes + " bytes at " + offset + " exceed " + w.byteSize() + " bytes");
        if (x.length < (long) m * cols || y.length < (long) m * rows) throw new IllegalArgumentException(f + ": x/y hold " + x.length + "/" + y.length + " values, need " + (long) m * cols + "/" + (long) m * rows);
        if (W8A8BlockKernels.appliesTo(m)) {
            if (f == Format.Q8_0) W8A8BlockKernels.q8_0(w, offset, rows, cols, x, m, y);
            else W8A8BlockKernels.q4_0(w, offset, rows, cols, x, m, y);
            return;
        }
        boolean vector = Kernels.vector() && LANES <= 16 && 16 % LANES == 0;
        if (vector && m > PACKED_MIN_ROWS) {
            new Packed(f, w, offset, rowBytes, rows, cols, x, m, y).run();
            return;
        }
        int tasks = (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
        int threads = (long) rows * cols * m < (1 << 15) ? 1 : Parallel.threads();
        Parallel.forEach(threads, tasks, t -> {
            int r1 = Math.min(rows, (t + 1) * ROWS_PER_TASK);
            for (int r = t * ROWS_PER_TASK; r < r1; r++) {
                long base = offset + r * rowBytes;
                for (int i = 0; i < m; i++) {
                    float s;
                    if (f == Format.Q8_0) s = vector ? dotQ8Vector(w, base, cols, x, i * cols) : dotQ8Scalar(w, base, cols, x, i * cols);
                    else s = vector ? dotQ4Vector(w, base, cols, x, i * cols) : dotQ4Scalar(w, base, cols, x, i * cols);
                    y[i * rows + r] = s;
                }
            }
        });
    }

    static float dotQ8Scalar(MemorySegment w, long base, int cols, float[] x, int xo) {
        float total = 0;
        for (int b = 0; b < cols / BLOCK; b++) {
            long o = base + 34L * b;
            float d = Float.float16ToFloat(w.get(I16, o)), s = 0;
            for (int j = 0; j < BLOCK; j++) s += w.get(ValueLayout.JAVA_BYTE, o + 2 + j) * x[xo + b * BLOCK + j];
            total += d * s;
        }
        return total;
    }

    static float dotQ4Scalar(MemorySegment w, long base, int cols, float[] x, int xo) {
        float total = 0;
        for (int b = 0; b < cols / BLOCK; b++) {
            long o = base + 18L * b;
            float d = Float.float16ToFloat(w.get(I16, o)), s = 0;
            int xb = xo + b * BLOCK;
            for (int j = 0; j < 16; j++) {
                int q = w.get(ValueLayout.JAVA_BYTE, o + 2 + j) & 0xFF;
                s += ((q & 0xF) - 8) * x[xb + j] + ((q >>> 4) - 8) * x[xb + j + 16];
            }
            total += d * s;
        }
        return total;
    }

    private static float dotQ8Vector(MemorySegment w, long base, int cols, float[] x, int xo) {
        FloatVector tot = FloatVector.zero(F);
        for (int b = 0; b < cols / BLOCK; b++) {
            long o = base + 34L * b;
            FloatVector acc = FloatVector.zero(F);
            for (int c = 0; c < BLOCK; c += LANES) {
                FloatVector wv = (FloatVector) ByteVector.fromMemorySegment(B, w, o + 2 + c, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0);
                acc = wv.fma(FloatVector.fromArray(F, x, xo + b * BLOCK + c), acc);
            }
            tot = acc.fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16, o))), tot);
        }
        return Lanes.sum(tot);
    }

    private static float dotQ4Vector(MemorySegment w, long base, int cols, float[] x, int xo) {
        FloatVector tot = FloatVector.zero(F);
        for (int b = 0; b < cols / BLOCK; b++) {
            long o = base + 18L * b;
            int xb = xo + b * BLOCK;
            FloatVector acc = FloatVector.zero(F);
            for (int c = 0; c < 16; c += LANES) {
                ByteVector q = ByteVector.fromMemorySegment(B, w, o + 2 + c, ByteOrder.LITTLE_ENDIAN);
                ByteVector lo = q.and((byte) 0xF).sub((byte) 8);
                ByteVector hi = q.lanewise(VectorOperators.LSHR, 4).and((byte) 0xF).sub((byte) 8);
                acc = ((FloatVector) lo.convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, xb + c), acc);
                acc = ((FloatVector) hi.convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, xb + 16 + c), acc);
            }
            tot = acc.fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16, o))), tot);
        }
        return Lanes.sum(tot);
    }

    /** Prefill: the packed SGEMM driver, B panels dequantized from the blocks while packing (each weight once per call). */
    private static final class Packed extends FloatTimesWeightsGemm {
        final Format f;
        final MemorySegment w;
        final long offset, rowBytes;

        Packed(Format f, MemorySegment w, long offset, long rowBytes, int rows, int cols, float[] x, int m, float[] y) {
            super(m, rows, cols, x, 0, cols, y, 0, rows, false);
            this.f = f;
            this.w = w;
            this.offset = offset;
            this.rowBytes = rowBytes;
        }

        @Override
        void packB(float[] dst, int off, int j0, int nc, int p0, int kc) {
            float[] row = Widen.scratch();
            for (int jr = 0; jr < nc; jr += NR) {
                int nr = Math.min(NR, nc - jr), base = off + jr * kc;
                if (nr < NR) java.util.Arrays.fill(dst, base, base + kc * NR, 0f);
                for (int q = 0; q < nr; q++) {
                    dequantize(f, w, offset + (long) (j0 + jr + q) * rowBytes, p0, kc, row);
                    Widen.scatter(row, kc, dst, base + q, NR);
                }
            }
        }
    }

    /** {@code out[i] = W[row][p0 + i]} for {@code i < len}, the row's blocks starting at {@code base}. */
    static void dequantize(Format f, MemorySegment w, long base, int p0, int len, float[] out) {
        for (int p = p0; p < p0 + len; ) {
            int b = p / BLOCK, end = Math.min(p0 + len, (b + 1) * BLOCK);
            long o = base + (long) f.blockBytes() * b;
            float d = Float.float16ToFloat(w.get(I16, o));
            if (f == Format.Q8_0) {
                Widen.row(w, o + 2 + (p - b * BLOCK), end - p, false, 0, d, out, p - p0);
            } else {
                for (int c = p; c < end; c++) {
                    int j = c - b * BLOCK, q = w.get(ValueLayout.JAVA_BYTE, o + 2 + (j & 15)) & 0xFF;
                    out[c - p0] = (((j < 16 ? q : q >>> 4) & 0xF) - 8) * d;
                }
            }
            p = end;
        }
    }
}
