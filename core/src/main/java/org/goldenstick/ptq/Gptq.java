package org.goldenstick.ptq;

import java.util.stream.IntStream;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.tensor.kernel.PackedIntWeights;

/**
 * GPTQ for one linear layer (Frantar et al. 2022, and the reference implementation's structure): given the layer's
 * calibration Hessian {@code H = 2XᵀX / n} over its inputs, quantize the weight columns one at a time and spread
 * each column's rounding error over the not-yet-quantized columns through the inverse Hessian.
 *
 * <ol>
 *   <li>Dead inputs ({@code H[i,i] = 0}) get {@code H[i,i] = 1} and a zero weight column.
 *   <li>Act-order (option): columns are processed by decreasing {@code H[i,i]}. Groups stay <b>static</b>: their
 *       scale/zero point are computed from the original weights in the original column order before any update, so
 *       the file needs no {@code g_idx} (compressed-tensors {@code actorder: weight}).
 *   <li>Dampening: {@code H += λ·mean(diag H)·I} ({@code λ} = 1 % by default).
 *   <li>{@code U} = upper Cholesky factor of {@code H⁻¹} ({@code H⁻¹ = UᵀU}), from the Cholesky factor of H.
 *   <li>Lazy block updates of {@code blockSize} columns: inside a block each column is quantized
 *       ({@code q = fakeQuant(w)}), its error {@code e = (w − q)/U[i,i]} updates the rest of the block
 *       ({@code W[:, j] −= e·U[i, j]}); after the block, all later columns get {@code W[:, later] −= E·U[block, later]}
 *       in one product.
 *   <li>Without act-order, a group's scale/zero point are computed when its first column is reached, from the
 *       current (error-updated) weights of the group, as the reference does; per channel, once from the whole row.
 * </ol>
 * All arithmetic is float64. Errors: a Hessian that is not positive definite after dampening names the layer and
 * says what to change (more calibration tokens or a larger dampening).
 *
 * <pre>{@code
 * Gptq.Result r = Gptq.quantize(w, out, in, hessian, new Gptq.Settings(WeightScheme.of(4, 128, true), 0.01, 128, false), DType.F32, "q_proj");
 * float[] processed = r.dequantized();          // the quantized-processed float weights
 * }</pre>
 */
public final class Gptq {
    private Gptq() {}

    /**
     * @param weights    the integer format
     * @param dampening  λ, the fraction of the mean Hessian diagonal added to the diagonal (default 0.01)
     * @param blockSize  columns per lazy block update (default 128)
     * @param actOrder   process columns by decreasing Hessian diagonal (static groups)
     */
    public record Settings(WeightScheme weights, double dampening, int blockSize, boolean actOrder) {
        public Settings {
            if (!(dampening > 0 && dampening < 1)) throw new IllegalArgumentException("GPTQ dampening must be in (0, 1), got " + dampening);
            if (blockSize < 1) throw new IllegalArgumentException("GPTQ block size must be positive, got " + blockSize);
        }

        public static Settings defaults(WeightScheme weights) {
            return new Settings(weights, 0.01, 128, false);
        }

        public Settings withActOrder(boolean a) {
            return new Settings(weights, dampening, blockSize, a);
        }
    }

    /**
     * The quantized layer and the float weights it stands for ({@code dequantized[o·in + c] = (q − zp)·scale}): the
     * "quantized-processed float weights" other exporters (e.g. GGUF) can re-encode.
     */
    public record Result(PackedIntWeights weights, float[] dequantized) {}

