package org.goldenstick.quant;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.goldenstick.tensor.kernel.Int8Gemm;
import org.goldenstick.tensor.kernel.Kernels;
import org.goldenstick.tensor.kernel.Parallel;
import org.goldenstick.tensor.kernel.QMatrix;
import org.goldenstick.tensor.kernel.Requantize;

/**
 * Integer building blocks of the deploy layers, on the engine's kernels: exact 8-bit GEMM with zero points and
 * int32 accumulation ({@link Int8Gemm}, ONNX MatMulInteger semantics; its vector path widens to float in K blocks
 * of 256 and its scalar path is the integer reference, chosen by {@code Kernels.vector()}), and activation
 * quantization / requantization with ONNX QuantizeLinear rounding (half to even, then saturate,
 * {@link Requantize}), so a deploy network computes what its exported ONNX QDQ graph computes.
 *
 * <pre>{@code
 * int[] c = new int[m * n];
 * Int8Ops.gemm(m, n, k, xq, true, new int[] {zx}, wq, true, false, wZeroPoints, c);   // x·Wᵀ with W stored [n, k]
 * }</pre>
 */
public final class Int8Ops {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    /** Bytes beside one float vector (a quarter of its width). */
    private static final VectorSpecies<Byte> BF = VectorSpecies.of(byte.class, VectorShape.forBitSize(F.length() * 8));
    /** 64 byte lanes: two-vector table lookups cover 128 entries, so a 256-entry code table is two of them. */
    private static final VectorSpecies<Byte> B64 = ByteVector.SPECIES_512;

    private Int8Ops() {}

    /**
     * {@code C[i,j] = Σ_p (A[i,p] − za(i))·(B[p,j] − zb(j))}.
     *
     * @param a row-major {@code [m, k]}; {@code aUnsigned} reads bytes as uint8
     * @param za one zero point, or one per row of A
     * @param b {@code [k, n]} row-major, or stored {@code [n, k]} when {@code bTransposed}
     * @param zb one zero point, or one per column of B
     * @param c output {@code [m, n]} (overwritten)
     */
    public static void gemm(int m, int n, int k, byte[] a, boolean aUnsigned, int[] za, byte[] b, boolean bTransposed, boolean bUnsigned,
                            int[] zb, int[] c) {
        QMatrix qa = (aUnsigned ? QMatrix.uint8(a, 0, k, za[0]) : QMatrix.int8(a, 0, k, za[0])).withZeroPoints(za);
        QMatrix qb = (bUnsigned ? QMatrix.uint8(b, 0, bTransposed ? k : n, zb[0]) : QMatrix.int8(b, 0, bTransposed ? k : n, zb[0])).withZeroPoints(zb);
        if (bTransposed) qb = qb.transpose();
        Int8Gemm.gemm(m, n, k, qa, qb, c, 0, n, false);
    }

    /**
     * Elements per task of the element-wise passes (quantize, dequantize, code tables): large enough that a task
     * outweighs its scheduling, small enough that a batch of small feature maps still spreads over the threads.
     */
    static final int CHUNK = 1 << 14;

    /** A pass over the elements {@code [from, to)}. */
    @FunctionalInterface
    interface Range {
        void run(int from, int to);
    }

    /** Runs {@code body} over [0, n) in {@link #CHUNK}-sized ranges, in parallel. */
    static void chunks(int n, Range body) {
        int tasks = (n + CHUNK - 1) / CHUNK;
        Parallel.forEach(tasks, t -> body.run(t * CHUNK, Math.min(n, (t + 1) * CHUNK)));
    }

    /** Quantizes floats per tensor to bytes on the grid of {@code p} (uint8 or int8), ONNX rounding. */
    public static byte[] quantizeActivations(float[] x, QuantParams p) {
        if (p.perChannel()) throw new IllegalArgumentException("quantizeActivations: activations are quantized per tensor, got " + p);
        if (p.bits() != 8) throw new IllegalArgumentException("quantizeActivations: 8-bit grids only, got " + p);
        byte[] out = new byte[x.length];
        int lo = p.qmin();
        chunks(x.length, (from, to) -> {
            Requantize.quantizeLinear(x, from, to - from, p.scale()[0], p.zeroPoint()[0], !p.signed(), out, from);
            if (p.narrowRange()) { // ONNX has no narrow range: clamp the one extra code
                for (int i = from; i < to; i++) if ((p.signed() ? out[i] : out[i] & 0xFF) < lo) out[i] = (byte) lo;
            }
        });
        return out;
    }

    /** ONNX QuantizeLinear with a per-axis scale/zero point ({@code shape[axis]} entries), half-to-even rounding. */
    public static byte[] quantizePerAxis(float[] x, int[] shape, int axis, float[] scale, int[] zp, boolean unsigned) {
        int inner = 1;
        for (int i = axis + 1; i < shape.length; i++) inner *= shape[i];
        int ch = shape[axis];
        if (scale.length != ch || zp.length != ch) throw new IllegalArgumentException("quantizePerAxis: " + scale.length + " scales for " + ch + " channels on axis " + axis);
        byte[] out = new byte[x.length];
        for (int i = 0; i < x.length; i++) {
            int c = (i / inner) % ch;
            out[i] = (byte) Requantize.quantize(x[i], scale[c], zp[c], unsigned);
        }
        return out;
    }

    /** {@code (q − zp)·scale} for per-tensor bytes. */
    public static float[] dequantizeActivations(byte[] q, QuantParams p) {
        float[] out = new float[q.length];
        chunks(q.length, (from, to) -> dequantize(q, p, out, from, to));
        return out;
    }

