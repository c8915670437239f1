package org.goldenstick.tensor;

import org.goldenstick.tensor.kernel.Parallel;
import org.goldenstick.tensor.kernel.Sgemm;
import org.goldenstick.tensor.kernel.ShiftedGemm;

/**
 * 2-D convolution: implicit GEMM on the zero-padded image (split into its stride phases when strided), im2col +
 * SGEMM where that layout would waste too many columns, parallel over the batch.
 *
 * <p>The "wide" layout (see {@link Geometry#wide}): the rows of the column matrix are shifted windows of the
 * zero-padded image — for stride s of its phase planes, every s-th row and column ({@link Geometry#hq}) — so
 * {@link ShiftedGemm} multiplies the weights (packed once per call) by them in place: nothing is unfolded. Backward on that layout:
 * {@code dW += dY·windowsᵀ} from the same windows, and for stride 1 {@code dX} as a forward convolution of the
 * zero-padded {@code dY} with the transposed, spatially flipped weights (no col2im); strided {@code dX} goes through
 * col2im as below. Other shapes:
 * {@code dW_g += dY_g · colᵀ} (the columns are rebuilt rather than kept, trading a cheap copy for memory),
 * {@code dcol = W_gᵀ · dY_g} scattered back by col2im, and {@code db = Σ dY}. Weight gradients are summed into one
 * partial buffer per batch chunk and reduced at the end, so workers never share an output. A 1×1 kernel with
 * stride 1 and no padding reads the input directly (plain GEMM, no im2col copy). Depthwise convolutions (one
 * channel per group) take {@link DepthwiseConv}'s direct kernel instead. Scratch buffers are per thread and reused
 * across calls.
 */
final class Conv {
    private Conv() {}

    /** Per-thread scratch buffers, grown on demand and reused across calls ({@link #scratch}). */
    private static final ThreadLocal<float[]> COL = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> DCOL = ThreadLocal.withInitial(() -> new float[0]);

    /** This thread's buffer in {@code tl}, grown to at least {@code size} floats (contents undefined). */
    static float[] scratch(ThreadLocal<float[]> tl, int size) {
        float[] b = tl.get();
        if (b.length < size) {
            b = new float[size];
            tl.set(b);
        }
        return b;
    }

    static Tensor conv2d(Tensor x, Tensor w, Tensor bias, Conv2dSpec spec) {
        if (spec == null) throw new IllegalArgumentException("conv2d: spec is null");
        int[] xs = x.shapeRef(), ws = w.shapeRef();
        if (xs.length != 4 || ws.length != 4) {
            throw new IllegalArgumentException("conv2d: expected input [N, C, H, W] and weight [O, C/groups, kH, kW], got input "
                    + Shape.str(xs) + " and weight " + Shape.str(ws));
        }
        int n = xs[0], c = xs[1], h = xs[2], wd = xs[3];
        int o = ws[0], cg = ws[1], kh = ws[2], kw = ws[3];
        int groups = spec.groups();
        if (c % groups != 0 || o % groups != 0 || cg * groups != c) {
            throw new IllegalArgumentException("conv2d: input " + Shape.str(xs) + " and weight " + Shape.str(ws) + " do not match with groups="
                    + groups + " (need C = weight[1]*groups and O divisible by groups)");
        }
        if (kh < 1 || kw < 1) throw new IllegalArgumentException("conv2d: empty kernel in weight " + Shape.str(ws) + " (input " + Shape.str(xs) + ")");
        int spanH = h + spec.padTop() + spec.padBottom() - spec.dilationH() * (kh - 1) - 1;
        int spanW = wd + spec.padLeft() + spec.padRight() - spec.dilationW() * (kw - 1) - 1;
        if (spanH < 0 || spanW < 0) {
            throw new IllegalArgumentException("conv2d: kernel " + Shape.str(ws) + " (dilated) is larger than the padded input " + Shape.str(xs) + " with " + spec);
        }
        if (bias != null && (bias.rank() != 1 || bias.numel() != o)) {
            throw new IllegalArgumentException("conv2d: bias " + Shape.str(bias.shapeRef()) + " does not match weight " + Shape.str(ws) + " (expected [" + o + "])");
        }
        int oh = spanH / spec.strideH() + 1, ow = spanW / spec.strideW() + 1;
        Geometry g = new Geometry(n, c, h, wd, o, cg, kh, kw, oh, ow, spec);
        float[] xd = x.data(), wdat = w.data(), bd = bias == null ? null : bias.data();
        float[] y = StepBuffers.uninitialized(n * o * g.p); // every path below writes each element (GEMMs without accumulate, whole rows copied)
        if (depthwise && DepthwiseConv.applies(g)) {
            DepthwiseConv.forward(g, xd, wdat, bd, y);
        } else {
            float[] packed = g.wide ? packGroups(PACKED, wdat, g.og, g.k) : null; // once per call, read by every image
            Parallel.forEach(n, img -> forwardImage(g, img, xd, wdat, packed, bd, y));
        }
        return Tensor.result("conv2d", y, new int[] {n, o, oh, ow}, out -> backward(g, out.gradArray(), x, w, bias), x, w, bias);
    }

