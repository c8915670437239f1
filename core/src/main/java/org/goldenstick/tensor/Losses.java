package org.goldenstick.tensor;

import org.goldenstick.tensor.kernel.Parallel;

/** Cross-entropy (fused, numerically stable log-softmax) and mean squared error. */
final class Losses {
    private Losses() {}

    /** No target is ignored. */
    static final int NO_IGNORE = Integer.MIN_VALUE;

    /**
     * Mean over the counted rows of {@code −log softmax(logits)[target]}. Logits are {@code [..., C]}; there is one
     * target per row. Rows whose target equals {@code ignoreIndex} contribute nothing; if every row is ignored
     * the loss is 0 with zero gradient (PyTorch returns NaN there, which would stop a training loop).
     */
    static Tensor crossEntropy(Tensor logits, int[] targets, int ignoreIndex) {
        int[] s = logits.shapeRef();
        if (s.length < 1 || s[s.length - 1] == 0) throw new IllegalArgumentException("crossEntropy: logits need a non-empty class axis, got " + Shape.str(s));
        if (targets == null) throw new IllegalArgumentException("crossEntropy: targets are null (logits " + Shape.str(s) + ")");
        int c = s[s.length - 1], rows = logits.numel() / c;
        if (targets.length != rows) {
            throw new IllegalArgumentException("crossEntropy: " + targets.length + " targets for logits " + Shape.str(s) + " (" + rows + " rows)");
        }
        int counted = 0;
        for (int r = 0; r < rows; r++) {
            int t = targets[r];
            if (t == ignoreIndex) continue;
            if (t < 0 || t >= c) throw new IllegalArgumentException("crossEntropy: target " + t + " at row " + r + " is out of range [0, " + c + ") for logits " + Shape.str(s));
            counted++;
        }
        float[] x = logits.data();
        float[] rowMax = new float[rows], logSum = new float[rows]; // per row, reused by backward
        double[] rowLoss = new double[rows];
        Parallel.forEach((rows + 63) / 64, task -> {
            for (int r = task * 64, end = Math.min(rows, r + 64); r < end; r++) {
                int base = r * c;
                float max = VectorKernels.max(x, base, c);
                double ls = Math.log(VectorKernels.sumExp(x, base, c, max));
                rowMax[r] = max;
                logSum[r] = (float) ls;
                if (targets[r] != ignoreIndex) rowLoss[r] = ls - ((double) x[base + targets[r]] - max);
            }
        });
        double total = 0;
        for (double v : rowLoss) total += v;
        final int n = counted;
        float loss = n == 0 ? 0f : (float) (total / n);
        return Tensor.result("crossEntropy", new float[] {loss}, new int[0], out -> {
            float[] gx = logits.gradArray();
            if (n == 0) return;
            float g = out.gradArray()[0] / n;
            Parallel.forEach((rows + 63) / 64, task -> {
                for (int r = task * 64, end = Math.min(rows, r + 64); r < end; r++) {
                    int t = targets[r];
                    if (t == ignoreIndex) continue;
                    int base = r * c;
                    VectorKernels.scaledExp(x, base, c, rowMax[r], logSum[r], g, gx, base, true);
                    gx[base + t] -= g;
                }
            });
        }, logits);
    }

    /** Mean of (a − b)² over all elements; a and b must have the same shape. */
    static Tensor mseLoss(Tensor a, Tensor b) {
        if (!a.sameShape(b)) throw new IllegalArgumentException("mseLoss: shapes differ: " + Shape.str(a.shapeRef()) + " and " + Shape.str(b.shapeRef()));
        float[] x = a.data(), z = b.data();
        int n = x.length;
        if (n == 0) throw new IllegalArgumentException("mseLoss: empty tensors " + Shape.str(a.shapeRef()));
        double s = 0;
        for (int i = 0; i < n; i++) {
            double d = (double) x[i] - z[i];
            s += d * d;
        }
        return Tensor.result("mseLoss", new float[] {(float) (s / n)}, new int[0], out -> {
            float g = 2f * out.gradArray()[0] / n;
            if (a.requiresGrad()) {
                float[] ga = a.gradArray();
                for (int i = 0; i < n; i++) ga[i] += g * (x[i] - z[i]);
            }
            if (b.requiresGrad()) {
                float[] gb = b.gradArray();
                for (int i = 0; i < n; i++) gb[i] -= g * (x[i] - z[i]);
            }
        }, a, b);
    }
}
