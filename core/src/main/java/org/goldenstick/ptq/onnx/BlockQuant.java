package org.goldenstick.ptq.onnx;

import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.ptq.Gptq;
import org.goldenstick.ptq.WeightScheme;
import org.goldenstick.tensor.kernel.PackedIntWeights;

/**
 * Weight quantization math on a plain weight matrix, independent of any graph or model: per-channel
 * symmetric int8, and asymmetric 4/8-bit in blocks along the input dimension by round-to-nearest or by GPTQ
 * (Frantar et al. 2022: quantize one input column at a time and spread its rounding error over the columns
 * not yet quantized, weighted by the inverse Hessian {@code H = XᵀX} of the calibration activations).
 *
 * <p>Matrices are {@code [rows = output channels][cols = input features]} row-major floats: the ONNX
 * {@code MatMul} weight {@code [K, N]} transposed.
 *
 * <pre>{@code
 * BlockQuant.Blocks rtn = BlockQuant.rtn(w, n, k, 32, 4);
 * BlockQuant.Blocks gptq = BlockQuant.gptq(w, n, k, 32, 4, hessian, 0.01);   // hessian: k×k, from XᵀX
 * float[] back = gptq.dequantize();
 * }</pre>
 */
public final class BlockQuant {
    private BlockQuant() {}

    /**
     * Unsigned {@code bits}-bit levels (0..2^bits-1, read with {@code & 0xFF}) with a float scale and a zero point per
     * (row, block): {@code w ≈ (q - zero) · scale}.
     */
    public record Blocks(int rows, int cols, int block, int bits, byte[] levels, float[] scales, byte[] zeros) {
        /** Blocks per row ({@code cols} rounded up to whole blocks). */
        public int blocksPerRow() {
            return (cols + block - 1) / block;
        }

        public float[] dequantize() {
            float[] w = new float[rows * cols];
            int nb = blocksPerRow();
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    int b = r * nb + c / block;
                    w[r * cols + c] = ((levels[r * cols + c] & 0xFF) - (zeros[b] & 0xFF)) * scales[b];
                }
            }
            return w;
        }
    }

    /** Symmetric int8 with one scale per row: {@code w ≈ q · scale}, q in [-127, 127]. */
    public record Int8(int rows, int cols, byte[] values, float[] scales) {
        public float[] dequantize() {
            float[] w = new float[rows * cols];
            for (int i = 0; i < w.length; i++) w[i] = values[i] * scales[i / cols];
            return w;
        }
    }

    /** Per-row symmetric int8 ({@link WeightScheme#int8PerChannel()}: max |w| of the row over 127.5). */
    public static Int8 int8PerRow(float[] w, int rows, int cols) {
        check(w, rows, cols);
        byte[] q = new byte[rows * cols];
        float[] scales = new float[rows];
        WeightScheme.int8PerChannel().quantize(w, rows, cols, DType.F32, q, scales, null, "weight");
        return new Int8(rows, cols, q, scales);
    }

    /**
     * Round-to-nearest asymmetric {@code bits}-bit (4 or 8) in blocks of {@code block} input features, with
     * {@link WeightScheme}'s arithmetic (the one the LLM 4-bit path writes); a last partial block is padded with zeros,
     * which leaves its range (always holding 0) unchanged.
     */
    public static Blocks rtn(float[] w, int rows, int cols, int block, int bits) {
        check(w, rows, cols);
        checkBlock(block);
        WeightScheme scheme = WeightScheme.of(bits, block, false);
        int nb = (cols + block - 1) / block, padded = nb * block;
        float[] wp = w;
        if (padded != cols) {
            wp = new float[rows * padded];
            for (int r = 0; r < rows; r++) System.arraycopy(w, r * cols, wp, r * padded, cols);
        }
        byte[] codes = new byte[rows * padded];
        float[] scales = new float[rows * nb];
        byte[] zeros = new byte[rows * nb];
        scheme.quantize(wp, rows, padded, DType.F32, codes, scales, zeros, "weight");
        int offset = -scheme.qmin();
        byte[] levels = new byte[rows * cols];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) levels[r * cols + c] = (byte) (codes[r * padded + c] + offset);
        for (int i = 0; i < zeros.length; i++) zeros[i] = (byte) (zeros[i] + offset);
        return new Blocks(rows, cols, block, bits, levels, scales, zeros);
    }

    /**
     * GPTQ {@code bits}-bit in blocks of {@code block} input features: {@link Gptq#quantizePadded} (the project's one GPTQ,
     * shared with the LLM 4-bit path; a last partial block is padded with zero columns), shifted to unsigned levels.
     * {@code hessian} is the {@code cols × cols} matrix {@code Σ xxᵀ} over calibration inputs (any positive multiple
     * works); {@code dampFraction} (0.01 is usual) of its mean diagonal is added for numerical stability. Block
     * parameters are chosen when the GPTQ sweep reaches the block, from the weights as already corrected by the earlier
     * columns.
     */
    public static Blocks gptq(float[] w, int rows, int cols, int block, int bits, double[] hessian, double dampFraction) {
        check(w, rows, cols);
        checkBlock(block);
        if (hessian.length != (long) cols * cols) throw new IllegalArgumentException("hessian has " + hessian.length + " entries, expected " + cols + "x" + cols);
        double trace = 0;
        for (int i = 0; i < cols; i++) trace += hessian[i * cols + i];
        if (!(trace > 0)) return rtn(w, rows, cols, block, bits);   // no calibration signal: nothing to weight errors by
        WeightScheme scheme = WeightScheme.of(bits, block, false);
        Gptq.Result r = Gptq.quantizePadded(w, rows, cols, hessian, new Gptq.Settings(scheme, dampFraction, 128, false), DType.F32, "weight");
        PackedIntWeights p = r.weights();
        int padded = p.cols(), offset = -scheme.qmin();
        byte[] codes = PackedIntWeights.unpackRows(p.packed(), rows, padded, bits);
        byte[] levels = new byte[rows * cols];
        for (int row = 0; row < rows; row++) for (int c = 0; c < cols; c++) levels[row * cols + c] = (byte) (codes[row * padded + c] + offset);
        byte[] zeros = new byte[p.zeroPoints().length];
        for (int i = 0; i < zeros.length; i++) zeros[i] = (byte) (p.zeroPoints()[i] + offset);
        return new Blocks(rows, cols, block, bits, levels, p.scales().clone(), zeros);
    }

    private static void check(float[] w, int rows, int cols) {
        if (rows <= 0 || cols <= 0 || w.length != (long) rows * cols) throw new IllegalArgumentException("weight of " + w.length + " values is not " + rows + "x" + cols);
    }

    private static void checkBlock(int block) {
        if (block < 16 || Integer.bitCount(block) != 1) throw new IllegalArgumentException("block size " + block + " is not a power of two ≥ 16");
    }
}