    /** Shapes and derived sizes of one conv call. */
    static final class Geometry {
        final int n, c, h, w, o, cg, kh, kw, oh, ow, p, k, og;
        final Conv2dSpec s;
        /** 1×1, stride 1, no padding: the input already is the column matrix. */
        final boolean direct;
        /**
         * Little horizontal overhang: work on the zero-padded image [Cg, hp, wp] (strided: its phase planes
         * [Cg, phases, hq, wq]) in "wide" rows of wq columns, so that each im2col row is a contiguous window; the
         * ⌊(kW−1)·dW / sW⌋ extra columns per output row are computed and dropped.
         */
        final boolean wide;
        final int hp, wp, pw, padded;
        /**
         * The wide layout's planes: with stride s the padded image is split into its s_H·s_W phases (every s-th row and
         * column from an offset), each [hq, wq] = [⌈hp/s_H⌉, ⌈wp/s_W⌉], of which only the {@code phases} that some tap
         * reads are kept (slot {@code phaseSlot[a·s_W + b]}, −1 when unused). Output (oy, ox) of tap (i, j) then reads
         * phase (i·dH mod s_H, j·dW mod s_W) at row oy + ⌊i·dH/s_H⌋, column ox + ⌊j·dW/s_W⌋: a strided convolution is a
         * sum of stride-1 windows, and the implicit GEMM handles it like stride 1. Stride 1: one phase, the padded image.
         */
        final int hq, wq, phases;
        final int[] phaseSlot;
        /** Start of each column-matrix row (c, i, j) in the phase planes: {@code c·hp·wp + i·dH·wp + j·dW} for stride 1. */
        final int[] taps;
        /**
         * Wide layout and padding at most the dilated kernel extent: dX is the convolution of dY, zero-padded by
         * {@code dilation·(k−1) − pad} per side into [O_g, hp2, wp2], with the flipped transposed weights.
         */
        final boolean flipGrad;
        final int hp2, wp2, pw2, padTop2, padLeft2, padded2;
        /** Start of each row (o, i, j) of the flipped convolution's column matrix in the padded dY. */
        final int[] taps2;
        /**
         * Wide layout with at least a vector of output channels per group: the weight gradient is formed transposed,
         * [k, O_g] per group, with the channels along the vector lanes (no lane reductions per image; 16 channels take
         * {@link ShiftedGemm}'s one-vector kernel). Fewer channels would leave most lanes idle: dot products instead.
         */
        final boolean transposedGrad;
        /** With {@link #transposedGrad}: {@code oc·p} for each output channel of a group (one pixel across the channels of dY). */
        final int[] channelOffsets;

