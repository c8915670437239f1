package org.goldenstick.tensor.kernel;

import java.util.Arrays;

/**
 * Low-bit weights {@code W[rows=out, cols=in]} stored as 1-, 2- or 4-bit level indices with a level table
 * and one scale per output channel: {@code W[r, c] = scale[r] · levels[index(r, c)]}. This is the deploy
 * form of SLB: 1 bit uses levels {−1, +1}, b bits use {@code linspace(−1, 1, 2^b)} ({@link #linspaceLevels}).
 *
 * <p>Layout (chosen so a vector kernel unpacks with one shift and one mask per 16 weights): each row is a
 * whole number of 16-byte blocks; a block holds {@code 128/bits} consecutive weights, where weight
 * {@code q} of the block sits in byte {@code q % 16} at bit offset {@code (q / 16) · bits}. Padding
 * indices are 0.
 *
 * <pre>{@code
 * PackedBits w = PackedBits.pack(2, levelIndex, out, in, scales, PackedBits.linspaceLevels(2));
 * PackedBitsKernels.gemv(w, x, 0, y, 0, false);      // y = W·x
 * }</pre>
 */
public final class PackedBits {
    /** Bytes per block; a block holds 16 weights per bit plane. */
    static final int BLOCK_BYTES = 16;

    private final int bits, rows, cols, rowBytes;
    private final byte[] data;
    private final float[] scales, levels;

    private PackedBits(int bits, int rows, int cols, byte[] data, float[] scales, float[] levels) {
        this.bits = bits;
        this.rows = rows;
        this.cols = cols;
        this.rowBytes = rowBytes(bits, cols);
        this.data = data;
        this.scales = scales;
        this.levels = levels;
    }

    /** Weights per 16-byte block. */
    static int blockWeights(int bits) {
        return BLOCK_BYTES * (8 / bits);
    }

    static int rowBytes(int bits, int cols) {
        int bw = blockWeights(bits);
        return (cols + bw - 1) / bw * BLOCK_BYTES;
    }

    /** {−1, +1} for 1 bit, otherwise 2^bits evenly spaced values from −1 to 1. */
    public static float[] linspaceLevels(int bits) {
        checkBits(bits);
        int n = 1 << bits;
        float[] l = new float[n];
        for (int i = 0; i < n; i++) l[i] = (float) (-1.0 + 2.0 * i / (n - 1));
        return l;
    }

    /**
     * Packs level indices {@code index[r·cols + c]} in [0, 2^bits).
     *
     * @param scales one per row
     * @param levels 2^bits level values
     */
    public static PackedBits pack(int bits, int[] index, int rows, int cols, float[] scales, float[] levels) {
        checkBits(bits);
        if (rows < 0 || cols < 0 || (long) rows * cols > index.length) {
            throw new IllegalArgumentException("PackedBits: " + index.length + " indices for [" + rows + ", " + cols + "]");
        }
        if (scales.length != rows) throw new IllegalArgumentException("PackedBits: " + scales.length + " scales for " + rows + " rows");
        if (levels.length != 1 << bits) throw new IllegalArgumentException("PackedBits: " + levels.length + " levels for " + bits + " bits; expected " + (1 << bits));
        int rb = rowBytes(bits, cols), bw = blockWeights(bits), mask = (1 << bits) - 1;
        byte[] data = new byte[Math.multiplyExact(rb, Math.max(rows, 0))];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int v = index[r * cols + c];
                if (v < 0 || v > mask) throw new IllegalArgumentException("PackedBits: index " + v + " at [" + r + ", " + c + "] outside [0, " + mask + "]");
                int q = c % bw, at = r * rb + c / bw * BLOCK_BYTES + q % 16;
                data[at] |= (byte) (v << (q / 16 * bits));
            }
        }
        return new PackedBits(bits, rows, cols, data, scales.clone(), levels.clone());
    }

    /** Nearest-level indices of {@code w[r,c] / scale[r]} (a convenience for tests and deployment). */
    public static PackedBits quantize(int bits, float[] w, int rows, int cols, float[] scales, float[] levels) {
        int[] idx = new int[rows * cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) {
                float v = w[r * cols + c] / scales[r];
                int best = 0;
                for (int l = 1; l < levels.length; l++) if (Math.abs(levels[l] - v) < Math.abs(levels[best] - v)) best = l;
                idx[r * cols + c] = best;
            }
        return pack(bits, idx, rows, cols, scales, levels);
    }

    private static void checkBits(int bits) {
        if (bits != 1 && bits != 2 && bits != 4) throw new IllegalArgumentException("PackedBits: bits must be 1, 2 or 4, got " + bits);
    }

    public int bits() {
        return bits;
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    /** Bytes per stored row (a multiple of 16). */
    public int rowBytes() {
        return rowBytes;
    }

    /** The packed bytes (shared, do not modify). */
    byte[] data() {
        return data;
    }

    float[] scalesRef() {
        return scales;
    }

    float[] levelsRef() {
        return levels;
    }

    public float[] scales() {
        return scales.clone();
    }

    public float[] levels() {
        return levels.clone();
    }

    /** Level index of W[r, c]. */
    public int index(int r, int c) {
        int bw = blockWeights(bits), q = c % bw;
        int b = data[r * rowBytes + c / bw * BLOCK_BYTES + q % 16] & 0xFF;
        return (b >>> (q / 16 * bits)) & ((1 << bits) - 1);
    }

    public float weight(int r, int c) {
        return scales[r] * levels[index(r, c)];
    }

    /** The real-valued matrix as a fresh float[rows·cols]. */
    public float[] dequantize() {
        float[] out = new float[rows * cols];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) out[r * cols + c] = weight(r, c);
        return out;
    }

    /** Storage in bytes of the packed indices (without scales). */
    public long packedBytes() {
        return data.length;
    }

    /** If levels[i] = l0 + i·step for all i, returns {l0, step}; otherwise null. */
    float[] affineLevels() {
        float l0 = levels[0], step = levels[1] - levels[0];
        for (int i = 2; i < levels.length; i++) {
            if (Math.abs(levels[i] - (l0 + i * step)) > 1e-6f * Math.max(1f, Math.abs(levels[i]))) return null;
        }
        return new float[] {l0, step};
    }

    @Override
    public String toString() {
        return "PackedBits[" + bits + " bit, " + rows + "x" + cols + ", levels " + Arrays.toString(levels) + "]";
    }
}
