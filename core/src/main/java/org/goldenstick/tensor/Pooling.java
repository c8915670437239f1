package org.goldenstick.tensor;

import org.goldenstick.tensor.kernel.Parallel;

/** Max, average and adaptive-average 2-D pooling over [N, C, H, W] (floor mode), parallel over planes. */
final class Pooling {
    private Pooling() {}

    private static int[] nchw(String op, Tensor x) {
        int[] s = x.shapeRef();
        if (s.length != 4) throw new IllegalArgumentException(op + ": expected input [N, C, H, W], got " + Shape.str(s));
        return s;
    }

    private static int outSize(String op, int[] xs, int in, int k, int stride, int pad, char axis) {
        if (k < 1 || stride < 1 || pad < 0) {
            throw new IllegalArgumentException(op + ": kernel, stride must be >= 1 and padding >= 0, got kernel " + k + ", stride " + stride + ", padding " + pad + " (" + axis + ")");
        }
        if (pad > k / 2) throw new IllegalArgumentException(op + ": padding " + pad + " must be at most half the kernel " + k + " (" + axis + ")");
        int span = in + 2 * pad - k;
        if (span < 0) throw new IllegalArgumentException(op + ": kernel " + k + " larger than padded input " + Shape.str(xs) + " with padding " + pad + " (" + axis + ")");
        return span / stride + 1;
    }

    static Tensor maxPool2d(Tensor x, int kH, int kW, int sH, int sW, int pH, int pW) {
        int[] xs = nchw("maxPool2d", x);
        int planes = xs[0] * xs[1], h = xs[2], w = xs[3];
        int oh = outSize("maxPool2d", xs, h, kH, sH, pH, 'H'), ow = outSize("maxPool2d", xs, w, kW, sW, pW, 'W');
        float[] xd = x.data();
        float[] y = new float[planes * oh * ow];
        int[] arg = new int[y.length]; // flat input index of each window's maximum
        Parallel.forEach(planes, pl -> {
            int in = pl * h * w, out = pl * oh * ow;
            for (int oy = 0; oy < oh; oy++) {
                int h0 = Math.max(0, oy * sH - pH), h1 = Math.min(h, oy * sH - pH + kH);
                for (int ox = 0; ox < ow; ox++) {
                    int w0 = Math.max(0, ox * sW - pW), w1 = Math.min(w, ox * sW - pW + kW);
                    float best = Float.NEGATIVE_INFINITY;
                    int bi = in + h0 * w + w0;
                    for (int iy = h0; iy < h1; iy++) {
                        int rowBase = in + iy * w;
                        for (int ix = w0; ix < w1; ix++) {
                            float v = xd[rowBase + ix];
                            if (v > best || Float.isNaN(v)) {
                                best = v;
                                bi = rowBase + ix;
                            }
                        }
                    }
                    y[out + oy * ow + ox] = best;
                    arg[out + oy * ow + ox] = bi;
                }
            }
        });
        return Tensor.result("maxPool2d", y, new int[] {xs[0], xs[1], oh, ow}, o -> {
            float[] g = o.gradArray(), gx = x.gradArray();
            for (int i = 0; i < g.length; i++) gx[arg[i]] += g[i];
        }, x);
    }