        Geometry(int n, int c, int h, int w, int o, int cg, int kh, int kw, int oh, int ow, Conv2dSpec s) {
            this.n = n;
            this.c = c;
            this.h = h;
            this.w = w;
            this.o = o;
            this.cg = cg;
            this.kh = kh;
            this.kw = kw;
            this.oh = oh;
            this.ow = ow;
            this.s = s;
            this.p = oh * ow;
            this.k = cg * kh * kw;
            this.og = o / s.groups();
            this.direct = kh == 1 && kw == 1 && s.strideH() == 1 && s.strideW() == 1
                    && s.padTop() == 0 && s.padLeft() == 0 && s.padBottom() == 0 && s.padRight() == 0;
            this.hp = h + s.padTop() + s.padBottom();
            this.wp = w + s.padLeft() + s.padRight();
            int sh = s.strideH(), sw = s.strideW();
            this.hq = (hp + sh - 1) / sh;
            this.wq = (wp + sw - 1) / sw;
            this.pw = oh * wq;
            int extentH = (kh - 1) * s.dilationH(), overhang = (kw - 1) * s.dilationW();
            this.phaseSlot = new int[sh * sw];
            java.util.Arrays.fill(phaseSlot, -1);
            int used = 0;
            for (int ki = 0; ki < kh; ki++)
                for (int kj = 0; kj < kw; kj++) {
                    int ph = (ki * s.dilationH() % sh) * sw + kj * s.dilationW() % sw;
                    if (phaseSlot[ph] < 0) phaseSlot[ph] = used++;
                }
            this.phases = used;
            int overhangQ = overhang / sw; // extra columns per wide row
            boolean worthIt = switch (wideMode) {
                case OFF -> false;
                case AUTO -> overhangQ * 3 <= wq; // measured: still a gain at 7×7 with 3×3 kernels (2 of 9 columns wasted)
                case ALWAYS -> true;
            };
            this.wide = !direct && worthIt;
            // The last rows of the last plane read past it by the overhang, and whole panels past pw.
            this.padded = cg * phases * hq * wq + overhangQ + ShiftedGemm.readWidth(pw) - pw;
            this.taps = wide ? phaseTaps() : null;
            this.flipGrad = wide && sh == 1 && sw == 1 && s.padTop() <= extentH && s.padBottom() <= extentH && s.padLeft() <= overhang && s.padRight() <= overhang;
            this.hp2 = h + extentH;
            this.wp2 = w + overhang;
            this.pw2 = h * wp2;
            this.padTop2 = extentH - s.padTop();
            this.padLeft2 = overhang - s.padLeft();
            this.padded2 = og * hp2 * wp2 + overhang + ShiftedGemm.readWidth(pw2) - pw2;
            this.transposedGrad = wide && og >= ShiftedGemm.narrowPanelWidth();
            this.channelOffsets = transposedGrad ? java.util.stream.IntStream.range(0, og).map(oc -> oc * p).toArray() : null;
            this.taps2 = flipGrad ? taps(og, kh, kw, hp2 * wp2, s.dilationH() * wp2, s.dilationW()) : null;
        }

        /** Row (c, i, j) of the column matrix: the start of its window in the phase planes (see {@link #hq}). */
        private int[] phaseTaps() {
            int sh = s.strideH(), sw = s.strideW(), plane = hq * wq;
            int[] t = new int[cg * kh * kw];
            for (int ci = 0, r = 0; ci < cg; ci++)
                for (int ki = 0; ki < kh; ki++)
                    for (int kj = 0; kj < kw; kj++) {
                        int dy = ki * s.dilationH(), dx = kj * s.dilationW();
                        int slot = phaseSlot[(dy % sh) * sw + dx % sw];
                        t[r++] = (ci * phases + slot) * plane + dy / sh * wq + dx / sw;
                    }
            return t;
        }

        private static int[] taps(int channels, int kh, int kw, int plane, int rowStep, int colStep) {
            int[] t = new int[channels * kh * kw];
            for (int ci = 0, r = 0; ci < channels; ci++)
                for (int ki = 0; ki < kh; ki++)
                    for (int kj = 0; kj < kw; kj++) t[r++] = ci * plane + ki * rowStep + kj * colStep;
            return t;
        }

