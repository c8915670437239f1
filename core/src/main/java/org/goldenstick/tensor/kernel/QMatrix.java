package org.goldenstick.tensor.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * An 8-bit integer matrix operand of {@link Int8Gemm}: row-major bytes with a leading dimension, read as
 * int8 or uint8, minus a zero point. {@code transposed} means the stored matrix is op(X)ᵀ (so op(X) = Xᵀ).
 * {@code zeroPoints} has one entry (per tensor) or one per row of op(A) / per column of op(B).
 *
 * <pre>{@code
 * QMatrix a = QMatrix.uint8(xq, 0, k, 128);          // A[m,k] uint8, zero point 128
 * QMatrix b = QMatrix.int8(wq, 0, k, 0).transpose(); // stored W[n,k], used as B = Wᵀ
 * }</pre>
 *
 * @param data       the bytes (a heap segment for byte[], or a mapped file); off-heap segments must be readable
 *                   from the {@link Parallel} workers (a shared or global arena, not a confined one)
 * @param offset     byte offset of element (0, 0)
 * @param ld         bytes between consecutive stored rows
 * @param transposed true if the stored matrix is the transpose of the operand
 * @param unsigned   true for uint8, false for int8
 * @param zeroPoints 1 value, or one per row (A) / column (B) of the operand
 */
public record QMatrix(MemorySegment data, long offset, int ld, boolean transposed, boolean unsigned, int[] zeroPoints) {
    public QMatrix {
        if (data == null) throw new IllegalArgumentException("QMatrix: data is null");
        if (offset < 0 || ld < 0) throw new IllegalArgumentException("QMatrix: negative offset " + offset + " or ld " + ld);
        if (zeroPoints == null || zeroPoints.length == 0) throw new IllegalArgumentException("QMatrix: zeroPoints must have 1 or more entries");
        int lo = unsigned ? 0 : -128, hi = unsigned ? 255 : 127;
        for (int z : zeroPoints) {
            if (z < lo || z > hi) {
                throw new IllegalArgumentException("QMatrix: zero point " + z + " outside the " + (unsigned ? "uint8" : "int8") + " range [" + lo + ", " + hi + "]");
            }
        }
    }

    public static QMatrix int8(byte[] data, int offset, int ld, int zeroPoint) {
        return new QMatrix(MemorySegment.ofArray(data), offset, ld, false, false, new int[] {zeroPoint});
    }

    public static QMatrix uint8(byte[] data, int offset, int ld, int zeroPoint) {
        return new QMatrix(MemorySegment.ofArray(data), offset, ld, false, true, new int[] {zeroPoint});
    }

    /** The same bytes used as the transposed operand. */
    public QMatrix transpose() {
        return new QMatrix(data, offset, ld, !transposed, unsigned, zeroPoints);
    }

    /** Per-row (A) or per-column (B) zero points instead of one. */
    public QMatrix withZeroPoints(int... zp) {
        return new QMatrix(data, offset, ld, transposed, unsigned, zp.clone());
    }

    int zeroPoint(int index) {
        return zeroPoints.length == 1 ? zeroPoints[0] : zeroPoints[index];
    }

    /** The operand's element (r, c) as an int, zero point not subtracted. */
    int raw(int r, int c) {
        long at = transposed ? offset + (long) c * ld + r : offset + (long) r * ld + c;
        byte v = data.get(ValueLayout.JAVA_BYTE, at);
        return unsigned ? v & 0xFF : v;
    }

    void checkShape(String name, int rows, int cols, int zpCount) {
        int sr = transposed ? cols : rows, sc = transposed ? rows : cols;
        if (rows == 0 || cols == 0) return;
        if (ld < sc) throw new IllegalArgumentException("Int8Gemm: " + name + " has ld " + ld + " < " + sc + " stored columns");
        long need = offset + (long) (sr - 1) * ld + sc;
        if (need > data.byteSize()) {
            throw new IllegalArgumentException("Int8Gemm: " + name + " needs " + need + " bytes for a " + rows + "x" + cols
                    + (transposed ? " (transposed)" : "") + " operand, has " + data.byteSize());
        }
        if (zeroPoints.length != 1 && zeroPoints.length != zpCount) {
            throw new IllegalArgumentException("Int8Gemm: " + name + " has " + zeroPoints.length + " zero points; expected 1 or " + zpCount);
        }
    }
}
