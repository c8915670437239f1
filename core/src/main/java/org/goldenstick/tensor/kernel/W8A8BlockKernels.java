package org.goldenstick.tensor.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Decode-time int8 × int8 products with activations quantized per block of 32 (what ggml does for Q8_0 × Q8_0):
 * each activation row is cut into blocks of {@value #BLOCK} values, block {@code b} stored as int8 {@code q} with
 * {@code d_b = max|x| / 127} ({@code x ≈ q · d_b}); a weight row's block dot product is an exact integer sum, scaled
 * once per block by {@code d_b · weight scale}. Weights are int8 in a {@link MemorySegment} (heap or mapped): ggml
 * Q8_0 blocks ({@link #q8_0}), ggml Q4_0 blocks ({@link #q4_0}, 4-bit weights), {@link Int8Weights} whose scale groups are whole blocks ({@link #int8}), 8-bit
 * symmetric {@link PackedIntWeights} (our W8A16 folders, {@link #packed8}, read in place) or 4-bit ones (our W4A16
 * folders, {@link #packed4}: products of codes and activations summed in short lanes, no weight ever a float).
 *
 * <p>The vector path widens 32 weight bytes to shorts ({@code B2S}), multiplies them by the pre-widened activations
 * (|w · q| ≤ 128 · 127 fits a short), adds the two shorts of each int lane (shift pairs, no cross-lane shuffles) and
 * converts the block's int sums to float for one FMA by the block scale; two weight rows share every activation load
 * (4-bit rows: two rows of distant pages per pass, see {@code nibbleRows}).
 * Per CPU-second of one thread this measured ~1.3× the float-widening W8A16 loop on L2-resident rows (AVX-512 VNNI
 * VM, JDK 25; the JIT emits no VNNI instruction for it). Rows are split across {@link Parallel} workers; the
 * quantized activations live in a per-thread buffer, so a decode step allocates nothing here per row
 * ({@code W8A8BlockKernelsTest.packedInt4AllocatesNothingPerPassOnceCompiled}).
 *
 * <p>Numerics: this is W8A8 with block-32 activation scales, not W8A16 — see {@link #mode()} for the switch and
 * docs/results.md for its perplexity/KLD cost ({@link #mode()}). The scalar path ({@code Kernels.useVector(false)}) is the reference:
 * the same quantized activations, integer block sums, the same scaling order.
 *
 * <pre>{@code
 * float[] y = new float[rows];
 * W8A8BlockKernels.q8_0(mapped, tensorOffset, rows, cols, x, 1, y);      // ggml Q8_0 weights, x [1, cols]
 * W8A8BlockKernels.int8(int8Weights, x, 0, 1, y, 0, rows);              // Int8Weights, group size a multiple of 32
 * }</pre>
 */
public final class W8A8BlockKernels {
    /** Activation values per scale. */
    public static final int BLOCK = 32;
    /** ggml Q8_0 block: fp16 scale then 32 int8. */
    static final int Q8_0_BYTES = 34;

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, F.vectorShape());
    private static final int SL = S.length();
    private static final VectorSpecies<Byte> BH = VectorSpecies.of(byte.class, VectorShape.forBitSize(SL * 8));
    /** The vector path needs whole blocks of shorts per vector (128-, 256- and 512-bit shapes). */
    private static final boolean VECTOR_SHAPE_OK = SL >= 8 && BLOCK % SL == 0;
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int ROWS_PER_TASK = 16;

    /** One task's weight rows, {@code [r0, r1)}. */
    private interface RowRange {
        void run(int r0, int r1);
    }

    /**
     * Runs {@code body} over the rows in tasks of {@link #ROWS_PER_TASK}, on one thread when {@code rows · cols · m} is
     * below {@code serialBelow} (handing tiny products to the pool costs more than it saves).
     */
    private static void forRowTasks(int rows, int cols, int m, long serialBelow, RowRange body) {
        int tasks = (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
        Parallel.forEach(threadsFor((long) rows * cols * m, serialBelow), tasks, t -> {
            int r0 = t * ROWS_PER_TASK;
            body.run(r0, Math.min(rows, r0 + ROWS_PER_TASK));
        });
    }

    /** One thread for products of fewer than {@code serialBelow} multiply-adds, else all of {@link Parallel#threads()}. */
    private static int threadsFor(long work, long serialBelow) {
        return work < serialBelow ? 1 : Parallel.threads();
    }

    /** Up to this many activation rows {@link Mode#DECODE} uses the block kernels; larger batches (prefill) stay float. */
    public static final int DECODE_ROWS = 16;

    /** Where int8 weight kernels quantize activations to int8 blocks. */
    public enum Mode {
        /** Never: W8A16 / W4A16 (float activations) everywhere. */
        OFF,
        /**
         * The default: {@link #DECODE} for 4-bit pack-quantized weights ({@link #packed4}: faster per CPU-second, and the
         * activation rounding is small beside the 4-bit weights' own error, see docs/results.md), {@link #OFF} for
         * every other weight kind (8-bit: no faster than float activations, measured the same way).
         */
        AUTO,
        /** Calls of at most {@link #DECODE_ROWS} rows (decode): W8A8-block there, prefill keeps float activations. */
        DECODE,
        /** Every call, prefill included (llama.cpp's Q8_0 numerics everywhere; e.g. to measure perplexity/KLD). */
        ALL
    }

    private static volatile Mode mode = parse(System.getProperty("gstick.int8-activations", "auto"));

    private W8A8BlockKernels() {}

    /** {@code off}/{@code false}, {@code auto}, {@code decode}/{@code true}, or {@code all}. */
    static Mode parse(String v) {
        return switch (v.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "off", "false" -> Mode.OFF;
            case "auto", "" -> Mode.AUTO;
            case "decode", "true" -> Mode.DECODE;
            case "all" -> Mode.ALL;
            default -> throw new IllegalArgumentException("-Dgstick.int8-activations must be off, auto, decode (true) or all, got '" + v + "'");
        };
    }

    /**
     * The current {@link Mode}: {@code -Dgstick.int8-activations=off|auto|decode|all} ({@code true} = decode; default
     * auto) sets it process-wide, {@link #setMode} in code.
     */
    public static Mode mode() {
        return mode;
    }

    /** Sets {@link #mode()}; returns the previous one. */
    public static Mode setMode(Mode m) {
        Mode was = mode;
        mode = java.util.Objects.requireNonNull(m);
        return was;
    }

    /** Whether a call with {@code m} activation rows of 8-bit weights goes through the block kernels in the current mode. */
    public static boolean appliesTo(int m) {
        return appliesTo(m, false);
    }

    /** As {@link #appliesTo(int)} for weights of 4 bits ({@code fourBit}: {@link Mode#AUTO} takes them at decode) or 8. */
    public static boolean appliesTo(int m, boolean fourBit) {
        Mode c = mode;
        return c == Mode.ALL || (m <= DECODE_ROWS && (c == Mode.DECODE || (c == Mode.AUTO && fourBit)));
    }

    /** Whether {@link #int8} handles these weights: scale groups made of whole blocks (or one group per row). */
    public static boolean supports(Int8Weights w) {
        return w.perChannel() || w.groupSize() % BLOCK == 0;
    }

    /**
     * Activation rows quantized per block: {@code q} holds the int8 values widened to shorts (row-major, rows padded
     * to whole blocks with zeros), {@code d} one scale per block. Grown on demand, reused across calls.
     */
    static final class Activations {
        short[] q = new short[0];
        float[] d = new float[0];
        int rows, cols, blocks;

        /** Quantizes {@code x[xOff + i·cols + c]} for {@code i < rows}. */
        Activations quantize(float[] x, int xOff, int rows, int cols) {
            int blocks = (cols + BLOCK - 1) / BLOCK, padded = blocks * BLOCK;
            if (q.length < rows * padded) q = new short[rows * padded];
            if (d.length < rows * blocks) d = new float[rows * blocks];
            this.rows = rows;
            this.cols = cols;
            this.blocks = blocks;
            boolean vector = Kernels.vector() && ROUND_VECTOR_OK;
            for (int i = 0; i < rows; i++) {
                for (int b = 0; b < blocks; b++) {
                    int c0 = b * BLOCK, c1 = Math.min(cols, c0 + BLOCK), src = xOff + i * cols, dst = i * padded;
                    if (vector && c1 - c0 == BLOCK) {
                        d[i * blocks + b] = quantizeBlock(x, src + c0, q, dst + c0);
                        continue;
                    }
                    float max = 0;
                    for (int c = c0; c < c1; c++) max = Math.max(max, Math.abs(x[src + c]));
                    float scale = max / 127f, inv = max == 0 ? 0f : 127f / max;
                    d[i * blocks + b] = scale;
                    for (int c = c0; c < c1; c++) q[dst + c] = (short) Math.round(x[src + c] * inv);
                    for (int c = c1; c < c0 + BLOCK; c++) q[dst + c] = 0;
                }
            }
            return this;
        }
    }

    /** {@link #quantizeBlock}'s vectors: whole vectors per block, shorts of the same lane count. */
    private static final boolean ROUND_VECTOR_OK = BLOCK % F.length() == 0 && F.length() >= 4;
    private static final VectorSpecies<Short> SR = VectorSpecies.of(short.class, VectorShape.forBitSize(Math.max(64, F.length() * 16)));

    /**
     * One whole block of {@link Activations#quantize} in vector lanes, bit for bit the scalar loop's result: the same
     * max (a max is exact in any order), the same float products, and {@link Math#round(float)} reproduced exactly
     * ({@link #roundHalfUp}). Returns the block's scale d. A decode step quantizes every matrix product's input on the
     * calling thread, before the workers start: the scalar loop (Math.round per value) was 3–4 % of a W4 decode step.
     */
    static float quantizeBlock(float[] x, int from, short[] q, int to) {
        // the loop-carried max only as an argument, and re-typed before the reduction (Lanes.exact: no type profile needed)
        FloatVector max = FloatVector.zero(F);
        for (int c = 0; c < BLOCK; c += F.length()) max = FloatVector.fromArray(F, x, from + c).abs().max(max);
        float m = Lanes.exact(max).reduceLanes(VectorOperators.MAX), inv = m == 0 ? 0f : 127f / m;
        for (int c = 0; c < BLOCK; c += F.length()) {
            IntVector r = roundHalfUp(FloatVector.fromArray(F, x, from + c).mul(inv));
            ((ShortVector) r.convertShape(VectorOperators.I2S, SR, 0)).intoArray(q, to + c);
        }
        return m / 127f;
    }

    /**
     * {@link Math#round(float)} lane by lane for |v| < 2^31 (NaN gives 0, as there): {@code floor(v + ½)} taken from
     * the truncation t and the exact fraction {@code v − t} (exact for |v| < 2^23; larger floats are whole numbers),
     * never from the float sum {@code v + ½}, which rounds (1.4999999f + 0.5f is 2.0f, while Math.round gives 1).
     */
    static IntVector roundHalfUp(FloatVector v) {
        IntVector t = (IntVector) v.convert(VectorOperators.F2I, 0);
        FloatVector frac = v.sub((FloatVector) t.convert(VectorOperators.I2F, 0));
        return t.add(1, frac.compare(VectorOperators.GE, 0.5f).cast(I))
                .sub(1, frac.compare(VectorOperators.LT, -0.5f).cast(I));
    }

    private static final ThreadLocal<Activations> SCRATCH = ThreadLocal.withInitial(Activations::new);

    /** Quantizes {@code m} rows of x into the calling thread's buffer (visible to this call's workers). */
    static Activations quantize(float[] x, int xOff, int m, int cols) {
        return SCRATCH.get().quantize(x, xOff, m, cols);
    }

    // ---------------------------------------------------------------- ggml Q8_0 weights

    /**
     * {@code y[i·rows + r] = Σ_c W[r, c] · x̂[i, c]} for {@code i < m}: W's rows start at {@code offset} in {@code w},
     * each {@code cols / 32} Q8_0 blocks; {@code x̂} is x quantized per block of 32.
     */
    public static void q8_0(MemorySegment w, long offset, int rows, int cols, float[] x, int m, float[] y) {
        long rowBytes = checkedRowBytes("Q8_0", Q8_0_BYTES, w, offset, rows, cols, x, m, y);
        Activations a = quantize(x, 0, m, cols);
        boolean vector = Kernels.vector() && VECTOR_SHAPE_OK;
        forRowTasks(rows, cols, m, 1 << 15, (r0, r1) -> {
            for (int i = 0; i < m; i++) {
                int r = r0;
                if (vector) for (; r + 1 < r1; r += 2) q8_0Pair(w, offset + r * rowBytes, rowBytes, a, i, y, i * rows + r);
                for (; r < r1; r++) y[i * rows + r] = q8_0RowScalar(w, offset + r * rowBytes, a, i);
            }
        });
    }

    /** Reference: integer block sums, each scaled by fp16 d_w · d_x, summed in row order. */
    static float q8_0RowScalar(MemorySegment w, long base, Activations a, int i) {
        float total = 0;
        int padded = a.blocks * BLOCK;
        for (int b = 0; b < a.blocks; b++) {
            long o = base + (long) Q8_0_BYTES * b;
            int s = 0, xo = i * padded + b * BLOCK;
            for (int j = 0; j < BLOCK; j++) s += w.get(ValueLayout.JAVA_BYTE, o + 2 + j) * a.q[xo + j];
            total += s * (Float.float16ToFloat(w.get(F16, o)) * a.d[i * a.blocks + b]);
        }
        return total;
    }

    private static void q8_0Pair(MemorySegment w, long base0, long rowBytes, Activations a, int i, float[] y, int yAt) {
        int padded = a.blocks * BLOCK;
        long base1 = base0 + rowBytes;
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        for (int b = 0; b < a.blocks; b++) {
            long o0 = base0 + (long) Q8_0_BYTES * b, o1 = base1 + (long) Q8_0_BYTES * b;
            int xo = i * padded + b * BLOCK;
            IntVector s0 = IntVector.zero(I), s1 = IntVector.zero(I);
            for (int c = 0; c < BLOCK; c += SL) {
                ShortVector xv = ShortVector.fromArray(S, a.q, xo + c);
                s0 = addPairs(s0, widen(w, o0 + 2 + c).mul(xv));
                s1 = addPairs(s1, widen(w, o1 + 2 + c).mul(xv));
            }
            float dx = a.d[i * a.blocks + b];
            acc0 = blockSum(s0).fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(F16, o0)) * dx), acc0);
            acc1 = blockSum(s1).fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(F16, o1)) * dx), acc1);
        }
        y[yAt] = Lanes.sum(acc0);
        y[yAt + 1] = Lanes.sum(acc1);
    }

    // ---------------------------------------------------------------- ggml Q4_0 weights

    /** ggml Q4_0 block: fp16 scale then 16 bytes, value j in the low nibble of byte j, value j + 16 in the high one, + 8. */
    static final int Q4_0_BYTES = 18;
    /** Q4_0 vectors: one int lane per float lane; shorts and bytes of that many lanes. */
    private static final VectorSpecies<Short> SQ = VectorSpecies.of(short.class, VectorShape.forBitSize(F.length() * 16));
    private static final VectorSpecies<Byte> BQ = VectorSpecies.of(byte.class, VectorShape.forBitSize(F.length() * 8));
    private static final boolean Q4_VECTOR_OK = F.length() >= 8 && 16 % F.length() == 0;

    /** As {@link #q8_0} for ggml Q4_0 weights (W4A8-block: llama.cpp's Q4_0 × Q8_0). */
    public static void q4_0(MemorySegment w, long offset, int rows, int cols, float[] x, int m, float[] y) {
        long rowBytes = checkedRowBytes("Q4_0", Q4_0_BYTES, w, offset, rows, cols, x, m, y);
        Activations a = quantize(x, 0, m, cols);
        boolean vector = Kernels.vector() && Q4_VECTOR_OK;
        forRowTasks(rows, cols, m, 1 << 15, (r0, r1) -> {
            for (int i = 0; i < m; i++)
                for (int r = r0; r < r1; r++) y[i * rows + r] = vector ? q4_0RowVector(w, offset + r * rowBytes, a, i) : q4_0RowScalar(w, offset + r * rowBytes, a, i);
        });
    }

    /** Reference: integer block sums of (nibble − 8) · q, each scaled by fp16 d_w · d_x, summed in row order. */
    static float q4_0RowScalar(MemorySegment w, long base, Activations a, int i) {
        float total = 0;
        int padded = a.blocks * BLOCK;
        for (int b = 0; b < a.blocks; b++) {
            long o = base + (long) Q4_0_BYTES * b;
            int s = 0, xo = i * padded + b * BLOCK;
            for (int j = 0; j < 16; j++) {
                int q = w.get(ValueLayout.JAVA_BYTE, o + 2 + j) & 0xFF;
                s += ((q & 0xF) - 8) * a.q[xo + j] + ((q >>> 4) - 8) * a.q[xo + 16 + j];
            }
            total += s * (Float.float16ToFloat(w.get(F16, o)) * a.d[i * a.blocks + b]);
        }
        return total;
    }

    /** A block's 32 products fit a short lane by lane (|Σ| ≤ 2 · 8 · 127 per lane and step); one int conversion per block. */
    private static float q4_0RowVector(MemorySegment w, long base, Activations a, int i) {
        int padded = a.blocks * BLOCK, fl = F.length();
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < a.blocks; b++) {
            long o = base + (long) Q4_0_BYTES * b;
            int xo = i * padded + b * BLOCK;
            ShortVector s = ShortVector.zero(SQ);
            for (int c = 0; c < 16; c += fl) {
                ByteVector q = ByteVector.fromMemorySegment(BQ, w, o + 2 + c, ByteOrder.LITTLE_ENDIAN);
                ShortVector lo = (ShortVector) q.and((byte) 0xF).sub((byte) 8).convertShape(VectorOperators.B2S, SQ, 0);
                ShortVector hi = (ShortVector) q.lanewise(VectorOperators.LSHR, 4).and((byte) 0xF).sub((byte) 8).convertShape(VectorOperators.B2S, SQ, 0);
                s = s.add(lo.mul(ShortVector.fromArray(SQ, a.q, xo + c))).add(hi.mul(ShortVector.fromArray(SQ, a.q, xo + 16 + c)));
            }
            IntVector si = (IntVector) s.convertShape(VectorOperators.S2I, I, 0);
            acc = ((FloatVector) si.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(F16, o)) * a.d[i * a.blocks + b]), acc);
        }
        return Lanes.sum(acc);
    }

    // ---------------------------------------------------------------- int8 rows with group scales

    /**
     * {@code y[yOff + i·ldy + r] = Σ_c W_real[r, c] · x̂[i, c]} for {@code i < m}, every row r of w; x rows at
     * {@code xOff + i·cols}; {@code x̂} is x quantized per block of 32. Needs {@link #supports(Int8Weights)}.
     */
    public static void int8(Int8Weights w, float[] x, int xOff, int m, float[] y, int yOff, int ldy) {
        if (!supports(w)) throw new IllegalArgumentException("W8A8-block: scale groups of " + w.groupSize() + " inputs are not whole blocks of " + BLOCK);
        W8A16Kernels.checkVectors(w, x, xOff, m, w.cols(), y, yOff, m, ldy);
        rows(new Codes(w.data(), w.offset(), w.cols(), w.rows(), w.cols(), w.scales(), w.groupSize(), false), x, xOff, m, y, yOff, ldy);
    }

    /**
     * 8-bit symmetric {@link PackedIntWeights} (compressed-tensors pack-quantized: code + 128 as unsigned bytes, four to
     * a little-endian int32 word, so a row's words are its codes in column order) with int8-block activations; same
     * contract as {@link #int8}. Needs {@link #supports(PackedIntWeights)}.
     */
    public static void packed8(PackedIntWeights w, float[] x, int xOff, int m, float[] y, int yOff, int ldy) {
        if (!supports8(w)) throw new IllegalArgumentException("W8A8-block: needs symmetric 8-bit weights with groups of whole blocks of " + BLOCK + ", got " + w.bits() + " bits, group " + w.groupSize());
        checkRows(w, x, xOff, m, y, yOff, ldy);
        // the words are read in place (heap or mapped): a row's little-endian words are its codes in column order
        rows(new Codes(w.words(), 0, 4L * w.wordsPerRow(), w.rows(), w.cols(), w.scales(), w.groupSize(), true), x, xOff, m, y, yOff, ldy);
    }

    /** Whether {@link #packed} handles these weights ({@link #packed8} or {@link #packed4}). */
    public static boolean supports(PackedIntWeights w) {
        return supports8(w) || supports4(w);
    }

    static boolean supports8(PackedIntWeights w) {
        return w.bits() == 8 && w.symmetric() && (w.groupSize() == w.cols() || w.groupSize() % BLOCK == 0);
    }

    /** {@link #packed8} or {@link #packed4} by the weights' bits; needs {@link #supports(PackedIntWeights)}. */
    public static void packed(PackedIntWeights w, float[] x, int xOff, int m, float[] y, int yOff, int ldy) {
        if (w.bits() == 4) packed4(w, x, xOff, m, y, yOff, ldy);
        else packed8(w, x, xOff, m, y, yOff, ldy);
    }

    private static void checkRows(PackedIntWeights w, float[] x, int xOff, int m, float[] y, int yOff, int ldy) {
        if (m < 0 || xOff < 0 || xOff + (long) m * w.cols() > x.length || yOff < 0 || (m > 0 && (ldy < w.rows() && m > 1 || yOff + (long) (m - 1) * ldy + w.rows() > y.length))) {
            throw new IllegalArgumentException("W8A8-block: x (length " + x.length + ") / y (length " + y.length + ", ld " + ldy + ") do not hold " + m + " rows of [" + w.cols() + " -> " + w.rows() + "]");
        }
    }

    /**
     * Row-major int8 codes (row r's {@code cols} bytes from {@code offset + r·rowBytes}) with {@code rows · ceil(cols/groupSize)}
     * scales; {@code offsetBinary}: the bytes hold {@code code + 128} (flip the top bit to get the code).
     */
    record Codes(MemorySegment data, long offset, long rowBytes, int rows, int cols, float[] scales, int groupSize, boolean offsetBinary) {
        int groups() {
            return (cols + groupSize - 1) / groupSize;
        }

        byte code(long at) {
            byte b = data.get(ValueLayout.JAVA_BYTE, at);
            return offsetBinary ? (byte) (b ^ 0x80) : b;
        }
    }

    private static void rows(Codes w, float[] x, int xOff, int m, float[] y, int yOff, int ldy) {
        if (m == 0 || w.rows() == 0) return;
        Activations a = quantize(x, xOff, m, w.cols());
        int rows = w.rows();
        boolean vector = Kernels.vector() && VECTOR_SHAPE_OK && w.cols() % BLOCK == 0;
        forRowTasks(rows, w.cols(), m, 1 << 15, (r0, r1) -> {
            for (int i = 0; i < m; i++) {
                int r = r0, at = yOff + i * ldy;
                if (vector) for (; r + 1 < r1; r += 2) codesPair(w, r, a, i, y, at + r);
                for (; r < r1; r++) y[at + r] = codesRowScalar(w, r, a, i);
            }
        });
    }

    /** Reference: integer block sums (a last partial block included), each scaled by d_x · the block's weight scale. */
    static float codesRowScalar(Codes w, int r, Activations a, int i) {
        int cols = w.cols(), padded = a.blocks * BLOCK, gs = w.groupSize(), groups = w.groups();
        long base = w.offset() + r * w.rowBytes();
        float[] sc = w.scales();
        float total = 0;
        for (int b = 0; b < a.blocks; b++) {
            int c0 = b * BLOCK, c1 = Math.min(cols, c0 + BLOCK), s = 0, xo = i * padded;
            for (int c = c0; c < c1; c++) s += w.code(base + c) * a.q[xo + c];
            total += s * (a.d[i * a.blocks + b] * sc[r * groups + c0 / gs]);
        }
        return total;
    }

    private static void codesPair(Codes w, int r, Activations a, int i, float[] y, int yAt) {
        MemorySegment seg = w.data();
        int cols = w.cols(), padded = a.blocks * BLOCK, gs = w.groupSize(), groups = w.groups();
        long base0 = w.offset() + r * w.rowBytes(), base1 = base0 + w.rowBytes();
        float[] sc = w.scales();
        boolean flip = w.offsetBinary();
        int g0 = r * groups, g1 = g0 + groups;
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        for (int b = 0; b < a.blocks; b++) {
            int c0 = b * BLOCK, xo = i * padded + c0;
            IntVector s0 = IntVector.zero(I), s1 = IntVector.zero(I);
            for (int c = 0; c < BLOCK; c += SL) {
                ShortVector xv = ShortVector.fromArray(S, a.q, xo + c);
                s0 = addPairs(s0, (flip ? widenFlipped(seg, base0 + c0 + c) : widen(seg, base0 + c0 + c)).mul(xv));
                s1 = addPairs(s1, (flip ? widenFlipped(seg, base1 + c0 + c) : widen(seg, base1 + c0 + c)).mul(xv));
            }
            float dx = a.d[i * a.blocks + b];
            int g = c0 / gs;
            acc0 = blockSum(s0).fma(FloatVector.broadcast(F, dx * sc[g0 + g]), acc0);
            acc1 = blockSum(s1).fma(FloatVector.broadcast(F, dx * sc[g1 + g]), acc1);
        }
        y[yAt] = Lanes.sum(acc0);
        y[yAt + 1] = Lanes.sum(acc1);
    }

    // ---------------------------------------------------------------- 4-bit pack-quantized rows

    /**
     * Columns per vector step of {@link #packed4}: one vector of shorts read straight from the packed words holds four
     * 4-bit codes per lane (short lane j of a step: columns {@code 4j … 4j + 3}, the first in the lowest bits).
     */
    private static final int NIBBLE_STEP = 4 * SL;
    /** int lanes per step (each the sum of two short lanes: 8 consecutive columns) = float lanes. */
    private static final int IL = SL / 2;
    private static final boolean NIBBLE_VECTOR_OK = VECTOR_SHAPE_OK && IL == F.length() && NIBBLE_STEP % BLOCK == 0;

    /** Whether {@link #packed4} handles these weights: 4 bits, rows in whole blocks of 32, groups of whole blocks. */
    static boolean supports4(PackedIntWeights w) {
        return w.bits() == 4 && w.cols() % BLOCK == 0 && (w.groupSize() == w.cols() || w.groupSize() % BLOCK == 0);
    }

    /**
     * The int8-block activations of one call laid out for the 4-bit rows: per activation row, {@code xs} holds the int8
     * values of each whole step de-interleaved by code position ({@code xs[step + k·SL + j] = q[step + 4j + k]}), so the
     * k-th code of every short lane meets its column with one lanewise multiply; {@code laneScale} the block scale d of
     * each int lane (8 columns); {@code groupSum} per weight group {@code Σ_b d_b · Σ_{c∈b} q_c}, for the offset of the
     * unsigned codes (and the zero point); {@code laneGroup} the weight group of each int lane (gathered scales when a
     * group is narrower than a step or a step straddles two groups).
     */
    static final class NibbleActivations {
        /** This layout's own int8-block activations (not the shared {@link #SCRATCH}: other kernels overwrite that). */
        final Activations acts = new Activations();
        /** A copy of the x rows {@link #acts} was made from (the first {@code lastM · acts.cols} values), if {@link #valid}. */
        private float[] lastX = new float[0];
        private int lastM, lastGroupSize;
        private boolean valid;
        short[] xs = new short[0];
        float[] laneScale = new float[0], groupSum = new float[0];
        int[] laneGroup = new int[0], laneOffset = new int[0], stepGroup = new int[0];
        int steps;
        /** The lanes and group size {@link #laneGroup} and {@link #stepGroup} hold (they depend on nothing else). */
        private int layoutLanes = -1, layoutGroupSize = -1;

        /**
         * The layout of {@code m} rows of x at {@code xOff} (each {@code cols} long) for weights of {@code groupSize}:
         * recomputed unless the previous call on this thread had the same rows, bit for bit (a decode step feeds the same
         * normalized hidden state to q, k and v, and to gate and up, each its own call), so the reuse is exact.
         */
        NibbleActivations of(float[] x, int xOff, int m, int cols, int groupSize) {
            int len = m * cols;
            if (valid && lastM == m && lastGroupSize == groupSize && acts.cols == cols && java.util.Arrays.equals(x, xOff, xOff + len, lastX, 0, len)) return this;
            valid = false;
            prepare(acts.quantize(x, xOff, m, cols), m, groupSize);
            if (lastX.length < len) lastX = new float[len];
            System.arraycopy(x, xOff, lastX, 0, len);
            valid = true;
            lastM = m;
            lastGroupSize = groupSize;
            return this;
        }

        private NibbleActivations prepare(Activations a, int m, int groupSize) {
            int cols = a.cols, padded = a.blocks * BLOCK, groups = cols / groupSize;
            steps = NIBBLE_VECTOR_OK ? cols / NIBBLE_STEP : 0;
            int vcols = steps * NIBBLE_STEP, lanes = vcols / 8;
            if (xs.length < m * vcols) xs = new short[m * vcols];
            if (laneScale.length < m * lanes) laneScale = new float[m * lanes];
            if (groupSum.length < m * groups) groupSum = new float[m * groups];
            if (laneOffset.length < m * lanes) laneOffset = new int[m * lanes];
            if (laneGroup.length < lanes) laneGroup = new int[lanes];
            if (stepGroup.length < steps) stepGroup = new int[steps];
            if (lanes != layoutLanes || groupSize != layoutGroupSize) {
                for (int l = 0; l < lanes; l++) laneGroup[l] = 8 * l / groupSize;
                for (int s = 0; s < steps; s++) stepGroup[s] = s * NIBBLE_STEP / groupSize;
                layoutLanes = lanes;
                layoutGroupSize = groupSize;
            }
            boolean vector = Kernels.vector() && steps > 0;
            for (int i = 0; i < m; i++) {
                int q0 = i * padded, x0 = i * vcols, l0 = i * lanes;
                if (vector) {
                    deinterleaveRow(a.q, q0, xs, x0, steps, laneOffset, l0);
                } else {
                    for (int s = 0; s < vcols; s += NIBBLE_STEP)
                        for (int k = 0; k < 4; k++)
                            for (int j = 0; j < SL; j++) xs[x0 + s + k * SL + j] = a.q[q0 + s + 4 * j + k];
                    for (int l = 0; l < lanes; l++) {
                        int sum = 0;
                        for (int c = 8 * l; c < 8 * l + 8; c++) sum += a.q[q0 + c];
                        laneOffset[l0 + l] = 8 * sum;
                    }
                }
                java.util.Arrays.fill(groupSum, i * groups, (i + 1) * groups, 0f);
                for (int b = 0, lanesPerBlock = BLOCK / 8; b < vcols / BLOCK; b++) {
                    // the block's int8 sum from its lanes' (exact: each lane offset is 8 × its sum)
                    int sum = 0;
                    for (int l = l0 + b * lanesPerBlock; l < l0 + (b + 1) * lanesPerBlock; l++) sum += laneOffset[l];
                    float d = a.d[i * a.blocks + b];
                    java.util.Arrays.fill(laneScale, l0 + b * lanesPerBlock, l0 + (b + 1) * lanesPerBlock, d);
                    groupSum[i * groups + b * BLOCK / groupSize] += d * (sum / 8);
                }
            }
            return this;
        }
    }

    /**
     * One row of {@link NibbleActivations}' layout in vector lanes, the same values as the scalar loops: each step's
     * {@code 4·SL} int8 values at {@code q[from…]} de-interleaved into {@code xs[to…]} ({@code xs[to + k·SL + j] =
     * q[from + 4j + k]}), and the lane offsets {@code 8 · Σ} of each int lane's 8 columns into {@code laneOffset[lane…]}.
     * Read as longs, a long holds the four columns of one short lane; code position k is the k-th short of every long
     * (shifted down, narrowed to a short), the four vectors' narrowed parts side by side. The lane sums add the four
     * de-interleaved vectors (|Σ| ≤ 4 · 127 per short) and the two shorts of each int lane. Written out (no helper per
     * position) so that the method is too large for C2 to inline into its caller: compiled on its own it keeps every
     * vector in registers (inlined into the activation set-up, the narrowing calls ran out of C2's inlining budget and
     * their vectors were boxed).
     */
    private static void deinterleaveRow(short[] q, int from, short[] xs, int to, int steps, int[] laneOffset, int lane) {
        for (int s = 0; s < steps; s++) {
            int f = from + s * NIBBLE_STEP, t = to + s * NIBBLE_STEP;
            LongVector v0 = ShortVector.fromArray(S, q, f).reinterpretAsLongs(), v1 = ShortVector.fromArray(S, q, f + SL).reinterpretAsLongs();
            LongVector v2 = ShortVector.fromArray(S, q, f + 2 * SL).reinterpretAsLongs(), v3 = ShortVector.fromArray(S, q, f + 3 * SL).reinterpretAsLongs();
            ShortVector x0 = ((ShortVector) v0.convertShape(VectorOperators.L2S, S, 0))
                    .or((ShortVector) v1.convertShape(VectorOperators.L2S, S, -1))
                    .or((ShortVector) v2.convertShape(VectorOperators.L2S, S, -2))
                    .or((ShortVector) v3.convertShape(VectorOperators.L2S, S, -3));
            ShortVector x1 = ((ShortVector) v0.lanewise(VectorOperators.LSHR, 16).convertShape(VectorOperators.L2S, S, 0))
                    .or((ShortVector) v1.lanewise(VectorOperators.LSHR, 16).convertShape(VectorOperators.L2S, S, -1))
                    .or((ShortVector) v2.lanewise(VectorOperators.LSHR, 16).convertShape(VectorOperators.L2S, S, -2))
                    .or((ShortVector) v3.lanewise(VectorOperators.LSHR, 16).convertShape(VectorOperators.L2S, S, -3));
            ShortVector x2 = ((ShortVector) v0.lanewise(VectorOperators.LSHR, 32).convertShape(VectorOperators.L2S, S, 0))
                    .or((ShortVector) v1.lanewise(VectorOperators.LSHR, 32).convertShape(VectorOperators.L2S, S, -1))
                    .or((ShortVector) v2.lanewise(VectorOperators.LSHR, 32).convertShape(VectorOperators.L2S, S, -2))
                    .or((ShortVector) v3.lanewise(VectorOperators.LSHR, 32).convertShape(VectorOperators.L2S, S, -3));
            ShortVector x3 = ((ShortVector) v0.lanewise(VectorOperators.LSHR, 48).convertShape(VectorOperators.L2S, S, 0))
                    .or((ShortVector) v1.lanewise(VectorOperators.LSHR, 48).convertShape(VectorOperators.L2S, S, -1))
                    .or((ShortVector) v2.lanewise(VectorOperators.LSHR, 48).convertShape(VectorOperators.L2S, S, -2))
                    .or((ShortVector) v3.lanewise(VectorOperators.LSHR, 48).convertShape(VectorOperators.L2S, S, -3));
            x0.intoArray(xs, t);
            x1.intoArray(xs, t + SL);
            x2.intoArray(xs, t + 2 * SL);
            x3.intoArray(xs, t + 3 * SL);
            IntVector p = x0.add(x1).add(x2).add(x3).reinterpretAsInts();
            p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(p.lanewise(VectorOperators.ASHR, 16))
                    .lanewise(VectorOperators.LSHL, 3).intoArray(laneOffset, lane + s * IL);
        }
    }

    private static final ThreadLocal<NibbleActivations> NIBBLES = ThreadLocal.withInitial(NibbleActivations::new);

    /**
     * 4-bit {@link PackedIntWeights} (compressed-tensors pack-quantized, symmetric or with zero points) times int8-block
     * activations: {@code y[yOff + i·ldy + r] = Σ_c W_real[r, c] · x̂[i, c]}, x rows at {@code xOff + i·cols}. Needs
     * {@link #supports(PackedIntWeights)}.
     *
     * <p>The vector path never turns a weight into a float: a vector of shorts loaded from the packed words gives four
     * code vectors by shift and mask (the unsigned codes {@code u = q + 8}, 0…15), each multiplied by its de-interleaved
     * activations in short lanes and the four products added there ({@code |Σ| ≤ 4 · 15 · 127}, no overflow); the two
     * shorts of each int lane are added ({@code (p + (p << 16)) >> 16}), converted to float and scaled with one FMA by
     * {@code d_block · scale_group} per step. The codes' offset and zero point come off per group at the end:
     * {@code Σ_g (8 + z_g) · s_g · Σ_{c∈g} d·q}.
     */
    public static void packed4(PackedIntWeights w, float[] x, int xOff, int m, float[] y, int yOff, int ldy) {
        if (!supports4(w)) throw new IllegalArgumentException("W4A8-block: needs 4-bit weights with rows and groups of whole blocks of " + BLOCK + ", got " + w.bits() + " bits, [" + w.rows() + ", " + w.cols() + "], group " + w.groupSize());
        checkRows(w, x, xOff, m, y, yOff, ldy);
        if (m == 0 || w.rows() == 0) return;
        NibbleActivations n = NIBBLES.get().of(x, xOff, m, w.cols(), w.groupSize());
        boolean vector = Kernels.vector() && n.steps > 0;
        forRowTasks(w.rows(), w.cols(), m, 1 << 16, (r0, r1) -> packed4Rows(w, n, vector, m, y, yOff, ldy, r0, r1));
    }

    /**
     * {@link #packed4} for several weights that read the same activations (a decoder layer's q, k and v; its gate and
     * up) in one parallel region: {@code ys[j][i·rows_j + r] = Σ_c W_j[r, c] · x̂[i, c]}. One hand-off to the workers
     * and one wait for the last task instead of one per weight; every value equals {@link #packed4}'s bit for bit (the
     * same rows of the same kernel, only scheduled together). All weights need {@link #supports4} and the same columns
     * and group size (one activation layout).
     *
     * <pre>{@code
     * W8A8BlockKernels.packed4(new PackedIntWeights[] {wq, wk, wv}, h, 0, 1, new float[][] {q, k, v});
     * }</pre>
     */
    public static void packed4(PackedIntWeights[] ws, float[] x, int xOff, int m, float[][] ys) {
        if (ws.length != ys.length || ws.length == 0) throw new IllegalArgumentException("W4A8-block: " + ws.length + " weights for " + ys.length + " outputs");
        int cols = ws[0].cols(), gs = ws[0].groupSize();
        int[] firstTask = new int[ws.length + 1];
        long work = 0;
        for (int j = 0; j < ws.length; j++) {
            PackedIntWeights w = ws[j];
            if (!supports4(w) || w.cols() != cols || w.groupSize() != gs) throw new IllegalArgumentException("W4A8-block: weights " + j + " ([" + w.rows() + ", " + w.cols() + "], " + w.bits() + " bits, group " + w.groupSize() + ") do not share 4-bit [*, " + cols + "] group " + gs + " with weights 0");
            checkRows(w, x, xOff, m, ys[j], 0, w.rows());
            firstTask[j + 1] = firstTask[j] + (w.rows() + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
            work += (long) w.rows() * cols * m;
        }
        if (m == 0) return;
        NibbleActivations n = NIBBLES.get().of(x, xOff, m, cols, gs);
        boolean vector = Kernels.vector() && n.steps > 0;
        Parallel.forEach(threadsFor(work, 1 << 16), firstTask[ws.length], t -> {
            int j = 0;
            while (t >= firstTask[j + 1]) j++;
            PackedIntWeights w = ws[j];
            int r0 = (t - firstTask[j]) * ROWS_PER_TASK;
            packed4Rows(w, n, vector, m, ys[j], 0, w.rows(), r0, Math.min(w.rows(), r0 + ROWS_PER_TASK));
        });
    }

    /** One task of {@link #packed4}: rows {@code [r0, r1)} of w for every activation row. */
    private static void packed4Rows(PackedIntWeights w, NibbleActivations n, boolean vector, int m, float[] y, int yOff, int ldy, int r0, int r1) {
        Activations a = n.acts;
        float[] acc = vector ? NIBBLE_ACC.get() : null;
        for (int i = 0; i < m; i++) {
            int at = yOff + i * ldy;
            if (vector) {
                // two rows from the two halves of the task: streams a page or more apart (SpreadRows);
                // a clamped repeat of the last row writes the same value twice
                for (int p = 0, passes = SpreadRows.passes(r0, r1, 2); p < passes; p++)
                    nibblePass(w, SpreadRows.row(r0, r1, p, 0, 2), SpreadRows.row(r0, r1, p, 1, 2), a, n, i, y, at, acc);
            } else {
                for (int r = r0; r < r1; r++) y[at + r] = packed4RowScalar(w, r, a, i);
            }
        }
    }

    /** Reference: per block of 32, the exact integer sum of (code − zero point) · q, scaled by d_x · the group's scale, in row order. */
    static float packed4RowScalar(PackedIntWeights w, int r, Activations a, int i) {
        int padded = a.blocks * BLOCK, gs = w.groupSize(), groups = w.groups();
        float total = 0;
        for (int b = 0; b < a.blocks; b++) {
            int c0 = b * BLOCK, g = c0 / gs, z = w.zeroPoints() == null ? 0 : w.zeroPoints()[r * groups + g], s = 0;
            for (int c = c0; c < c0 + BLOCK; c++) s += (w.q(r, c) - z) * a.q[i * padded + c];
            total += s * (a.d[i * a.blocks + b] * w.scales()[r * groups + g]);
        }
        return total;
    }

    /**
     * Rows ra and rb (rb == ra: one row), sharing every activation load: their two accumulator vectors into
     * {@code acc[0, F)} and {@code acc[F, 2F)} ({@link #nibblePass} sums them).
     * The caller pairs rows a page or more apart: two weight streams in different 4 KB pages keep twice the cache
     * misses in flight, while two adjacent rows (1 KB apart in one page) or one row per pass stall on each miss —
     * [5632 × 2048] g128 on a 550 MB working set, 1 thread, per CPU-second: one row 10.4–11.4 G weights/s, adjacent
     * rows 9.4–9.7, rows 4, 8, 16 or 2816 apart 14.6–16.2 (in cache: 16–18, 21.6–22.2, 24–26; docs/results.md).
     */
    private static void nibbleRows(PackedIntWeights w, int ra, int rb, NibbleActivations n, int i, float[] acc) {
        MemorySegment seg = w.words();
        long rowBytes = 4L * w.wordsPerRow(), baseA = ra * rowBytes, baseB = rb * rowBytes;
        int gs = w.groupSize(), groups = w.groups(), steps = n.steps, vcols = steps * NIBBLE_STEP, lanes = vcols / 8;
        float[] sc = w.scales(), laneScale = n.laneScale;
        short[] xs = n.xs;
        int[] laneGroup = n.laneGroup, laneOffset = n.laneOffset, stepGroup = n.stepGroup;
        boolean broadcast = gs % NIBBLE_STEP == 0;
        int ga = ra * groups, gb = rb * groups, xBase = i * vcols, lBase = i * lanes;
        FloatVector accA = FloatVector.zero(F), accB = FloatVector.zero(F);
        for (int s = 0; s < steps; s++) {
            int c0 = s * NIBBLE_STEP, xo = xBase + c0;
            ShortVector x0 = ShortVector.fromArray(S, xs, xo), x1 = ShortVector.fromArray(S, xs, xo + SL);
            ShortVector x2 = ShortVector.fromArray(S, xs, xo + 2 * SL), x3 = ShortVector.fromArray(S, xs, xo + 3 * SL);
            FloatVector d = FloatVector.fromArray(F, laneScale, lBase + s * IL);
            IntVector off = IntVector.fromArray(I, laneOffset, lBase + s * IL);
            ShortVector wa = ShortVector.fromMemorySegment(S, seg, baseA + c0 / 2, ByteOrder.LITTLE_ENDIAN);
            ShortVector wb = ShortVector.fromMemorySegment(S, seg, baseB + c0 / 2, ByteOrder.LITTLE_ENDIAN);
            IntVector pa = nibbleDot(wa, x0, x1, x2, x3).sub(off), pb = nibbleDot(wb, x0, x1, x2, x3).sub(off);
            FloatVector sa, sb;
            if (broadcast) {
                int g = stepGroup[s];
                sa = d.mul(sc[ga + g]);
                sb = d.mul(sc[gb + g]);
            } else {
                sa = d.mul(FloatVector.fromArray(F, sc, ga, laneGroup, s * IL));
                sb = d.mul(FloatVector.fromArray(F, sc, gb, laneGroup, s * IL));
            }
            accA = ((FloatVector) pa.convert(VectorOperators.I2F, 0)).fma(sa, accA);
            accB = ((FloatVector) pb.convert(VectorOperators.I2F, 0)).fma(sb, accB);
        }
        // The lane sums are the caller's: inlined here they cost this loop C2's inlining budget (NodeCountInliningCutoff),
        // and a vector passed to a call that is not inlined is boxed at every pass. No Lanes.exact either: C2 knows the
        // accumulators' class here, and the exception path of a class test keeps them alive as objects, so C2 boxed both
        // at the end of every pass (192 bytes, ~30 MB per token; packedInt4AllocatesNothingPerPassOnceCompiled).
        accA.intoArray(acc, 0);
        accB.intoArray(acc, F.length());
    }

    /** Per thread: the two accumulators of the last {@link #nibbleRows} pass. */
    private static final ThreadLocal<float[]> NIBBLE_ACC = ThreadLocal.withInitial(() -> new float[2 * F.length()]);

    /**
     * {@link #nibbleRows} for rows ra and rb (rb == ra: one row) into {@code y[at + ra]} and {@code y[at + rb]}: both
     * rows' lane sums at once ({@link Lanes#sumPair}), then the tails.
     */
    private static void nibblePass(PackedIntWeights w, int ra, int rb, Activations a, NibbleActivations n, int i, float[] y, int at, float[] acc) {
        nibbleRows(w, ra, rb, n, i, acc);
        long sums = Lanes.sumPair(FloatVector.fromArray(F, acc, 0), FloatVector.fromArray(F, acc, F.length()));
        // the usual rows (whole steps, symmetric) have no tail: no call (+ 0f kept: it turns a sum of -0 into +0, as before)
        boolean tail = n.steps * NIBBLE_STEP != a.cols || w.zeroPoints() != null;
        y[at + ra] = Lanes.first(sums) + (tail ? nibbleTail(w, ra, a, n, i) : 0f);
        if (rb != ra) y[at + rb] = Lanes.second(sums) + (tail ? nibbleTail(w, rb, a, n, i) : 0f);
    }

    /** Σ over the 4 code positions of u_k · x_k in short lanes, then the two shorts of each int lane added (exact). */
    private static IntVector nibbleDot(ShortVector word, ShortVector x0, ShortVector x1, ShortVector x2, ShortVector x3) {
        // shifted as int lanes (an immediate shift; C2 gives short lanes a shift by register, two uops): the bits that
        // cross from the high short into the low one are masked off with the rest
        IntVector wi = word.reinterpretAsInts();
        ShortVector p = word.and((short) 0xF).mul(x0)
                .add(wi.lanewise(VectorOperators.LSHR, 4).reinterpretAsShorts().and((short) 0xF).mul(x1))
                .add(wi.lanewise(VectorOperators.LSHR, 8).reinterpretAsShorts().and((short) 0xF).mul(x2))
                .add(wi.lanewise(VectorOperators.LSHR, 12).reinterpretAsShorts().and((short) 0xF).mul(x3));
        IntVector pi = p.reinterpretAsInts();
        return pi.add(pi.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
    }

    /**
     * The columns after the last whole step (whole blocks, scalar, codes less their zero point) minus the zero-point
     * term of the vector part, {@code Σ_g z_g · s_g · groupSum_g} (the steps took off the codes' offset of 8 already).
     */
    private static float nibbleTail(PackedIntWeights w, int r, Activations a, NibbleActivations n, int i) {
        int b0 = n.steps * NIBBLE_STEP / BLOCK;
        byte[] zp = w.zeroPoints();
        int groups = w.groups(), gs = w.groupSize(), padded = a.blocks * BLOCK;
        float[] sc = w.scales();
        float tail = 0;
        for (int b = b0; b < a.blocks; b++) {
            int c0 = b * BLOCK, g = c0 / gs, z = zp == null ? 0 : zp[r * groups + g], s = 0;
            for (int c = c0; c < c0 + BLOCK; c++) s += (w.q(r, c) - z) * a.q[i * padded + c];
            tail += s * (a.d[i * a.blocks + b] * sc[r * groups + g]);
        }
        if (zp != null) for (int g = 0; g < groups; g++) tail -= zp[r * groups + g] * sc[r * groups + g] * n.groupSum[i * groups + g];
        return tail;
    }

    // ---------------------------------------------------------------- shared vector pieces

    /** {@code SL} int8 weights at {@code at}, sign-extended to shorts. */
    private static ShortVector widen(MemorySegment w, long at) {
        return (ShortVector) ByteVector.fromMemorySegment(BH, w, at, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2S, S, 0);
    }

    /** As {@link #widen} for offset-binary bytes ({@code code + 128}): the top bit flipped first. */
    private static ShortVector widenFlipped(MemorySegment w, long at) {
        return (ShortVector) ByteVector.fromMemorySegment(BH, w, at, ByteOrder.LITTLE_ENDIAN).lanewise(VectorOperators.XOR, (byte) 0x80).convertShape(VectorOperators.B2S, S, 0);
    }

    /**
     * {@code acc + (low short + high short)} of each int lane of the products (exact: |product| ≤ 2^14). The loop-carried
     * {@code acc} is only an argument, never a receiver: C2 types a loop's vector variable as the abstract
     * {@code IntVector}, so a method called on it is a virtual call (the vectors boxed) unless this method's type profile
     * happens to exist when the kernel compiles (30× slower with {@code -XX:-UseTypeProfile}, docs/results.md).
     */
    private static IntVector addPairs(IntVector acc, ShortVector products) {
        IntVector p = products.reinterpretAsInts();
        return p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(p.lanewise(VectorOperators.ASHR, 16)).add(acc);
    }

    /** A block sum carried out of its loop, as floats: re-typed exactly first ({@link Lanes#exact(IntVector)}). */
    private static FloatVector blockSum(IntVector s) {
        return (FloatVector) Lanes.exact(s).convert(VectorOperators.I2F, 0);
    }

    /** The bytes of one row of {@code cols / 32} blocks, after checking that the rows, x and y fit their arrays. */
    private static long checkedRowBytes(String format, int blockBytes, MemorySegment w, long offset, int rows, int cols, float[] x, int m, float[] y) {
        if (cols % BLOCK != 0) throw new IllegalArgumentException(format + " rows of " + cols + " values are not whole blocks of " + BLOCK);
        long rowBytes = (long) cols / BLOCK * blockBytes;
        if (offset < 0 || offset + rowBytes * rows > w.byteSize()) throw new IndexOutOfBoundsException(format + ": " + rows + " rows of " + rowBytes + " bytes at " + offset + " exceed " + w.byteSize() + " bytes");
        if (x.length < (long) m * cols || y.length < (long) m * rows) throw new IllegalArgumentException(format + ": x/y hold " + x.length + "/" + y.length + " values, need " + (long) m * cols + "/" + (long) m * rows);
        return rowBytes;
    }
}