        int xImage() {
            return c * h * w;
        }
    }

    enum WideMode { OFF, AUTO, ALWAYS }

    /** Whether depthwise convolutions use {@link DepthwiseConv} (true) or the im2col path; tests compare the two. */
    static volatile boolean depthwise = true;

    /** When to use the wide path; tests force each choice to compare them. */
    static volatile WideMode wideMode = WideMode.AUTO;

    private static final ThreadLocal<float[]> PADDED = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> WIDE = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> GRAD_PADDED = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> GRAD_WIDE = ThreadLocal.withInitial(() -> new float[0]);
    /** On the thread running a backward: the flipped weights and the per-chunk weight-gradient partials. */
    private static final ThreadLocal<float[]> FLIPPED = ThreadLocal.withInitial(() -> new float[0]);
    /** On the thread running a forward or backward: the weights (flipped for dX) packed for {@link ShiftedGemm#multiplyPacked}. */
    private static final ThreadLocal<float[]> PACKED = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> PARTIALS = ThreadLocal.withInitial(() -> new float[0]);

    /** The calling thread's weights packed for {@link ShiftedGemm#multiplyPacked}, one m×k matrix per group of {@code a}. */
    private static float[] packGroups(ThreadLocal<float[]> tl, float[] a, int m, int k) {
        int groups = a.length / (m * k), size = ShiftedGemm.packedSize(m, k);
        float[] packed = scratch(tl, groups * size);
        for (int grp = 0; grp < groups; grp++) ShiftedGemm.pack(m, k, a, grp * m * k, k, packed, grp * size);
        return packed;
    }

    private static void forwardImage(Geometry g, int img, float[] x, float[] w, float[] packed, float[] bias, float[] y) {
        float[] col = g.direct || g.wide ? null : scratch(COL, g.k * g.p);
        float[] xp = g.wide ? scratch(PADDED, g.padded) : null;
        float[] yw = g.wide ? scratch(WIDE, g.og * g.pw) : null;
        for (int grp = 0; grp < g.s.groups(); grp++) {
            int xOff = img * g.xImage() + grp * g.cg * g.h * g.w;
            int yOff = (img * g.o + grp * g.og) * g.p;
            int wOff = grp * g.og * g.k;
            if (g.direct) {
                Sgemm.gemm(false, false, g.og, g.p, g.k, w, wOff, g.k, x, xOff, g.p, y, yOff, g.p, false);
            } else if (g.wide) {
                pad(g, x, xOff, xp);
                ShiftedGemm.multiplyPacked(g.og, g.pw, g.k, packed, grp * ShiftedGemm.packedSize(g.og, g.k), xp, 0, g.taps, yw, 0, g.pw, false);
                VectorKernels.copyRows(yw, 0, g.wq, y, yOff, g.ow, g.og * g.oh, g.ow, false); // drops each wide row's extra columns
            } else {
                im2col(g, x, xOff, col);
                Sgemm.gemm(false, false, g.og, g.p, g.k, w, wOff, g.k, col, 0, g.p, y, yOff, g.p, false);
            }
        }
        if (bias != null) {
            for (int oc = 0; oc < g.o; oc++) {
                float b = bias[oc];
                int base = (img * g.o + oc) * g.p;
                for (int i = 0; i < g.p; i++) y[base + i] += b;
            }
        }
    }

    /**
     * Batch chunks of the weight-gradient reduction: enough tasks to balance a few cores, few enough that the
     * per-chunk partial gradients stay cheap to clear and sum.
     */
    static final int WEIGHT_GRAD_CHUNKS = 16;

