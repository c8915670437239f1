package org.goldenstick.tensor.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Symmetric int8 weights {@code W[rows=out, cols=in]} (row-major, row stride = cols) with float scales:
 * {@code W_real[r, c] = q[r, c] · scale(r, c)}. Scales are per output channel ({@code groupSize == cols},
 * one per row) or per group of {@code groupSize} consecutive inputs ({@code rows · ceil(cols/groupSize)}
 * of them, row-major). The bytes live in native memory: a view of a memory-mapped safetensors file, or a copy of heap
 * codes ({@link #perChannel}, {@link #quantize}; {@link WeightMemory}: one segment kind for every weight); they must be
 * readable from the {@link Parallel} workers.
 *
 * <pre>{@code
 * Int8Weights w = Int8Weights.quantize(weight, out, in, in);      // RTN, per-channel
 * Int8Weights g = Int8Weights.quantize(weight, out, in, 128);     // RTN, group 128
 * W8A16Kernels.gemv(w, x, 0, y, 0, false);                        // y = W·x
 * }</pre>
 */
public record Int8Weights(MemorySegment data, long offset, int rows, int cols, float[] scales, int groupSize) {
    public Int8Weights {
        if (rows < 0 || cols < 0) throw new IllegalArgumentException("Int8Weights: negative shape [" + rows + ", " + cols + "]");
        if (groupSize < 1 || (cols > 0 && groupSize > cols)) {
            throw new IllegalArgumentException("Int8Weights: group size " + groupSize + " must be in [1, cols=" + cols + "]");
        }
        long need = offset + (long) rows * cols;
        if (offset < 0 || need > data.byteSize()) {
            throw new IllegalArgumentException("Int8Weights: [" + rows + ", " + cols + "] at offset " + offset + " needs " + need + " bytes, segment has " + data.byteSize());
        }
        int groups = cols == 0 ? 0 : (cols + groupSize - 1) / groupSize;
        if (scales.length != (long) rows * groups) {
            throw new IllegalArgumentException("Int8Weights: " + scales.length + " scales for [" + rows + ", " + cols + "] with group size " + groupSize + "; expected " + (long) rows * groups);
        }
    }

    /** Per-output-channel weights, the codes copied into native memory. */
    public static Int8Weights perChannel(byte[] q, int rows, int cols, float[] scales) {
        return new Int8Weights(WeightMemory.copy(q), 0, rows, cols, scales, Math.max(1, cols));
    }

    /** Round-to-nearest symmetric quantization (scale = max|w|/127 per row or group, half to even). */
    public static Int8Weights quantize(float[] w, int rows, int cols, int groupSize) {
        if ((long) rows * cols > w.length) throw new IllegalArgumentException("Int8Weights.quantize: " + w.length + " values for [" + rows + ", " + cols + "]");
        int groups = (cols + groupSize - 1) / groupSize;
        byte[] q = new byte[rows * cols];
        float[] scales = new float[rows * groups];
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < groups; g++) {
                int c0 = g * groupSize, c1 = Math.min(cols, c0 + groupSize);
                float max = 0;
                for (int c = c0; c < c1; c++) max = Math.max(max, Math.abs(w[r * cols + c]));
                float s = max == 0 ? 1f : max / 127f;
                scales[r * groups + g] = s;
                for (int c = c0; c < c1; c++) q[r * cols + c] = (byte) Requantize.quantize(w[r * cols + c], s, 0, false);
            }
        }
        return new Int8Weights(WeightMemory.copy(q), 0, rows, cols, scales, groupSize);
    }

    /** Number of scale groups per row (1 for per-channel). */
    public int groups() {
        return cols == 0 ? 0 : (cols + groupSize - 1) / groupSize;
    }

    public boolean perChannel() {
        return groupSize >= cols;
    }

    public byte q(int r, int c) {
        return data.get(ValueLayout.JAVA_BYTE, offset + (long) r * cols + c);
    }

    public float scale(int r, int c) {
        return scales[r * groups() + c / groupSize];
    }

    /** The real-valued matrix as a fresh float[rows·cols]. */
    public float[] dequantize() {
        float[] out = new float[rows * cols];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) out[r * cols + c] = q(r, c) * scale(r, c);
        return out;
    }
}
