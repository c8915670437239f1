package org.goldenstick.tensor;

/** Table lookup {@code weight[ids]} with a scatter-add backward into the rows that were read. */
final class Embedding {
    private Embedding() {}

    static Tensor lookup(int[] ids, int[] idsShape, Tensor weight) {
        int[] ws = weight.shapeRef();
        if (ws.length != 2) throw new IllegalArgumentException("embedding: weight must be [V, D], got " + Shape.str(ws));
        if (ids == null || idsShape == null) throw new IllegalArgumentException("embedding: ids and idsShape are required (weight " + Shape.str(ws) + ")");
        int n = Shape.numel(idsShape);
        if (n != ids.length) throw new IllegalArgumentException("embedding: " + ids.length + " ids do not fill idsShape " + Shape.str(idsShape));
        int v = ws[0], d = ws[1];
        for (int i = 0; i < n; i++) {
            if (ids[i] < 0 || ids[i] >= v) {
                throw new IllegalArgumentException("embedding: id " + ids[i] + " at position " + i + " is out of range [0, " + v + ") for weight " + Shape.str(ws));
            }
        }
        int[] idsCopy = ids.clone(); // backward must see the ids of this call even if the caller reuses its array
        float[] w = weight.data(), y = new float[n * d];
        for (int i = 0; i < n; i++) System.arraycopy(w, idsCopy[i] * d, y, i * d, d);
        int[] os = java.util.Arrays.copyOf(idsShape, idsShape.length + 1);
        os[idsShape.length] = d;
        return Tensor.result("embedding", y, os, out -> {
            float[] g = out.gradArray(), gw = weight.gradArray();
            for (int i = 0; i < n; i++) {
                int src = i * d, dst = idsCopy[i] * d;
                for (int j = 0; j < d; j++) gw[dst + j] += g[src + j];
            }
        }, weight);
    }
}