    private static void backward(Geometry g, float[] gy, Tensor x, Tensor w, Tensor bias) {
        float[] xd = x.data(), wd = w.data();
        boolean needX = x.requiresGrad(), needW = w.requiresGrad();
        // No gradient on x yet: each image's gradient is written, not added (no zero fill, no second read).
        boolean fresh = needX && x.claimFreshGrad();
        float[] gx = needX ? x.gradArray() : null;
        if (depthwise && DepthwiseConv.applies(g)) {
            if (fresh) java.util.Arrays.fill(gx, 0f); // the depthwise kernel adds
            if (needX || needW) DepthwiseConv.backward(g, xd, wd, gy, gx, needW ? w.gradArray() : null);
            biasGrad(g, gy, bias);
            return;
        }
        // A fixed partition of the batch (not one per thread): the weight gradient is summed chunk by chunk in
        // chunk order, so the result is the same at any thread count.
        int chunks = Math.min(g.n, WEIGHT_GRAD_CHUNKS);
        int wSize = wd.length;
        float[] parts = needW ? scratch(PARTIALS, chunks * wSize) : null;
        if (needW) java.util.Arrays.fill(parts, 0, chunks * wSize, 0f);
        float[] flipped = needX && g.flipGrad ? packGroups(PACKED, flipWeights(g, wd), g.cg, g.og * g.kh * g.kw) : null;
        if (needX || needW) {
            Parallel.forEach(chunks, ch -> {
                int i0 = (int) ((long) ch * g.n / chunks), i1 = (int) ((long) (ch + 1) * g.n / chunks);
                for (int img = i0; img < i1; img++) {
                    for (int grp = 0; grp < g.s.groups(); grp++) {
                        int xOff = img * g.xImage() + grp * g.cg * g.h * g.w;
                        int yOff = (img * g.o + grp * g.og) * g.p;
                        int wOff = grp * g.og * g.k;
                        int gwOff = ch * wSize + wOff;
                        if (g.wide) backwardWide(g, xd, wd, flipped, grp * ShiftedGemm.packedSize(g.cg, g.og * g.kh * g.kw), gy, gx, fresh, parts, xOff, yOff, wOff, gwOff);
                        else backwardPlain(g, xd, wd, gy, gx, fresh, parts, xOff, yOff, wOff, gwOff);
                    }
                }
            });
        }
        if (needW) {
            float[] gw = w.gradArray();
            if (g.transposedGrad) {
                for (int ch = 1; ch < chunks; ch++) VectorKernels.addInto(parts, ch * wSize, parts, 0, wSize);
                for (int grp = 0; grp < g.s.groups(); grp++) {
                    int base = grp * g.og * g.k;
                    for (int q = 0; q < g.k; q++)
                        for (int oc = 0; oc < g.og; oc++) gw[base + oc * g.k + q] += parts[base + q * g.og + oc];
                }
            } else {
                for (int ch = 0; ch < chunks; ch++) VectorKernels.addInto(parts, ch * wSize, gw, 0, wSize);
            }
        }
        biasGrad(g, gy, bias);
    }

    /** Per group, W'[ci][(o·kH + i)·kW + j] = W[o][ci][kH−1−i][kW−1−j]: the weights of dX as a convolution of dY. */
    private static float[] flipWeights(Geometry g, float[] w) {
        float[] f = scratch(FLIPPED, w.length);
        int taps = g.kh * g.kw, rowLen = g.og * taps;
        for (int grp = 0; grp < g.s.groups(); grp++) {
            int base = grp * g.og * g.k;
            for (int oc = 0; oc < g.og; oc++)
                for (int ci = 0; ci < g.cg; ci++)
                    for (int t = 0; t < taps; t++) f[base + ci * rowLen + oc * taps + t] = w[base + (oc * g.cg + ci) * taps + taps - 1 - t];
        }
        return f;
    }

    private static void biasGrad(Geometry g, float[] gy, Tensor bias) {
        if (bias != null && bias.requiresGrad()) {
            float[] gb = bias.gradArray();
            for (int oc = 0; oc < g.o; oc++) {
                double sum = 0;
                for (int img = 0; img < g.n; img++) sum += VectorKernels.sum(gy, (img * g.o + oc) * g.p, g.p);
                gb[oc] += (float) sum;
            }
        }
    }

