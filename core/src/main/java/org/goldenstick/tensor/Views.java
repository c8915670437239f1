package org.goldenstick.tensor;

/** Shape-changing ops: reshape, permute, slice, gather, concat. */
final class Views {
    private Views() {}

    static Tensor reshape(Tensor a, int[] newShape) {
        int[] s = newShape.clone();
        int infer = -1, known = 1;
        for (int i = 0; i < s.length; i++) {
            if (s[i] == -1) {
                if (infer >= 0) throw new IllegalArgumentException("reshape: more than one -1 in " + Shape.str(newShape));
                infer = i;
            } else known *= s[i];
        }
        if (infer >= 0) {
            if (known == 0 || a.numel() % known != 0) {
                throw new IllegalArgumentException("reshape: cannot reshape " + Shape.str(a.shapeRef()) + " into " + Shape.str(newShape));
            }
            s[infer] = a.numel() / known;
        }
        if (Shape.numel(s) != a.numel()) {
            throw new IllegalArgumentException("reshape: cannot reshape " + Shape.str(a.shapeRef()) + " (" + a.numel() + " elements) into " + Shape.str(newShape));
        }
        if (!a.valuesPending()) a.data(); // a tensor of a closed training step fails here, with its message
        return Tensor.view("reshape", a, s, out -> a.accumulateGrad(out.gradArray()), a);
    }

    static Tensor permute(Tensor a, int[] axes) {
        int[] in = a.shapeRef();
        int r = in.length;
        if (axes.length != r) throw new IllegalArgumentException("permute: " + axes.length + " axes for shape " + Shape.str(in));
        boolean[] used = new boolean[r];
        int[] out = new int[r];
        for (int i = 0; i < r; i++) {
            int ax = Shape.axis("permute", axes[i], r);
            if (used[ax]) throw new IllegalArgumentException("permute: axis " + ax + " repeated in " + Shape.str(axes));
            used[ax] = true;
            out[i] = in[ax];
        }
        int[] inStrides = Shape.strides(in);
        int[] srcStride = new int[r];
        for (int i = 0; i < r; i++) srcStride[i] = inStrides[Shape.axis("permute", axes[i], r)];
        int n = a.numel();
        int[] map = new int[n];
        int[] counter = new int[r];
        int off = 0;
        for (int i = 0; i < n; i++) {
            map[i] = off;
            for (int d = r - 1; d >= 0; d--) {
                counter[d]++;
                off += srcStride[d];
                if (counter[d] < out[d]) break;
                off -= srcStride[d] * out[d];
                counter[d] = 0;
            }
        }
        float[] x = a.data();
        float[] y = new float[n];
        for (int i = 0; i < n; i++) y[i] = x[map[i]];
        return Tensor.result("permute", y, out, o -> {
            float[] g = o.gradArray();
            float[] ga = a.gradArray();
            for (int i = 0; i < n; i++) ga[map[i]] += g[i];
        }, a);
    }

    static Tensor slice(Tensor a, int axis, int start, int end) {
        int[] in = a.shapeRef();
        int ax = Shape.axis("slice", axis, in.length);
        if (start < 0 || end > in[ax] || start > end) {
            throw new IllegalArgumentException("slice: [" + start + ", " + end + ") out of range for axis " + ax + " of shape " + Shape.str(in));
        }
        int[] idx = new int[end - start];
        for (int i = 0; i < idx.length; i++) idx[i] = start + i;
        return indexSelect(a, ax, idx);
    }

    static Tensor indexSelect(Tensor a, int axis, int[] indices) {
        int[] in = a.shapeRef();
        int ax = Shape.axis("indexSelect", axis, in.length);
        int outer = 1, inner = 1;
        for (int i = 0; i < ax; i++) outer *= in[i];
        for (int i = ax + 1; i < in.length; i++) inner *= in[i];
        int n = in[ax], m = indices.length;
        for (int k : indices) if (k < 0 || k >= n) throw new IndexOutOfBoundsException("indexSelect: index " + k + " out of range for axis " + ax + " of shape " + Shape.str(in));
        int[] outShape = in.clone();
        outShape[ax] = m;
        float[] x = a.data();
        float[] y = new float[outer * m * inner];
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < m; j++) System.arraycopy(x, (o * n + indices[j]) * inner, y, (o * m + j) * inner, inner);
        final int fo = outer, fi = inner;
        return Tensor.result("index_select", y, outShape, out -> {
            float[] g = out.gradArray();
            float[] ga = a.gradArray();
            for (int o = 0; o < fo; o++)
                for (int j = 0; j < m; j++) {
                    int src = (o * m + j) * fi, dst = (o * n + indices[j]) * fi;
                    for (int i = 0; i < fi; i++) ga[dst + i] += g[src + i];
                }
        }, a);
    }

    static Tensor concat(int axis, Tensor... parts) {
        if (parts.length == 0) throw new IllegalArgumentException("concat: no tensors");
        int[] first = parts[0].shapeRef();
        int ax = Shape.axis("concat", axis, first.length);
        int total = 0;
        for (Tensor p : parts) {
            int[] s = p.shapeRef();
            boolean ok = s.length == first.length;
            for (int i = 0; ok && i < s.length; i++) if (i != ax && s[i] != first[i]) ok = false;
            if (!ok) throw new IllegalArgumentException("concat: shape " + Shape.str(s) + " does not match " + Shape.str(first) + " outside axis " + ax);
            total += s[ax];
        }
        int outer = 1, inner = 1;
        for (int i = 0; i < ax; i++) outer *= first[i];
        for (int i = ax + 1; i < first.length; i++) inner *= first[i];
        int[] outShape = first.clone();
        outShape[ax] = total;
        float[] y = new float[outer * total * inner];
        int at = 0;
        int[] starts = new int[parts.length];
        for (int p = 0; p < parts.length; p++) {
            starts[p] = at;
            int n = parts[p].shapeRef()[ax];
            float[] x = parts[p].data();
            for (int o = 0; o < outer; o++) System.arraycopy(x, o * n * inner, y, (o * total + at) * inner, n * inner);
            at += n;
        }
        final int fo = outer, fi = inner, ft = total;
        return Tensor.result("concat", y, outShape, out -> {
            float[] g = out.gradArray();
            for (int p = 0; p < parts.length; p++) {
                if (!parts[p].requiresGrad()) continue;
                int n = parts[p].shapeRef()[ax];
                float[] gp = parts[p].gradArray();
                for (int o = 0; o < fo; o++) {
                    int src = (o * ft + starts[p]) * fi, dst = o * n * fi;
                    for (int i = 0; i < n * fi; i++) gp[dst + i] += g[src + i];
                }
            }
        }, parts);
    }
}
