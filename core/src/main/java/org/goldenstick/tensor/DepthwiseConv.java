package org.goldenstick.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.goldenstick.tensor.kernel.Kernels;
import org.goldenstick.tensor.kernel.Parallel;

/**
 * Depthwise convolution (one group per channel, one filter per group) computed directly, tap by tap, instead of as
 * im2col plus a 1-row GEMM per channel: each tap of a channel's k×k filter adds a scaled, shifted copy of the input
 * to the output. With stride 1 the plane is zero-padded and a tap is one axpy over the whole (wide) plane (Vector
 * API, with a scalar reference chosen by {@link Kernels#vector()}); other strides go row by row, reading every s-th
 * input element.
 *
 * <p>Backward: {@code dX} adds the same shifted copies of {@code dY} the other way, and {@code dW[tap]} is the dot
 * product of {@code dY} with the shifted input. Work is split by channel, and each channel's filter gradient is summed
 * over the images in order, so the result does not depend on the thread count.
 */
final class DepthwiseConv {
    private DepthwiseConv() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    /** Whether {@link Conv} should use this kernel: every group has one input and one output channel, no dilation. */
    static boolean applies(Conv.Geometry g) {
        return g.cg == 1 && g.og == 1 && g.s.groups() == g.c && g.s.dilationH() == 1 && g.s.dilationW() == 1;
    }

    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[3][0]);

    /** Per-thread buffer {@code i} of at least {@code size} floats (contents undefined). */
    private static float[] scratch(int i, int size) {
        float[][] b = SCRATCH.get();
        if (b[i].length < size) b[i] = new float[size];
        return b[i];
    }

    /**
     * Stride 1 works on "wide" planes: the input zero-padded to hp×wp and the output computed wp columns wide, so that
     * a tap is one axpy over oh·wp contiguous values (the (kW−1) extra columns per row are computed and dropped).
     */
    private static boolean wide(Conv.Geometry g) {
        return g.s.strideH() == 1 && g.s.strideW() == 1;
    }

    static void forward(Conv.Geometry g, float[] x, float[] w, float[] bias, float[] y) {
        Parallel.forEach(g.n * g.c, plane -> {
            int ch = plane % g.c;
            int xOff = plane * g.h * g.w, yOff = plane * g.p;
            float b = bias == null ? 0f : bias[ch];
            if (wide(g)) {
                float[] xp = scratch(0, g.padded), yw = scratch(1, g.pw);
                pad(g, x, xOff, xp);
                java.util.Arrays.fill(yw, 0, g.pw, b);
                for (int ki = 0; ki < g.kh; ki++)
                    for (int kj = 0; kj < g.kw; kj++) axpy(w[(ch * g.kh + ki) * g.kw + kj], xp, ki * g.wp + kj, 1, yw, 0, g.pw);
                for (int oy = 0; oy < g.oh; oy++) System.arraycopy(yw, oy * g.wp, y, yOff + oy * g.ow, g.ow);
                return;
            }
            int sh = g.s.strideH(), sw = g.s.strideW();
            java.util.Arrays.fill(y, yOff, yOff + g.p, b);
            for (int ki = 0; ki < g.kh; ki++) {
                int dh = ki - g.s.padTop();
                for (int kj = 0; kj < g.kw; kj++) {
                    int dw = kj - g.s.padLeft(), ox0 = firstColumn(dw, sw), ox1 = endColumn(g, dw, sw);
                    if (ox1 <= ox0) continue;
                    float wt = w[(ch * g.kh + ki) * g.kw + kj];
                    for (int oy = 0; oy < g.oh; oy++) {
                        int iy = oy * sh + dh;
                        if (iy >= 0 && iy < g.h) axpy(wt, x, xOff + iy * g.w + ox0 * sw + dw, sw, y, yOff + oy * g.ow + ox0, ox1 - ox0);
                    }
                }
            }
        });
    }

    static void backward(Conv.Geometry g, float[] x, float[] w, float[] gy, float[] gx, float[] gw) {
        Parallel.forEach(g.c, ch -> {
            for (int img = 0; img < g.n; img++) {
                int plane = img * g.c + ch;
                int xOff = plane * g.h * g.w, yOff = plane * g.p;
                if (wide(g)) backwardWide(g, x, w, gy, gx, gw, ch, xOff, yOff);
                else backwardRows(g, x, w, gy, gx, gw, ch, xOff, yOff);
            }
        });
    }

    private static void backwardWide(Conv.Geometry g, float[] x, float[] w, float[] gy, float[] gx, float[] gw, int ch, int xOff, int yOff) {
        float[] dyw = scratch(1, g.pw);
        for (int oy = 0; oy < g.oh; oy++) {
            System.arraycopy(gy, yOff + oy * g.ow, dyw, oy * g.wp, g.ow);
            java.util.Arrays.fill(dyw, oy * g.wp + g.ow, (oy + 1) * g.wp, 0f); // the dropped columns add nothing
        }
        if (gw != null) {
            float[] xp = scratch(0, g.padded);
            pad(g, x, xOff, xp);
            for (int ki = 0; ki < g.kh; ki++)
                for (int kj = 0; kj < g.kw; kj++) gw[(ch * g.kh + ki) * g.kw + kj] += (float) dot(dyw, 0, xp, ki * g.wp + kj, 1, g.pw);
        }
        if (gx != null) {
            float[] dxp = scratch(2, g.padded);
            java.util.Arrays.fill(dxp, 0, g.padded, 0f);
            for (int ki = 0; ki < g.kh; ki++)
                for (int kj = 0; kj < g.kw; kj++) axpy(w[(ch * g.kh + ki) * g.kw + kj], dyw, 0, 1, dxp, ki * g.wp + kj, g.pw);
            for (int iy = 0; iy < g.h; iy++) {
                int src = (iy + g.s.padTop()) * g.wp + g.s.padLeft(), dst = xOff + iy * g.w;
                for (int ix = 0; ix < g.w; ix++) gx[dst + ix] += dxp[src + ix];
            }
        }
    }

    private static void backwardRows(Conv.Geometry g, float[] x, float[] w, float[] gy, float[] gx, float[] gw, int ch, int xOff, int yOff) {
        int sh = g.s.strideH(), sw = g.s.strideW();
        for (int ki = 0; ki < g.kh; ki++) {
            int dh = ki - g.s.padTop();
            for (int kj = 0; kj < g.kw; kj++) {
                int dw = kj - g.s.padLeft(), ox0 = firstColumn(dw, sw), ox1 = endColumn(g, dw, sw);
                if (ox1 <= ox0) continue;
                int tap = (ch * g.kh + ki) * g.kw + kj;
                float wt = w[tap];
                double dwSum = 0;
                for (int oy = 0; oy < g.oh; oy++) {
                    int iy = oy * sh + dh;
                    if (iy < 0 || iy >= g.h) continue;
                    int yRow = yOff + oy * g.ow + ox0, xRow = xOff + iy * g.w + ox0 * sw + dw;
                    if (gx != null) scatter(wt, gy, yRow, gx, xRow, sw, ox1 - ox0);
                    if (gw != null) dwSum += dot(gy, yRow, x, xRow, sw, ox1 - ox0);
                }
                if (gw != null) gw[tap] += (float) dwSum;
            }
        }
    }

    /** One channel plane into the zero-padded buffer [hp, wp] (+ overhang). */
    private static void pad(Conv.Geometry g, float[] x, int xOff, float[] xp) {
        java.util.Arrays.fill(xp, 0, g.padded, 0f);
        for (int iy = 0; iy < g.h; iy++) System.arraycopy(x, xOff + iy * g.w, xp, (iy + g.s.padTop()) * g.wp + g.s.padLeft(), g.w);
    }

    /** The first output column whose tap at horizontal offset {@code dw} lands inside the input. */
    private static int firstColumn(int dw, int sw) {
        return dw >= 0 ? 0 : (-dw + sw - 1) / sw;
    }

    /** One past the last such column. */
    private static int endColumn(Conv.Geometry g, int dw, int sw) {
        int last = g.w - 1 - dw;
        return last < 0 ? 0 : Math.min(g.ow, last / sw + 1);
    }

    /** y[yOff + i] += a · x[xOff + i·stride], i < len. */
    static void axpy(float a, float[] x, int xOff, int stride, float[] y, int yOff, int len) {
        int i = 0;
        if (stride == 1 && Kernels.vector()) {
            FloatVector av = FloatVector.broadcast(S, a);
            for (int ub = S.loopBound(len); i < ub; i += S.length()) {
                FloatVector.fromArray(S, x, xOff + i).fma(av, FloatVector.fromArray(S, y, yOff + i)).intoArray(y, yOff + i);
            }
        }
        for (; i < len; i++) y[yOff + i] += a * x[xOff + i * stride];
    }

    /** gx[xOff + i·stride] += a · gy[yOff + i], i < len. */
    static void scatter(float a, float[] gy, int yOff, float[] gx, int xOff, int stride, int len) {
        if (stride == 1) {
            axpy(a, gy, yOff, 1, gx, xOff, len);
            return;
        }
        for (int i = 0; i < len; i++) gx[xOff + i * stride] += a * gy[yOff + i];
    }

    /** Σ gy[yOff + i] · x[xOff + i·stride], i < len. */
    static double dot(float[] gy, int yOff, float[] x, int xOff, int stride, int len) {
        int i = 0;
        double s = 0;
        if (stride == 1 && Kernels.vector()) {
            FloatVector acc = FloatVector.zero(S);
            for (int ub = S.loopBound(len); i < ub; i += S.length()) {
                acc = FloatVector.fromArray(S, gy, yOff + i).fma(FloatVector.fromArray(S, x, xOff + i), acc);
            }
            s = org.goldenstick.tensor.kernel.Lanes.sum(acc);
        }
        for (; i < len; i++) s += gy[yOff + i] * x[xOff + i * stride];
        return s;
    }
}