    /**
     * One image and group: dW += dY·colᵀ (into gw at gwOff), dX += col2im(Wᵀ·dY) (gx or gw null when not needed; with
     * {@code fresh}, dX = instead of +=).
     */
    private static void backwardPlain(Geometry g, float[] xd, float[] wd, float[] gy, float[] gx, boolean fresh, float[] gw,
                                      int xOff, int yOff, int wOff, int gwOff) {
        if (gw != null) {
            if (g.direct) {
                Sgemm.gemm(false, true, g.og, g.k, g.p, gy, yOff, g.p, xd, xOff, g.p, gw, gwOff, g.k, true);
            } else {
                float[] col = scratch(COL, g.k * g.p);
                im2col(g, xd, xOff, col);
                Sgemm.gemm(false, true, g.og, g.k, g.p, gy, yOff, g.p, col, 0, g.p, gw, gwOff, g.k, true);
            }
        }
        if (gx != null) {
            if (g.direct) {
                Sgemm.gemm(true, false, g.k, g.p, g.og, wd, wOff, g.k, gy, yOff, g.p, gx, xOff, g.p, !fresh);
            } else {
                if (fresh) java.util.Arrays.fill(gx, xOff, xOff + g.cg * g.h * g.w, 0f); // col2im adds
                float[] dcol = scratch(DCOL, g.k * g.p);
                Sgemm.gemm(true, false, g.k, g.p, g.og, wd, wOff, g.k, gy, yOff, g.p, dcol, 0, g.p, false);
                col2im(g, dcol, gx, xOff);
            }
        }
    }

    /**
     * The wide-layout version of {@link #backwardPlain}: dW from dY (widened with zero columns, so the dropped
     * columns add nothing) against the padded image's windows; dX as the flipped convolution of the padded dY,
     * or through col2im when the padding exceeds the kernel extent.
     */
    private static void backwardWide(Geometry g, float[] xd, float[] wd, float[] flipped, int flippedOff, float[] gy, float[] gx, boolean fresh, float[] gw,
                                     int xOff, int yOff, int wOff, int gwOff) {
        if (gw != null) {
            float[] xp = scratch(PADDED, g.padded);
            pad(g, xd, xOff, xp);
            if (g.transposedGrad) {
                // dWᵀ[p, o] = Σ_j window_p[j] · dYᵀ[j, o]: output channels along the vector lanes, no lane reductions.
                float[] dyt = scratch(WIDE, g.pw * g.og + ShiftedGemm.readWidth(g.og));
                for (int oy = 0; oy < g.oh; oy++) {
                    for (int ox = 0; ox < g.ow; ox++) {
                        int src = yOff + oy * g.ow + ox, dst = (oy * g.wq + ox) * g.og;
                        VectorKernels.gather(gy, src, g.channelOffsets, g.og, dyt, dst);
                    }
                    java.util.Arrays.fill(dyt, (oy * g.wq + g.ow) * g.og, (oy + 1) * g.wq * g.og, 0f);
                }
                ShiftedGemm.multiplyWindowsByRows(g.k, g.og, g.pw, xp, 0, g.taps, dyt, 0, g.og, gw, gwOff, g.og, true);
            } else {
                float[] dyw = scratch(WIDE, g.og * g.pw);
                for (int oc = 0; oc < g.og; oc++)
                    for (int oy = 0; oy < g.oh; oy++) {
                        int dst = oc * g.pw + oy * g.wq;
                        System.arraycopy(gy, yOff + oc * g.p + oy * g.ow, dyw, dst, g.ow);
                        java.util.Arrays.fill(dyw, dst + g.ow, dst + g.wq, 0f);
                    }
                ShiftedGemm.multiplyTransposed(g.og, g.k, g.pw, dyw, 0, g.pw, xp, 0, g.taps, gw, gwOff, g.k, true);
            }
        }
        if (gx == null) return;
        if (!g.flipGrad) {
            backwardPlain(g, xd, wd, gy, gx, fresh, null, xOff, yOff, wOff, 0);
            return;
        }
        float[] dyp = scratch(GRAD_PADDED, g.padded2);
        padPlanes(gy, yOff, g.og, g.oh, g.ow, g.padTop2, g.padLeft2, g.hp2, g.wp2, dyp, g.padded2);
        float[] gxw = scratch(GRAD_WIDE, g.cg * g.pw2);
        int kf = g.og * g.kh * g.kw;
        ShiftedGemm.multiplyPacked(g.cg, g.pw2, kf, flipped, flippedOff, dyp, 0, g.taps2, gxw, 0, g.pw2, false);
        VectorKernels.copyRows(gxw, 0, g.wp2, gx, xOff, g.w, g.cg * g.h, g.w, !fresh);
    }

