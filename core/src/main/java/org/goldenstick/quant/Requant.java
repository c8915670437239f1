package org.goldenstick.quant;

/**
 * The integer epilogue shared by the deploy layers: add the int32 bias, then either requantize to the output
 * grid ({@code q = clamp(round(acc·s_x·s_w/s_out) + z_out)}, returned dequantized) or dequantize to float.
 */
final class Requant {
    private Requant() {}

    /**
     * @param acc int32 accumulators laid out {@code [outer, channels, inner]}
     * @param accScale per-channel {@code s_x·s_w}
     */
    static float[] finish(int[] acc, int outer, int channels, int inner, int[] bias, float[] accScale, QuantParams output) {
        float[] y = new float[acc.length];
        float so = output == null ? 0 : output.scale()[0];
        int zo = output == null ? 0 : output.zeroPoint()[0];
        int lo = output == null ? 0 : output.qmin(), hi = output == null ? 0 : output.qmax();
        for (int o = 0; o < outer; o++) {
            for (int c = 0; c < channels; c++) {
                int base = (o * channels + c) * inner;
                int b = bias == null ? 0 : bias[c];
                double s = accScale[c];
                for (int i = 0; i < inner; i++) {
                    double v = ((long) acc[base + i] + b) * s;
                    if (output == null) {
                        y[base + i] = (float) v;
                    } else {
                        double q = QuantMath.roundHalfAway(v / so) + zo;
                        q = Math.max(lo, Math.min(hi, q));
                        y[base + i] = (float) ((q - zo) * so);
                    }
                }
            }
        }
        return y;
    }
}
