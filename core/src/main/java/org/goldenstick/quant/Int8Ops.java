package org.goldenstick.quant;

import org.goldenstick.tensor.kernel.Parallel;

/**
 * Integer building blocks of the deploy layers: exact 8-bit GEMM with zero points and int32 accumulation
 * ({@code C[i,j] = Σ_p (A[i,p] − za(i))·(B[p,j] − zb(j))}, ONNX MatMulInteger semantics), requantization and
 * activation quantization.
 *
 * <pre>{@code
 * int[] c = new int[m * n];
 * Int8Ops.gemm(m, n, k, xq, true, new int[] {zx}, wq, true, false, wZeroPoints, c);   // x·Wᵀ with W stored [n, k]
 * }</pre>
 */
public final class Int8Ops {
    private Int8Ops() {}

    /**
     * @param a row-major {@code [m, k]}; {@code aUnsigned} reads bytes as uint8
     * @param za one zero point, or one per row of A
     * @param b {@code [k, n]} row-major, or stored {@code [n, k]} when {@code bTransposed}
     * @param zb one zero point, or one per column of B
     * @param c output {@code [m, n]} (overwritten)
     */
    public static void gemm(int m, int n, int k, byte[] a, boolean aUnsigned, int[] za, byte[] b, boolean bTransposed, boolean bUnsigned,
                            int[] zb, int[] c) {
        if (a.length < (long) m * k || b.length < (long) k * n || c.length < (long) m * n) {
            throw new IllegalArgumentException("Int8Ops.gemm: buffers too small for m=" + m + " n=" + n + " k=" + k);
        }
        // Widen B once to (b - zb) ints laid out [n, k] so the inner loop is a contiguous dot product.
        int[] bt = new int[n * k];
        for (int j = 0; j < n; j++) {
            int z = zb.length == 1 ? zb[0] : zb[j];
            for (int p = 0; p < k; p++) {
                byte v = bTransposed ? b[j * k + p] : b[p * n + j];
                bt[j * k + p] = (bUnsigned ? v & 0xFF : v) - z;
            }
        }
        Parallel.forEach(m, i -> {
            int z = za.length == 1 ? za[0] : za[i];
            int[] row = new int[k];
            for (int p = 0; p < k; p++) {
                byte v = a[i * k + p];
                row[p] = (aUnsigned ? v & 0xFF : v) - z;
            }
            for (int j = 0; j < n; j++) {
                int s = 0, off = j * k;
                for (int p = 0; p < k; p++) s += row[p] * bt[off + p];
                c[i * n + j] = s;
            }
        });
    }

    /** Quantizes floats per tensor to bytes on the grid of {@code p} (uint8 or int8). */
    public static byte[] quantizeActivations(float[] x, QuantParams p) {
        if (p.perChannel()) throw new IllegalArgumentException("quantizeActivations: activations are quantized per tensor, got " + p);
        byte[] out = new byte[x.length];
        float s = p.scale()[0];
        int z = p.zeroPoint()[0], lo = p.qmin(), hi = p.qmax();
        for (int i = 0; i < x.length; i++) out[i] = (byte) QuantMath.quantizeValue(x[i], s, z, lo, hi);
        return out;
    }

    /** {@code (q − zp)·scale} for per-tensor bytes. */
    public static float[] dequantizeActivations(byte[] q, QuantParams p) {
        float[] out = new float[q.length];
        float s = p.scale()[0];
        int z = p.zeroPoint()[0];
        boolean unsigned = !p.signed();
        for (int i = 0; i < q.length; i++) out[i] = ((unsigned ? q[i] & 0xFF : q[i]) - z) * s;
        return out;
    }
}