    /**
     * Copies one group of one image into the wide layout's planes: for stride 1 the zero-padded image [Cg, hp, wp]
     * (+ slack, only the borders cleared), otherwise its used phases [Cg, phases, hq, wq] (see {@link Geometry#hq}).
     */
    private static void pad(Geometry g, float[] x, int xOff, float[] xp) {
        int sh = g.s.strideH(), sw = g.s.strideW();
        if (sh == 1 && sw == 1) {
            padPlanes(x, xOff, g.cg, g.h, g.w, g.s.padTop(), g.s.padLeft(), g.hp, g.wp, xp, g.padded);
            return;
        }
        int plane = g.hq * g.wq;
        for (int ci = 0; ci < g.cg; ci++) {
            int src = xOff + ci * g.h * g.w;
            for (int a = 0; a < sh; a++)
                for (int b = 0; b < sw; b++) {
                    int slot = g.phaseSlot[a * sw + b];
                    if (slot < 0) continue;
                    int base = (ci * g.phases + slot) * plane;
                    // columns v of this phase read input column v·sw + b − padLeft; [v0, v1) of them lie inside the image
                    int first = b - g.s.padLeft();
                    int v0 = first >= 0 ? 0 : Math.min(g.wq, (-first + sw - 1) / sw);
                    int v1 = Math.max(v0, Math.min(g.wq, first >= g.w ? 0 : (g.w - 1 - first) / sw + 1));
                    for (int u = 0; u < g.hq; u++) {
                        int iy = u * sh + a - g.s.padTop(), row = base + u * g.wq;
                        if (iy < 0 || iy >= g.h) {
                            java.util.Arrays.fill(xp, row, row + g.wq, 0f);
                            continue;
                        }
                        java.util.Arrays.fill(xp, row, row + v0, 0f);
                        int at = src + iy * g.w + first;
                        if (sw == 1) System.arraycopy(x, at + v0, xp, row + v0, v1 - v0);
                        else for (int v = v0; v < v1; v++) xp[row + v] = x[at + v * sw];
                        java.util.Arrays.fill(xp, row + v1, row + g.wq, 0f);
                    }
                }
        }
        java.util.Arrays.fill(xp, g.cg * g.phases * plane, g.padded, 0f);
    }

    /**
     * Writes {@code planes} images [h, w] from {@code src} into [hp, wp] planes at row {@code top}, column
     * {@code left}, zeroing everything else up to {@code size} (the borders and the slack after the last plane).
     */
    private static void padPlanes(float[] src, int srcOff, int planes, int h, int w, int top, int left, int hp, int wp, float[] dst, int size) {
        int plane = hp * wp, gap = wp - w;
        for (int ci = 0; ci < planes; ci++) {
            int base = ci * plane, first = base + top * wp + left;
            java.util.Arrays.fill(dst, base, first, 0f);
            VectorKernels.copyRows(src, srcOff + ci * h * w, w, dst, first, wp, h, w, false);
            // the right border of each row and the left border of the next are adjacent: a few values, no call
            for (int iy = 0, end = first + w; iy + 1 < h; iy++, end += wp)
                for (int q = 0; q < gap; q++) dst[end + q] = 0f;
            java.util.Arrays.fill(dst, first + (h - 1) * wp + w, base + plane, 0f);
        }
        java.util.Arrays.fill(dst, planes * plane, size, 0f);
    }

