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

    /** First output column whose tap {@code ox*stride + shift} is inside [0, width). */
    private static int lo(int shift, int stride, int outW) {
        return Math.min(outW, shift >= 0 ? 0 : (-shift + stride - 1) / stride);
    }

    /** One past the last output column whose tap is inside [0, width). */
    private static int hi(int shift, int stride, int width, int outW) {
        int last = width - 1 - shift;
        return last < 0 ? 0 : Math.min(outW, last / stride + 1);
    }

    /**
     * Loops run tap by tap over a whole output row (independent elements, no per-window dependency chain or
     * data-dependent branch); the arg-max needed by backward is found afterwards, only when a gradient is needed.
     */
    static Tensor maxPool2d(Tensor x, int kH, int kW, int sH, int sW, int pH, int pW) {
        int[] xs = nchw("maxPool2d", x);
        int planes = xs[0] * xs[1], h = xs[2], w = xs[3];
        int oh = outSize("maxPool2d", xs, h, kH, sH, pH, 'H'), ow = outSize("maxPool2d", xs, w, kW, sW, pW, 'W');
        float[] xd = x.data();
        float[] y = StepBuffers.uninitialized(planes * oh * ow); // every row filled below
        boolean needArg = GradMode.isEnabled() && x.requiresGrad();
        int[] arg = needArg ? new int[y.length] : null; // flat input index of each window's first maximum
        Parallel.forEach(planes, pl -> {
            int in = pl * h * w, out = pl * oh * ow;
            for (int oy = 0; oy < oh; oy++) {
                int row = out + oy * ow;
                java.util.Arrays.fill(y, row, row + ow, Float.NEGATIVE_INFINITY);
                for (int ky = 0; ky < kH; ky++) {
                    int iy = oy * sH - pH + ky;
                    if (iy < 0 || iy >= h) continue;
                    for (int kx = 0; kx < kW; kx++) {
                        int shift = kx - pW, src = in + iy * w + shift;
                        for (int ox = lo(shift, sW, ow), e = hi(shift, sW, w, ow); ox < e; ox++) y[row + ox] = Math.max(y[row + ox], xd[src + ox * sW]);
                    }
                }
                if (!needArg) continue;
                // Arg-max without branches: taps in reverse order, each bit-equal tap overwrites, so the first wins.
                java.util.Arrays.fill(arg, row, row + ow, -1);
                for (int ky = kH - 1; ky >= 0; ky--) {
                    int iy = oy * sH - pH + ky;
                    if (iy < 0 || iy >= h) continue;
                    for (int kx = kW - 1; kx >= 0; kx--) {
                        int shift = kx - pW, src = in + iy * w + shift;
                        for (int ox = lo(shift, sW, ow), e = hi(shift, sW, w, ow); ox < e; ox++) {
                            int idx = src + ox * sW;
                            int diff = Float.floatToRawIntBits(xd[idx]) ^ Float.floatToRawIntBits(y[row + ox]);
                            int keep = (diff | -diff) >> 31; // 0 when equal, −1 otherwise
                            arg[row + ox] = (arg[row + ox] & keep) | (idx & ~keep);
                        }
                    }
                }
                for (int ox = 0; ox < ow; ox++) if (arg[row + ox] < 0) arg[row + ox] = firstNaN(xd, in, w, h, oy * sH - pH, ox * sW - pW, kH, kW);
            }
        });
        return Tensor.result("maxPool2d", y, new int[] {xs[0], xs[1], oh, ow}, o -> {
            float[] g = o.gradArray(), gx = x.gradArray();
            for (int i = 0; i < g.length; i++) gx[arg[i]] += g[i];
        }, x);
    }

    /** A window whose maximum is a NaN with a different bit pattern: the first NaN tap. */
    private static int firstNaN(float[] x, int in, int w, int h, int y0, int x0, int kH, int kW) {
        for (int iy = Math.max(0, y0); iy < Math.min(h, y0 + kH); iy++)
            for (int ix = Math.max(0, x0); ix < Math.min(w, x0 + kW); ix++) if (Float.isNaN(x[in + iy * w + ix])) return in + iy * w + ix;
        throw new IllegalStateException("maxPool2d: no maximum found in window at (" + y0 + ", " + x0 + ")");
    }

    static Tensor avgPool2d(Tensor x, int kH, int kW, int sH, int sW, int pH, int pW, boolean countIncludePad) {
        int[] xs = nchw("avgPool2d", x);
        int planes = xs[0] * xs[1], h = xs[2], w = xs[3];
        int oh = outSize("avgPool2d", xs, h, kH, sH, pH, 'H'), ow = outSize("avgPool2d", xs, w, kW, sW, pW, 'W');
        // 1/divisor per output; in floor mode a window never leaves the padded input, so the padded divisor is kH*kW.
        float[] invCount = new float[oh * ow];
        for (int oy = 0; oy < oh; oy++) {
            int rows = Math.min(h, oy * sH - pH + kH) - Math.max(0, oy * sH - pH);
            for (int ox = 0; ox < ow; ox++) {
                int cols = Math.min(w, ox * sW - pW + kW) - Math.max(0, ox * sW - pW);
                invCount[oy * ow + ox] = 1f / (countIncludePad ? kH * kW : rows * cols);
            }
        }
        float[] xd = x.data();
        float[] y = new float[planes * oh * ow];
        Parallel.forEach(planes, pl -> {
            int in = pl * h * w, out = pl * oh * ow;
            for (int oy = 0; oy < oh; oy++) {
                int row = out + oy * ow;
                for (int ky = 0; ky < kH; ky++) {
                    int iy = oy * sH - pH + ky;
                    if (iy < 0 || iy >= h) continue;
                    for (int kx = 0; kx < kW; kx++) {
                        int shift = kx - pW, src = in + iy * w + shift;
                        for (int ox = lo(shift, sW, ow), e = hi(shift, sW, w, ow); ox < e; ox++) y[row + ox] += xd[src + ox * sW];
                    }
                }
                for (int ox = 0; ox < ow; ox++) y[row + ox] *= invCount[oy * ow + ox];
            }
        });
        return Tensor.result("avgPool2d", y, new int[] {xs[0], xs[1], oh, ow}, o -> {
            float[] g = o.gradArray(), gx = x.gradArray();
            Parallel.forEach(planes, pl -> {
                int in = pl * h * w, out = pl * oh * ow;
                for (int oy = 0; oy < oh; oy++) {
                    int row = out + oy * ow;
                    for (int ky = 0; ky < kH; ky++) {
                        int iy = oy * sH - pH + ky;
                        if (iy < 0 || iy >= h) continue;
                        for (int kx = 0; kx < kW; kx++) {
                            int shift = kx - pW, dst = in + iy * w + shift;
                            for (int ox = lo(shift, sW, ow), e = hi(shift, sW, w, ow); ox < e; ox++) {
                                gx[dst + ox * sW] += g[row + ox] * invCount[oy * ow + ox];
                            }
                        }
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
