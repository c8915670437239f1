package org.goldenstick.tensor.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Integer weights {@code W[rows=out, cols=in]} of 4 or 8 bits packed into int32 words the way compressed-tensors'
 * {@code pack-quantized} format stores {@code weight_packed}: each signed code {@code q ∈ [−2^(b−1), 2^(b−1)−1]} is
 * offset by {@code 2^(b−1)} to an unsigned value, and word {@code j} of a row holds columns
 * {@code j·p … j·p + p − 1} ({@code p = 32 / b}), column {@code j·p + i} in bits {@code [b·i, b·i + b)} (the first
 * column in the lowest bits). A row has {@code ceil(cols / p)} words; padding columns are 0.
 *
 * <p>Real weights: {@code W[r, c] = (q[r, c] − zp[r, g]) · scale[r, g]} with {@code g = c / groupSize};
 * {@code zeroPoints} is null for symmetric weights (zero point 0). Per output channel means {@code groupSize == cols}.
 *
 * <pre>{@code
 * PackedIntWeights w = PackedIntWeights.pack(codes, out, in, 4, 128, scales, null);   // W4 g128, symmetric
 * WNA16Kernels.gemv(w, x, 0, y, 0, false);                                               // y = W·x
 * }</pre>
 *
 * <p>The words are read in place from a {@link MemorySegment} of little-endian int32 ({@code weight_packed} of a
 * memory-mapped checkpoint, zero copy); {@link #pack} and {@link #of} copy heap words into native memory, the one
 * kind of memory weights live in ({@link WeightMemory}).
 *
 * @param words      {@code rows · wordsPerRow} little-endian int32 words, row-major
 * @param scales     {@code rows · groups} scales, row-major
 * @param zeroPoints {@code rows · groups} signed zero points, or null (symmetric)
 */
public record PackedIntWeights(MemorySegment words, int rows, int cols, int bits, int groupSize, float[] scales, byte[] zeroPoints) {
    static final ValueLayout.OfInt WORD = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public PackedIntWeights {
        if (bits != 4 && bits != 8) throw new IllegalArgumentException("PackedIntWeights: bits must be 4 or 8, got " + bits);
        if (rows < 0 || cols < 1) throw new IllegalArgumentException("PackedIntWeights: bad shape [" + rows + ", " + cols + "]");
        if (groupSize < 1 || groupSize > cols || cols % groupSize != 0) {
            throw new IllegalArgumentException("PackedIntWeights: group size " + groupSize + " must divide in_features=" + cols);
        }
        if (groupSize != cols && groupSize % (32 / bits) != 0) {
            throw new IllegalArgumentException("PackedIntWeights: group size " + groupSize + " must be a multiple of " + (32 / bits) + " (codes per int32 word)");
        }
        long expected = (long) rows * wordsPerRow(cols, bits);
        if (words.byteSize() != 4 * expected) throw new IllegalArgumentException("PackedIntWeights: " + words.byteSize() / 4 + " packed words for [" + rows + ", " + cols + "] at " + bits + " bits; expected " + expected);
        long groups = (long) rows * (cols / groupSize);
        if (scales.length != groups) throw new IllegalArgumentException("PackedIntWeights: " + scales.length + " scales; expected " + groups);
        if (zeroPoints != null && zeroPoints.length != groups) throw new IllegalArgumentException("PackedIntWeights: " + zeroPoints.length + " zero points; expected " + groups);
    }

    /** Codes per int32 word. */
    public int packFactor() {
        return 32 / bits;
    }

    public static int wordsPerRow(int cols, int bits) {
        int p = 32 / bits;
        return (cols + p - 1) / p;
    }

    public int wordsPerRow() {
        return wordsPerRow(cols, bits);
    }

    public int groups() {
        return cols / groupSize;
    }

    public boolean symmetric() {
        return zeroPoints == null;
    }

    /** Packs signed codes {@code q [rows·cols]} (row-major) into the compressed-tensors layout. */
    public static PackedIntWeights pack(byte[] q, int rows, int cols, int bits, int groupSize, float[] scales, byte[] zeroPoints) {
        return of(packRows(q, rows, cols, bits), rows, cols, bits, groupSize, scales, zeroPoints);
    }

    /** Weights from heap words, copied into native memory ({@link WeightMemory}: the one segment kind of weights). */
    public static PackedIntWeights of(int[] packed, int rows, int cols, int bits, int groupSize, float[] scales, byte[] zeroPoints) {
        return new PackedIntWeights(WeightMemory.ofInts(packed, WORD), rows, cols, bits, groupSize, scales, zeroPoints);
    }

    /** The packed words as a fresh int array ({@code rows · wordsPerRow}, row-major). */
    public int[] packed() {
        int[] out = new int[(int) (words.byteSize() / 4)];
        MemorySegment.copy(words, WORD, 0, out, 0, out.length);
        return out;
    }

    /** Word {@code i} (row-major). */
    int word(long i) {
        return words.get(WORD, 4 * i);
    }

    /**
     * compressed-tensors' int32 packing along the last dimension of a {@code [rows, cols]} matrix of signed codes:
     * offset by {@code 2^(bits−1)}, {@code 32/bits} codes per word, first code lowest, padding 0.
     */
    public static int[] packRows(byte[] q, int rows, int cols, int bits) {
        if (q.length != (long) rows * cols) throw new IllegalArgumentException("packRows: " + q.length + " codes for [" + rows + ", " + cols + "]");
        int[] out = new int[rows * wordsPerRow(cols, bits)];
        packRows(q, rows, cols, bits, out, 0);
        return out;
    }

    /** As {@link #packRows(byte[], int, int, int)} into {@code out} from word {@code outOffset} (overwritten), for callers reusing a buffer. */
    public static void packRows(byte[] q, int rows, int cols, int bits, int[] out, int outOffset) {
        int p = 32 / bits, wpr = wordsPerRow(cols, bits), offset = 1 << (bits - 1), mask = (1 << bits) - 1;
        int lo = -offset, hi = offset - 1;
        java.util.Arrays.fill(out, outOffset, outOffset + rows * wpr, 0);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int v = q[r * cols + c];
                if (v < lo || v > hi) throw new IllegalArgumentException("packRows: code " + v + " at [" + r + ", " + c + "] outside [" + lo + ", " + hi + "] for " + bits + " bits");
                out[outOffset + r * wpr + c / p] |= ((v + offset) & mask) << (bits * (c % p));
            }
        }
    }

    /** The inverse of {@link #packRows}: signed codes {@code [rows·cols]}. */
    public static byte[] unpackRows(int[] packed, int rows, int cols, int bits) {
        int p = 32 / bits, wpr = wordsPerRow(cols, bits), offset = 1 << (bits - 1), mask = (1 << bits) - 1;
        if (packed.length != (long) rows * wpr) throw new IllegalArgumentException("unpackRows: " + packed.length + " words for [" + rows + ", " + cols + "] at " + bits + " bits; expected " + (long) rows * wpr);
        byte[] q = new byte[rows * cols];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) q[r * cols + c] = (byte) (((packed[r * wpr + c / p] >>> (bits * (c % p))) & mask) - offset);
        return q;
    }

    /**
     * compressed-tensors' packing along dimension 0 (used for asymmetric {@code weight_zero_point [rows, cols]}):
     * the result is {@code [ceil(rows / p), cols]}, word {@code [i, c]} holding rows {@code i·p …} of column c.
     */
    public static int[] packColumns(byte[] q, int rows, int cols, int bits) {
        return transpose(packRows(transpose(q, rows, cols), cols, rows, bits), cols, wordsPerRow(rows, bits));
    }

    /** The inverse of {@link #packColumns}. */
    public static byte[] unpackColumns(int[] packed, int rows, int cols, int bits) {
        return transpose(unpackRows(transpose(packed, wordsPerRow(rows, bits), cols), cols, rows, bits), cols, rows);
    }

    private static byte[] transpose(byte[] a, int rows, int cols) {
        byte[] t = new byte[a.length];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
        return t;
    }

    private static int[] transpose(int[] a, int rows, int cols) {
        int[] t = new int[a.length];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
        return t;
    }

    /** Signed code at {@code [r, c]}. */
    public int q(int r, int c) {
        int p = 32 / bits;
        return ((word((long) r * wordsPerRow() + c / p) >>> (bits * (c % p))) & ((1 << bits) - 1)) - (1 << (bits - 1));
    }

    public float scale(int r, int c) {
        return scales[r * groups() + c / groupSize];
    }

    public int zeroPoint(int r, int c) {
        return zeroPoints == null ? 0 : zeroPoints[r * groups() + c / groupSize];
    }

    /** The real-valued matrix as a fresh float[rows·cols]. */
    public float[] dequantize() {
        float[] out = new float[rows * cols];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) out[r * cols + c] = (q(r, c) - zeroPoint(r, c)) * scale(r, c);
        return out;
    }

    /** Bytes of weights, scales (at 4 bytes) and zero points this layer streams per product. */
    public long byteSize() {
        return words.byteSize() + 4L * scales.length + (zeroPoints == null ? 0 : zeroPoints.length);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PackedIntWeights w && rows == w.rows && cols == w.cols && bits == w.bits && groupSize == w.groupSize
                && words.mismatch(w.words) == -1 && Arrays.equals(scales, w.scales) && Arrays.equals(zeroPoints, w.zeroPoints);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(packed()) + Arrays.hashCode(scales);
    }
}