    /** GPTQ of {@code w [rows·cols]} (row-major, out × in) with Hessian {@code h [cols·cols]} (not modified). */
    public static Result quantize(float[] w, int rows, int cols, double[] h, Settings s, DType scaleDtype, String name) {
        WeightScheme ws = s.weights();
        int gs = ws.groupFor(cols, name), groups = cols / gs;
        double[] H = h.clone();
        double[] W = new double[rows * cols];
        for (int i = 0; i < W.length; i++) W[i] = w[i];
        for (int i = 0; i < cols; i++) {
            if (H[i * cols + i] == 0) {
                H[i * cols + i] = 1;
                for (int r = 0; r < rows; r++) W[r * cols + i] = 0;
            }
        }
        float[] scale = new float[rows * groups];
        int[] zp = new int[rows * groups];
        boolean[] ready = new boolean[groups];
        if (s.actOrder() || gs == cols) {
            // static groups (and per channel): parameters from the original weights, original column order
            for (int g = 0; g < groups; g++) groupParams(W, rows, cols, g * gs, gs, ws, scaleDtype, scale, zp, groups, g);
            java.util.Arrays.fill(ready, true);
        }
        int[] perm = new int[cols];
        for (int i = 0; i < cols; i++) perm[i] = i;
        if (s.actOrder()) {
            Integer[] idx = new Integer[cols];
            for (int i = 0; i < cols; i++) idx[i] = i;
            final double[] hd = H;
            java.util.Arrays.sort(idx, (a, b) -> Double.compare(hd[b * cols + b], hd[a * cols + a]));
            for (int i = 0; i < cols; i++) perm[i] = idx[i];
            W = permuteColumns(W, rows, cols, perm);
            H = permuteSymmetric(H, cols, perm);
        }
        double mean = 0;
        for (int i = 0; i < cols; i++) mean += H[i * cols + i];
        double damp = s.dampening() * mean / cols;
        for (int i = 0; i < cols; i++) H[i * cols + i] += damp;
        double[] U = upperCholeskyOfInverse(H, cols, name);

        double[] Q = new double[rows * cols];
        int bs = s.blockSize();
        for (int i1 = 0; i1 < cols; i1 += bs) {
            int i2 = Math.min(cols, i1 + bs), count = i2 - i1;
            double[] err = new double[rows * count];
            for (int i = i1; i < i2; i++) {
                int orig = perm[i], g = orig / gs;
                if (!ready[g]) {
                    // without act-order the permutation is the identity: the group starts here
                    groupParams(W, rows, cols, g * gs, gs, ws, scaleDtype, scale, zp, groups, g);
                    ready[g] = true;
                }
                double d = U[i * cols + i];
                for (int r = 0; r < rows; r++) {
                    double wv = W[r * cols + i];
                    float sc = scale[r * groups + g];
                    int z = zp[r * groups + g];
                    double q = (double) (ws.code((float) wv, sc, z) - z) * sc;
                    Q[r * cols + i] = q;
                    double e = (wv - q) / d;
                    err[r * count + (i - i1)] = e;
                    for (int j = i + 1; j < i2; j++) W[r * cols + j] -= e * U[i * cols + j];
                }
            }
            if (i2 < cols) {
                for (int r = 0; r < rows; r++) {
                    for (int i = 0; i < count; i++) {
                        double e = err[r * count + i];
                        if (e == 0) continue;
                        int ui = (i1 + i) * cols;
                        for (int j = i2; j < cols; j++) W[r * cols + j] -= e * U[ui + j];
                    }
                }
            }
        }
        if (s.actOrder()) {
            int[] inv = new int[cols];
            for (int i = 0; i < cols; i++) inv[perm[i]] = i;
            Q = permuteColumns(Q, rows, cols, inv);
        }
        byte[] codes = new byte[rows * cols];
        float[] deq = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int g = c / gs, z = zp[r * groups + g];
                float sc = scale[r * groups + g];
                int q = (int) Math.round(Q[r * cols + c] / sc) + z;
                codes[r * cols + c] = (byte) q;
                deq[r * cols + c] = (q - z) * sc;
            }
        }
        byte[] zb = null;
        if (!ws.symmetric()) {
            zb = new byte[zp.length];
            for (int i = 0; i < zp.length; i++) zb[i] = (byte) zp[i];
        }
        return new Result(PackedIntWeights.pack(codes, rows, cols, ws.bits(), gs, scale, zb), deq);
    }

    /**
     * GPTQ for a width the group size need not divide (an ONNX encoder's 320-wide FFN with blocks of 32 does, a 100-wide one
     * does not): the weight is extended with zero columns and the Hessian with as many decoupled inputs up to whole groups,
     * then quantized by {@link #quantize}. A padding input's Hessian diagonal is the mean of the real ones, so the
     * dampening is what the real columns alone would give; being decoupled, it receives no error, stays exactly 0 and
     * leaves the last group's range (asymmetric ranges always hold 0) as it is. The result covers the padded width,
     * {@code paddedCols = ⌈cols / group⌉ · group}: callers keep the first {@code cols} columns.
     *
     * <pre>{@code
     * Gptq.Result r = Gptq.quantizePadded(w, out, 100, hessian, Gptq.Settings.defaults(WeightScheme.of(4, 32, false)), DType.F32, "ffn");
     * // r.weights().cols() == 128; columns 100..127 are zero codes at the zero point
     * }</pre>
     */
    public static Result quantizePadded(float[] w, int rows, int cols, double[] h, Settings s, DType scaleDtype, String name) {
        if (h.length != (long) cols * cols) throw new IllegalArgumentException("GPTQ " + name + ": Hessian has " + h.length + " entries, expected " + cols + "x" + cols);
        int gs = s.weights().groupSize();
        if (gs == 0 || cols % gs == 0) return quantize(w, rows, cols, h, s, scaleDtype, name);
        int padded = (cols + gs - 1) / gs * gs;
        float[] wp = new float[rows * padded];
        for (int r = 0; r < rows; r++) System.arraycopy(w, r * cols, wp, r * padded, cols);
        double[] hp = new double[padded * padded];
        double mean = 0;
        for (int i = 0; i < cols; i++) {
            System.arraycopy(h, i * cols, hp, i * padded, cols);
            mean += h[i * cols + i];
        }
        mean /= cols;
        for (int i = cols; i < padded; i++) hp[i * padded + i] = mean > 0 ? mean : 1;
        return quantize(wp, rows, padded, hp, s, scaleDtype, name);
    }

    private static void groupParams(double[] W, int rows, int cols, int c0, int gs, WeightScheme ws, DType scaleDtype, float[] scale, int[] zp, int groups, int g) {
        float[] sz = new float[2];
        for (int r = 0; r < rows; r++) {
            double mn = Double.POSITIVE_INFINITY, mx = Double.NEGATIVE_INFINITY;
            for (int c = c0; c < c0 + gs; c++) {
                mn = Math.min(mn, W[r * cols + c]);
                mx = Math.max(mx, W[r * cols + c]);
            }
            ws.params((float) mn, (float) mx, scaleDtype, sz);
            scale[r * groups + g] = sz[0];
            zp[r * groups + g] = (int) sz[1];
        }
    }

    static double[] permuteColumns(double[] a, int rows, int cols, int[] perm) {
        double[] out = new double[a.length];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) out[r * cols + c] = a[r * cols + perm[c]];
        return out;
    }

    static double[] permuteSymmetric(double[] h, int n, int[] perm) {
        double[] out = new double[h.length];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) out[i * n + j] = h[perm[i] * n + perm[j]];
        return out;
    }

    /**
     * Lower Cholesky factor L of a symmetric positive definite matrix (row-major, n×n): A = LLᵀ. Rows below the pivot
     * are independent, so they run in parallel; each sum keeps its sequential order, so the result does not depend on
     * the thread count.
     */
    static double[] cholesky(double[] a, int n, String name) {
        double[] l = new double[n * n];
        for (int j = 0; j < n; j++) {
            double s = a[j * n + j];
            for (int k = 0; k < j; k++) s -= l[j * n + k] * l[j * n + k];
            if (!(s > 0)) throw new IllegalArgumentException("GPTQ " + name + ": the calibration Hessian is not positive definite after dampening (pivot " + j + " = " + s + "); give more calibration tokens (--calib-samples, --seq-len) or a larger dampening");
            double d = Math.sqrt(s);
            l[j * n + j] = d;
            final int jj = j;
            IntStream.range(j + 1, n).parallel().forEach(i -> {
                double t = a[i * n + jj];
                for (int k = 0; k < jj; k++) t -= l[i * n + k] * l[jj * n + k];
                l[i * n + jj] = t / d;
            });
        }
        return l;
    }

    /**
     * U upper triangular with H⁻¹ = UᵀU: the Cholesky factor of the inverse, as the reference uses it. Shared by every
     * GPTQ in the project (the LLM layers here and {@code ptq.onnx.BlockQuant}).
     *
     * @param name the layer, named in the error when H is not positive definite
     */
    public static double[] upperCholeskyOfInverse(double[] h, int n, String name) {
        double[] l = cholesky(h, n, name);
        // L⁻¹ (lower triangular), column by column in parallel
        double[] li = new double[n * n];
        IntStream.range(0, n).parallel().forEach(j -> {
            li[j * n + j] = 1 / l[j * n + j];
            for (int i = j + 1; i < n; i++) {
                double s = 0;
                for (int k = j; k < i; k++) s += l[i * n + k] * li[k * n + j];
                li[i * n + j] = -s / l[i * n + i];
            }
        });
        // H⁻¹ = L⁻ᵀ L⁻¹: entry (i, j) = Σ_{k ≥ max(i, j)} li[k][i] li[k][j]
        double[] inv = new double[n * n];
        IntStream.range(0, n).parallel().forEach(i -> {
            for (int j = i; j < n; j++) {
                double s = 0;
                for (int k = j; k < n; k++) s += li[k * n + i] * li[k * n + j];
                inv[i * n + j] = s;
                inv[j * n + i] = s;
            }
        });
        double[] lower = cholesky(inv, n, name);
        double[] u = new double[n * n];
        for (int i = 0; i < n; i++) for (int j = 0; j <= i; j++) u[j * n + i] = lower[i * n + j];
        return u;
    }
}
