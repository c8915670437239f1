package org.goldenstick.formats.onnx;

/**
 * ONNX's {@code auto_pad = SAME_UPPER | SAME_LOWER} rule for convolutions and pooling: pad so that the output has
 * {@code ceil(in / stride)} positions, the odd cell at the end (UPPER) or at the start (LOWER).
 *
 * <pre>{@code
 * int[] p = OnnxAutoPad.same(true, new int[] {28, 28}, new int[] {3, 3}, new int[] {2, 2}, new int[] {1, 1});  // {0, 0, 1, 1}
 * }</pre>
 */
public final class OnnxAutoPad {
    private OnnxAutoPad() {}

    /**
     * The pads {@code [begin_0, begin_1, …, end_0, end_1, …]} (ONNX order) for the spatial sizes {@code in}, kernel
     * {@code k}, strides {@code s} and dilations {@code d}; {@code upper}: SAME_UPPER, else SAME_LOWER.
     */
    public static int[] same(boolean upper, int[] in, int[] k, int[] s, int[] d) {
        int r = in.length;
        int[] p = new int[2 * r];
        for (int a = 0; a < r; a++) {
            int out = (in[a] + s[a] - 1) / s[a];
            int total = Math.max(0, (out - 1) * s[a] + (k[a] - 1) * d[a] + 1 - in[a]);
            int small = total / 2, big = total - small;
            p[a] = upper ? small : big;
            p[a + r] = upper ? big : small;
        }
        return p;
    }
}