    /**
     * {@code out[i]} = the value of code {@code q[i]} on the per-tensor grid {@code p} for i in [from, to): what
     * {@link #dequantTable} holds for it, computed in vector lanes (the same float operations) or read from the table.
     */
    static void dequantize(byte[] q, QuantParams p, float[] out, int from, int to) {
        int i = from;
        if (Kernels.vector()) {
            float s = p.scale()[0], z = p.zeroPoint()[0], lo = p.qmin();
            // one loop per conversion: a conversion operator that is not a constant keeps C2 from compiling it to one instruction
            if (p.signed()) {
                for (; i + F.length() <= to; i += F.length()) {
                    IntVector c = (IntVector) ByteVector.fromArray(BF, q, i).convertShape(VectorOperators.B2I, I, 0);
                    ((FloatVector) c.convert(VectorOperators.I2F, 0)).max(lo).sub(z).mul(s).intoArray(out, i);
                }
            } else {
                for (; i + F.length() <= to; i += F.length()) {
                    IntVector c = (IntVector) ByteVector.fromArray(BF, q, i).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                    ((FloatVector) c.convert(VectorOperators.I2F, 0)).max(lo).sub(z).mul(s).intoArray(out, i);
                }
            }
        }
        if (i < to) {
            float[] lut = dequantTable(p);
            for (; i < to; i++) out[i] = lut[q[i] & 0xFF];
        }
    }

    /**
     * {@code dst[i] = table[src[i] & 0xFF]} for i in [from, to): a 256-entry code-to-code table (an activation and
     * requantization as one function of the code). The vector path looks up 64 codes at once in two two-vector
     * selects (low and high halves of the table, chosen by the index's top bit).
     */
    static void mapCodes(byte[] src, byte[] table, byte[] dst, int from, int to) {
        int i = from;
        if (Kernels.vector() && ByteVector.SPECIES_PREFERRED.length() >= 64) {
            ByteVector t0 = ByteVector.fromArray(B64, table, 0), t1 = ByteVector.fromArray(B64, table, 64);
            ByteVector t2 = ByteVector.fromArray(B64, table, 128), t3 = ByteVector.fromArray(B64, table, 192);
            for (; i + 64 <= to; i += 64) {
                ByteVector idx = ByteVector.fromArray(B64, src, i); // as signed bytes: the top bit picks the half
                ByteVector lo = idx.selectFrom(t0, t1), hi = idx.selectFrom(t2, t3); // indices wrap modulo 128
                lo.blend(hi, idx.compare(VectorOperators.LT, (byte) 0)).intoArray(dst, i);
            }
        }
        for (; i < to; i++) dst[i] = table[src[i] & 0xFF];
    }

    /** The 256 dequantized values indexed by the byte's bit pattern ({@code b & 0xFF}), codes below qmin clamped. */
    static float[] dequantTable(QuantParams p) {
        float s = p.scale()[0];
        int z = p.zeroPoint()[0], lo = p.qmin();
        float[] lut = new float[256];
        for (int b = 0; b < 256; b++) {
            int v = p.signed() ? (byte) b : b;
            lut[b] = (Math.max(v, lo) - z) * s;
        }
        return lut;
    }

    /**
     * The int32 epilogue: add the bias, then requantize to {@code output} (ONNX rounding; returned dequantized) or,
     * without output grid, scale to float.
     *
     * @param acc accumulators laid out {@code [outer, channels, inner]}
     * @param accScale per-channel {@code s_x·s_w}
     */
    public static float[] finish(int[] acc, int outer, int channels, int inner, int[] bias, float[] accScale, QuantParams output) {
        return finish(acc, outer, channels, inner, bias, accScale, output, output == null ? null : new byte[acc.length], true);
    }

    /**
     * {@link #finish}, leaving the output codes in {@code q} (when there is an output grid); with an output grid and
     * {@code values} false only the codes are written and the result is null.
     */
    static float[] finish(int[] acc, int outer, int channels, int inner, int[] bias, float[] accScale, QuantParams output, byte[] q, boolean values) {
        if (output == null) {
            float[] y = new float[acc.length];
            for (int o = 0; o < outer; o++) {
                for (int c = 0; c < channels; c++) {
                    int base = (o * channels + c) * inner, b = bias == null ? 0 : bias[c];
                    for (int i = 0; i < inner; i++) y[base + i] = (float) (((long) acc[base + i] + b) * (double) accScale[c]);
                }
            }
            return y;
        }
        float so = output.scale()[0];
        int zo = output.zeroPoint()[0];
        boolean unsigned = !output.signed();
        if (inner == 1) { // [outer, channels]: per-column multiplier and bias, blocks of rows in parallel
            float[] mult = new float[channels];
            for (int c = 0; c < channels; c++) mult[c] = accScale[c] / so;
            int rows = Math.max(1, CHUNK / Math.max(1, channels));
            Parallel.forEach((outer + rows - 1) / rows, t -> {
                int r0 = t * rows, r1 = Math.min(outer, r0 + rows);
                Requantize.requantize(r1 - r0, channels, acc, r0 * channels, channels, mult, bias, zo, unsigned, q, r0 * channels, channels);
            });
        } else { // rows of `inner` values per (outer, channel): one multiplier per row
            int[] withBias = bias == null ? acc : acc.clone();
            Parallel.forEach(outer * channels, r -> {
                int c = r % channels, base = r * inner;
                if (bias != null) for (int i = 0; i < inner; i++) withBias[base + i] += bias[c];
                Requantize.requantize(1, inner, withBias, base, inner, new float[] {accScale[c] / so}, null, zo, unsigned, q, base, inner);
            });
        }
        if (!values) return null;
        float[] y = new float[acc.length];
        chunks(q.length, (from, to) -> dequantize(q, output, y, from, to));
        return y;
    }
}