    /** Range of output columns {@code ow} whose input column {@code ow*stride + shift} lies in [0, width). */
    private static int lo(int shift, int stride) {
        return shift >= 0 ? 0 : (-shift + stride - 1) / stride;
    }

    private static int hi(int shift, int stride, int width, int outW) {
        int last = width - 1 - shift;
        return last < 0 ? -1 : Math.min(outW - 1, last / stride);
    }

    /** Unfolds one group of one image into col[(c*kH+i)*kW+j][oh*OW+ow] (zeros where the tap hits padding). */
    static void im2col(Geometry g, float[] x, int xOff, float[] col) {
        Conv2dSpec s = g.s;
        int sh = s.strideH(), sw = s.strideW(), ow = g.ow, p = g.p;
        for (int ci = 0; ci < g.cg; ci++) {
            int xc = xOff + ci * g.h * g.w;
            for (int ki = 0; ki < g.kh; ki++) {
                int dh = ki * s.dilationH() - s.padTop();
                for (int kj = 0; kj < g.kw; kj++) {
                    int dw = kj * s.dilationW() - s.padLeft();
                    int row = ((ci * g.kh + ki) * g.kw + kj) * p;
                    int owLo = Math.min(ow, lo(dw, sw)), owHi = hi(dw, sw, g.w, ow);
                    for (int oy = 0; oy < g.oh; oy++) {
                        int ih = oy * sh + dh;
                        int dst = row + oy * ow;
                        if (ih < 0 || ih >= g.h || owHi < owLo) {
                            java.util.Arrays.fill(col, dst, dst + ow, 0f);
                            continue;
                        }
                        for (int q = 0; q < owLo; q++) col[dst + q] = 0f;
                        for (int q = owHi + 1; q < ow; q++) col[dst + q] = 0f;
                        int src = xc + ih * g.w + dw;
                        if (sw == 1) {
                            System.arraycopy(x, src + owLo, col, dst + owLo, owHi - owLo + 1);
                        } else {
                            for (int q = owLo; q <= owHi; q++) col[dst + q] = x[src + q * sw];
                        }
                    }
                }
            }
        }
    }

    /** Adds the columns back into the image gradient (the adjoint of {@link #im2col}). */
    static void col2im(Geometry g, float[] col, float[] gx, int xOff) {
        Conv2dSpec s = g.s;
        int sh = s.strideH(), sw = s.strideW(), ow = g.ow, p = g.p;
        for (int ci = 0; ci < g.cg; ci++) {
            int xc = xOff + ci * g.h * g.w;
            for (int ki = 0; ki < g.kh; ki++) {
                int dh = ki * s.dilationH() - s.padTop();
                for (int kj = 0; kj < g.kw; kj++) {
                    int dw = kj * s.dilationW() - s.padLeft();
                    int row = ((ci * g.kh + ki) * g.kw + kj) * p;
                    int owLo = Math.min(ow, lo(dw, sw)), owHi = hi(dw, sw, g.w, ow);
                    if (owHi < owLo) continue;
                    for (int oy = 0; oy < g.oh; oy++) {
                        int ih = oy * sh + dh;
                        if (ih < 0 || ih >= g.h) continue;
                        int src = row + oy * ow;
                        int dst = xc + ih * g.w + dw;
                        if (sw == 1) {
                            VectorKernels.addInto(col, src + owLo, gx, dst + owLo, owHi - owLo + 1);
                        } else {
                            for (int q = owLo; q <= owHi; q++) gx[dst + q * sw] += col[src + q];
                        }
                    }
                }
            }
        }
    }
}
