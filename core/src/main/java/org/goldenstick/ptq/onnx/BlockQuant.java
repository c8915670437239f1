package org.goldenstick.ptq.onnx;

import java.util.stream.IntStream;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.ptq.Gptq;
import org.goldenstick.ptq.WeightScheme;

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
     * GPTQ {@code bits}-bit in blocks of {@code block} input features. {@code hessian} is the {@code cols × cols} matrix
     * {@code Σ xxᵀ} over calibration inputs (any positive multiple works); {@code dampFraction} (0.01 is usual) of
     * its mean diagonal is added for numerical stability. Block parameters are chosen when the GPTQ sweep reaches the
     * block, from the weights as already corrected by the earlier columns.
     */
    public static Blocks gptq(float[] w, int rows, int cols, int block, int bits, double[] hessian, double dampFraction) {
        check(w, rows, cols);
        checkBlock(block);
        WeightScheme scheme = WeightScheme.of(bits, block, false);
        int offset = -scheme.qmin();
        if (hessian.length != (long) cols * cols) throw new IllegalArgumentException("hessian has " + hessian.length + " entries, expected " + cols + "x" + cols);
        double[] h = hessian.clone();
        float[] work = w.clone();
        double meanDiag = 0;
        for (int i = 0; i < cols; i++) meanDiag += h[i * cols + i];
        meanDiag /= cols;
        if (!(meanDiag > 0)) return rtn(w, rows, cols, block, bits);   // no calibration signal: nothing to weight errors by
        for (int i = 0; i < cols; i++) {
            if (h[i * cols + i] == 0) {                            // a feature never active: its weights do not matter
                h[i * cols + i] = 1;
                for (int r = 0; r < rows; r++) work[r * cols + i] = 0;
            }
            h[i * cols + i] += dampFraction * meanDiag;
        }
        double[] u = Gptq.upperCholeskyOfInverse(h, cols, "weight");
        int nb = (cols + block - 1) / block;
        byte[] levels = new byte[rows * cols];
        float[] scales = new float[rows * nb];
        byte[] zeros = new byte[rows * nb];
        IntStream.range(0, rows).parallel().forEach(r -> {
            int base = r * cols;
            float[] sz = new float[2];
            float scale = 1;
            int zp = 0;
            for (int i = 0; i < cols; i++) {
                if (i % block == 0) {
                    int b = i / block, len = Math.min(block, cols - i);
                    float mn = Float.POSITIVE_INFINITY, mx = Float.NEGATIVE_INFINITY;
                    for (int c = 0; c < len; c++) {
                        mn = Math.min(mn, work[base + i + c]);
                        mx = Math.max(mx, work[base + i + c]);
                    }
                    scheme.params(mn, mx, DType.F32, sz);
                    scale = sz[0];
                    zp = (int) sz[1];
                    scales[r * nb + b] = scale;
                    zeros[r * nb + b] = (byte) (zp + offset);
                }
                float v = work[base + i];
                int code = scheme.code(v, scale, zp);
                levels[base + i] = (byte) (code + offset);
                double err = (v - (code - zp) * scale) / u[i * cols + i];
                for (int j = i + 1; j < cols; j++) work[base + j] -= (float) (err * u[i * cols + j]);
            }
        });
        return new Blocks(rows, cols, block, bits, levels, scales, zeros);
    }

    private static void check(float[] w, int rows, int cols) {
        if (rows <= 0 || cols <= 0 || w.length != (long) rows * cols) throw new IllegalArgumentException("weight of " + w.length + " values is not " + rows + "x" + cols);
    }

    private static void checkBlock(int block) {
        if (block < 16 || Integer.bitCount(block) != 1) throw new IllegalArgumentException("block size " + block + " is not a power of two ≥ 16");
    }
}
