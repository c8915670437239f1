package org.goldenstick.tensor;

/** Sums and maxima, and their gradients. */
final class Reductions {
    private Reductions() {}

    static Tensor sumAll(Tensor a) {
        float[] x = a.data();
        double s = 0;
        for (float v : x) s += v;
        return Tensor.result("sum", new float[] {(float) s}, new int[0], out -> {
            float g = out.gradArray()[0];
            float[] ga = a.gradArray();
            for (int i = 0; i < ga.length; i++) ga[i] += g;
        }, a);
    }

    /** View of a shape as [outer, n, inner] around one axis. */
    private static int[] split(int[] shape, int axis) {
        int outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= shape[i];
        for (int i = axis + 1; i < shape.length; i++) inner *= shape[i];
        return new int[] {outer, shape[axis], inner};
    }

    private static int[] reducedShape(int[] shape, int axis, boolean keepDim) {
        if (keepDim) {
            int[] s = shape.clone();
            s[axis] = 1;
            return s;
        }
        int[] s = new int[shape.length - 1];
        for (int i = 0, j = 0; i < shape.length; i++) if (i != axis) s[j++] = shape[i];
        return s;
    }

    static Tensor sum(Tensor a, int axis, boolean keepDim) {
        int[] shape = a.shapeRef();
        int ax = Shape.axis("sum", axis, shape.length);
        int[] d = split(shape, ax);
        int outer = d[0], n = d[1], inner = d[2];
        float[] x = a.data();
        float[] y = new float[outer * inner];
        for (int o = 0; o < outer; o++)
            for (int k = 0; k < n; k++) {
                int base = (o * n + k) * inner;
                for (int i = 0; i < inner; i++) y[o * inner + i] += x[base + i];
            }
        return Tensor.result("sum_axis", y, reducedShape(shape, ax, keepDim), out -> {
            float[] g = out.gradArray();
            float[] ga = a.gradArray();
            for (int o = 0; o < outer; o++)
                for (int k = 0; k < n; k++) {
                    int base = (o * n + k) * inner;
                    for (int i = 0; i < inner; i++) ga[base + i] += g[o * inner + i];
                }
        }, a);
    }

    static Tensor max(Tensor a, int axis, boolean keepDim) {
        int[] shape = a.shapeRef();
        int ax = Shape.axis("max", axis, shape.length);
        int[] d = split(shape, ax);
        int outer = d[0], n = d[1], inner = d[2];
        if (n == 0) throw new IllegalArgumentException("max: empty axis " + axis + " in shape " + Shape.str(shape));
        float[] x = a.data();
        float[] y = new float[outer * inner];
        int[] arg = new int[outer * inner];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++) {
                int best = 0;
                float bv = x[o * n * inner + i];
                for (int k = 1; k < n; k++) {
                    float v = x[(o * n + k) * inner + i];
                    if (v > bv) {
                        bv = v;
                        best = k;
                    }
                }
                y[o * inner + i] = bv;
                arg[o * inner + i] = best;
            }
        return Tensor.result("max_axis", y, reducedShape(shape, ax, keepDim), out -> {
            float[] g = out.gradArray();
            float[] ga = a.gradArray();
            for (int o = 0; o < outer; o++)
                for (int i = 0; i < inner; i++) ga[(o * n + arg[o * inner + i]) * inner + i] += g[o * inner + i];
        }, a);
    }

    static int[] argmaxLast(Tensor a) {
        int[] shape = a.shapeRef();
        if (shape.length == 0) return new int[] {0};
        int n = shape[shape.length - 1];
        int rows = a.numel() / Math.max(1, n);
        float[] x = a.data();
        int[] r = new int[rows];
        for (int row = 0; row < rows; row++) {
            int best = 0;
            for (int k = 1; k < n; k++) if (x[row * n + k] > x[row * n + best]) best = k;
            r[row] = best;
        }
        return r;
    }
}