    static Tensor avgPool2d(Tensor x, int kH, int kW, int sH, int sW, int pH, int pW, boolean countIncludePad) {
        int[] xs = nchw("avgPool2d", x);
        int planes = xs[0] * xs[1], h = xs[2], w = xs[3];
        int oh = outSize("avgPool2d", xs, h, kH, sH, pH, 'H'), ow = outSize("avgPool2d", xs, w, kW, sW, pW, 'W');
        float[] xd = x.data();
        float[] y = new float[planes * oh * ow];
        // In floor mode a window never leaves the padded input, so the padded divisor is always kH*kW.
        Parallel.forEach(planes, pl -> {
            int in = pl * h * w, out = pl * oh * ow;
            for (int oy = 0; oy < oh; oy++) {
                int h0 = Math.max(0, oy * sH - pH), h1 = Math.min(h, oy * sH - pH + kH);
                for (int ox = 0; ox < ow; ox++) {
                    int w0 = Math.max(0, ox * sW - pW), w1 = Math.min(w, ox * sW - pW + kW);
                    float s = 0;
                    for (int iy = h0; iy < h1; iy++) for (int ix = w0; ix < w1; ix++) s += xd[in + iy * w + ix];
                    int count = countIncludePad ? kH * kW : (h1 - h0) * (w1 - w0);
                    y[out + oy * ow + ox] = s / count;
                }
            }
        });
        return Tensor.result("avgPool2d", y, new int[] {xs[0], xs[1], oh, ow}, o -> {
            float[] g = o.gradArray(), gx = x.gradArray();
            Parallel.forEach(planes, pl -> {
                int in = pl * h * w, out = pl * oh * ow;
                for (int oy = 0; oy < oh; oy++) {
                    int h0 = Math.max(0, oy * sH - pH), h1 = Math.min(h, oy * sH - pH + kH);
                    for (int ox = 0; ox < ow; ox++) {
                        int w0 = Math.max(0, ox * sW - pW), w1 = Math.min(w, ox * sW - pW + kW);
                        int count = countIncludePad ? kH * kW : (h1 - h0) * (w1 - w0);
                        float gv = g[out + oy * ow + ox] / count;
                        for (int iy = h0; iy < h1; iy++) for (int ix = w0; ix < w1; ix++) gx[in + iy * w + ix] += gv;
                    }
                }
            });
        }, x);
    }

    /** PyTorch's bins: output i averages input rows [floor(i*H/outH), ceil((i+1)*H/outH)). */
    static Tensor adaptiveAvgPool2d(Tensor x, int outH, int outW) {
        int[] xs = nchw("adaptiveAvgPool2d", x);
        if (outH < 1 || outW < 1) throw new IllegalArgumentException("adaptiveAvgPool2d: output size must be >= 1, got " + outH + "x" + outW + " for input " + Shape.str(xs));
        int planes = xs[0] * xs[1], h = xs[2], w = xs[3];
        if (h < 1 || w < 1) throw new IllegalArgumentException("adaptiveAvgPool2d: empty input " + Shape.str(xs));
        int[] hs = new int[outH], he = new int[outH], ws = new int[outW], we = new int[outW];
        for (int i = 0; i < outH; i++) {
            hs[i] = (int) ((long) i * h / outH);
            he[i] = (int) (((long) (i + 1) * h + outH - 1) / outH);
        }
        for (int j = 0; j < outW; j++) {
            ws[j] = (int) ((long) j * w / outW);
            we[j] = (int) (((long) (j + 1) * w + outW - 1) / outW);
        }
        float[] xd = x.data();
        float[] y = new float[planes * outH * outW];
        Parallel.forEach(planes, pl -> {
            int in = pl * h * w, out = pl * outH * outW;
            for (int i = 0; i < outH; i++)
                for (int j = 0; j < outW; j++) {
                    float s = 0;
                    for (int iy = hs[i]; iy < he[i]; iy++) for (int ix = ws[j]; ix < we[j]; ix++) s += xd[in + iy * w + ix];
                    y[out + i * outW + j] = s / ((he[i] - hs[i]) * (we[j] - ws[j]));
                }
        });
        return Tensor.result("adaptiveAvgPool2d", y, new int[] {xs[0], xs[1], outH, outW}, o -> {
            float[] g = o.gradArray(), gx = x.gradArray();
            Parallel.forEach(planes, pl -> {
                int in = pl * h * w, out = pl * outH * outW;
                for (int i = 0; i < outH; i++)
                    for (int j = 0; j < outW; j++) {
                        float gv = g[out + i * outW + j] / ((he[i] - hs[i]) * (we[j] - ws[j]));
                        for (int iy = hs[i]; iy < he[i]; iy++) for (int ix = ws[j]; ix < we[j]; ix++) gx[in + iy * w + ix] += gv;
                    }
            });
        }, x);
    }
}
