package org.goldenstick.tensor;

import org.goldenstick.tensor.kernel.Sgemm;

/** Matrix products on top of {@link Sgemm}, with gradients dA = dC·Bᵀ and dB = Aᵀ·dC. */
final class MatMul {
    private MatMul() {}

    static Tensor matmul(Tensor a, Tensor b) {
        int[] as = a.shapeRef(), bs = b.shapeRef();
        if (as.length < 2 || bs.length < 2) {
            throw new IllegalArgumentException("matmul: needs rank >= 2, got " + Shape.str(as) + " and " + Shape.str(bs));
        }
        int m = as[as.length - 2], k = as[as.length - 1];
        int k2 = bs[bs.length - 2], n = bs[bs.length - 1];
        if (k != k2) throw new IllegalArgumentException("matmul: inner dimensions differ: " + Shape.str(as) + " x " + Shape.str(bs));
        if (bs.length == 2) {
            // [..., M, K] x [K, N]: fold the leading dims into M.
            int rows = a.numel() / k;
            float[] c = new float[rows * n];
            float[] x = a.data(), w = b.data();
            Sgemm.gemm(false, false, rows, n, k, x, 0, k, w, 0, n, c, 0, n, false);
            int[] os = as.clone();
            os[os.length - 1] = n;
            return Tensor.result("matmul", c, os, out -> {
                float[] g = out.gradArray();
                if (a.requiresGrad()) Sgemm.gemm(false, true, rows, k, n, g, 0, n, w, 0, n, a.gradArray(), 0, k, true);
                if (b.requiresGrad()) Sgemm.gemm(true, false, k, n, rows, x, 0, k, g, 0, n, b.gradArray(), 0, n, true);
            }, a, b);
        }
        if (as.length != bs.length) throw new IllegalArgumentException("matmul: batch ranks differ: " + Shape.str(as) + " x " + Shape.str(bs));
        int batch = 1;
        for (int i = 0; i < as.length - 2; i++) {
            if (as[i] != bs[i]) throw new IllegalArgumentException("matmul: batch dimensions differ: " + Shape.str(as) + " x " + Shape.str(bs));
            batch *= as[i];
        }
        float[] x = a.data(), w = b.data();
        float[] c = new float[batch * m * n];
        for (int bi = 0; bi < batch; bi++) Sgemm.gemm(false, false, m, n, k, x, bi * m * k, k, w, bi * k * n, n, c, bi * m * n, n, false);
        int[] os = as.clone();
        os[os.length - 1] = n;
        final int fb = batch;
        return Tensor.result("bmm", c, os, out -> {
            float[] g = out.gradArray();
            for (int bi = 0; bi < fb; bi++) {
                if (a.requiresGrad()) Sgemm.gemm(false, true, m, k, n, g, bi * m * n, n, w, bi * k * n, n, a.gradArray(), bi * m * k, k, true);
                if (b.requiresGrad()) Sgemm.gemm(true, false, k, n, m, x, bi * m * k, k, g, bi * m * n, n, b.gradArray(), bi * k * n, n, true);
            }
        }, a, b);
    }

    /** {@code y = x·Wᵀ + b} for x {@code [..., in]}, W {@code [out, in]}, b {@code [out]} or null. */
    static Tensor linear(Tensor x, Tensor w, Tensor bias) {
        int[] xs = x.shapeRef(), ws = w.shapeRef();
        if (ws.length != 2 || xs.length < 1 || xs[xs.length - 1] != ws[1]) {
            throw new IllegalArgumentException("linear: input " + Shape.str(xs) + " does not match weight " + Shape.str(ws) + " (expected [..., " + (ws.length == 2 ? ws[1] : "?") + "])");
        }
        if (bias != null && (bias.rank() != 1 || bias.numel() != ws[0])) {
            throw new IllegalArgumentException("linear: bias " + Shape.str(bias.shapeRef()) + " does not match weight " + Shape.str(ws));
        }
        int in = ws[1], outF = ws[0], rows = x.numel() / Math.max(1, in);
        float[] xd = x.data(), wd = w.data();
        float[] y = new float[rows * outF];
        Sgemm.gemm(false, true, rows, outF, in, xd, 0, in, wd, 0, in, y, 0, outF, false);
        if (bias != null) {
            float[] bd = bias.data();
            for (int r = 0; r < rows; r++) for (int j = 0; j < outF; j++) y[r * outF + j] += bd[j];
        }
        int[] os = xs.clone();
        os[os.length - 1] = outF;
        return Tensor.result("linear", y, os, out -> {
            float[] g = out.gradArray();
            if (x.requiresGrad()) Sgemm.gemm(false, false, rows, in, outF, g, 0, outF, wd, 0, in, x.gradArray(), 0, in, true);
            if (w.requiresGrad()) Sgemm.gemm(true, false, outF, in, rows, g, 0, outF, xd, 0, in, w.gradArray(), 0, in, true);
            if (bias != null && bias.requiresGrad()) {
                float[] gb = bias.gradArray();
                for (int r = 0; r < rows; r++) for (int j = 0; j < outF; j++) gb[j] += g[r * outF + j];
            }
        }, x, w, bias);
    }
}
