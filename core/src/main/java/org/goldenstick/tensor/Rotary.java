package org.goldenstick.tensor;

import org.goldenstick.tensor.kernel.Parallel;

/**
 * Rotary position embedding in the Hugging Face "rotate_half" layout: element {@code i} pairs with
 * {@code i + D/2} (not with its neighbour), so {@code y = x·cos + rotate_half(x)·sin} with
 * {@code rotate_half(x) = [−x2, x1]}. The backward pass is the inverse rotation.
 */
final class Rotary {
    private Rotary() {}

    static Tensor apply(Tensor x, RopeTable table, int posOffset) {
        int[] s = x.shapeRef();
        if (table == null) throw new IllegalArgumentException("rotaryEmbedding: table is null");
        if (s.length != 4) throw new IllegalArgumentException("rotaryEmbedding: expected input [B, H, T, D], got " + Shape.str(s));
        int t = s[2], d = s[3];
        if (d != table.headDim()) throw new IllegalArgumentException("rotaryEmbedding: input " + Shape.str(s) + " has head dimension " + d + " but the table was built for " + table.headDim());
        if (posOffset < 0 || (long) posOffset + t > table.maxPositions()) {
            throw new IllegalArgumentException("rotaryEmbedding: positions " + posOffset + ".." + (posOffset + t - 1) + " of input " + Shape.str(s)
                    + " exceed the table's " + table.maxPositions() + " positions");
        }
        int rows = s[0] * s[1]; // each row is a [T, D] block
        float[] xd = x.data(), y = new float[xd.length];
        rotate(xd, y, rows, t, d, table, posOffset, 1f);
        return Tensor.result("rotaryEmbedding", y, x.shape(), out -> {
            float[] g = out.gradArray(), gx = x.gradArray();
            float[] tmp = new float[g.length];
            rotate(g, tmp, rows, t, d, table, posOffset, -1f); // rotation by −angle is the transpose
            for (int i = 0; i < tmp.length; i++) gx[i] += tmp[i];
        }, x);
    }

    /** dst = rotate(src) by +angle (sign 1) or −angle (sign −1). */
    private static void rotate(float[] src, float[] dst, int rows, int t, int d, RopeTable table, int posOffset, float sign) {
        int half = d / 2;
        float[] cos = table.cosArray(), sin = table.sinArray();
        java.util.function.IntConsumer body = r -> {
            for (int ti = 0; ti < t; ti++) {
                int base = (r * t + ti) * d;
                int tab = (posOffset + ti) * half;
                for (int i = 0; i < half; i++) {
                    float c = cos[tab + i], sn = sign * sin[tab + i];
                    float a = src[base + i], b = src[base + half + i];
                    dst[base + i] = a * c - b * sn;
                    dst[base + half + i] = b * c + a * sn;
                }
            }
        };
        if ((long) rows * t * d < (1 << 15)) {
            for (int r = 0; r < rows; r++) body.accept(r); // small (decode-sized) inputs: not worth a thread hand-off
        } else {
            Parallel.forEach(rows, body);
        }
    }
}
