package org.goldenstick.quant;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.goldenstick.tensor.Conv2dSpec;
import org.goldenstick.tensor.kernel.Kernels;
import org.goldenstick.tensor.kernel.Lanes;
import org.goldenstick.tensor.kernel.Parallel;

/**
 * The integer convolution of the int8 deploy layers (ONNX ConvInteger semantics), image by image so the epilogue runs
 * while the image's accumulators are still in cache. Per image and group the input codes are laid out as bytes in one
 * of two ways: for stride-1 convolutions with little horizontal overhang, a zero-point-padded copy of the planes whose
 * shifted windows are the rows of the im2col matrix (implicit GEMM in "wide" rows of the padded width, the
 * {@code (kW−1)·dW} extra columns per output row computed and dropped, as the float {@code Conv} does); otherwise
 * unfolded rows (im2col in int8, every row padded to whole vectors). An outer-product micro-kernel multiplies eight
 * (or four, or one) output channels × two vectors of pixels at a time, reading the byte rows in place and widening
 * them in registers (byte → float; no packed copy). Output channels are padded with zero weight rows to a multiple
 * of four, so a network's 6 or 10 channels run on the wide tiles.
 *
 * <p>Why float lanes: the Vector API has no int8/int16 dot product (the JIT does not emit VNNI's {@code vpdpbusd} for
 * it), and int32 lane multiplies cost two µops on x86, so a widened float FMA is the cheapest exact multiply-add. It is
 * exact because the stored byte {@code s} and the zero-point-corrected weight {@code w'} satisfy |s| ≤ 128 and
 * |w'| ≤ 255, so blocks of {@link #KB} products sum to integers below 2^24; each block's sum is converted to int32.
 * The activation zero point is applied by the caller's epilogue as {@code offset·Σw'} per channel
 * ({@link #zeroPointCorrection}; padding stores the code whose corrected value is 0). uint8 codes are stored flipped
 * to signed ({@code x ^ 0x80}, i.e. {@code x − 128}) so one sign-extending widen serves both.
 *
 * <p>The scalar path (plain integer loops on unfolded rows under {@code Kernels.vector() == false}) is the reference
 * the vector path equals; {@link QConv2d#convIntegerRows} is an independent one (im2col of the batch and
 * {@code Int8Gemm}).
 *
 * <pre>{@code
 * Int8Conv.Weights w = Int8Conv.Weights.of(wq, false, zw, wShape, spec.groups());
 * int[] corr = Int8Conv.zeroPointCorrection(w, true, zx);
 * Int8Conv.run(xq, true, zx, xShape, w, spec, (img, acc, ld, pitch) -> { ... acc[o*ld + oy*pitch + ox] + corr[o] ... });
 * }</pre>
 */
final class Int8Conv {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(F.length() * 8));
    private static final int L = F.length();
    /** Pixels per micro-tile (two vectors); rows of the column buffer are padded to a multiple of it. */
    static final int PX = 2 * L;
    /** Products summed in float before converting to int32: 256 · 128 · 255 < 2^24. */
    static final int KB = 256;

    private Int8Conv() {}

    /**
     * The accumulators of one image, without the activation zero point's correction: output pixel (oy, ox) of channel
     * o is {@code acc[o·ld + oy·pitch + ox]} ({@code pitch} is OW, or the padded width for wide rows).
     */
    @FunctionalInterface
    interface ImageSink {
        void accept(int image, int[] acc, int ld, int pitch);
    }

    /**
     * Weights prepared for the kernel: {@code w − zw} as floats {@code [rows, in/groups·kH·kW]} (without groups, the
     * {@code out} channels followed by zero rows up to a multiple of four) and their per-channel sums.
     */
    record Weights(float[] values, int[] sums, int[] shape, int groups, int rows) {
        static Weights of(byte[] w, boolean unsigned, int[] zw, int[] shape, int groups) {
            int out = shape[0], k = shape[1] * shape[2] * shape[3];
            int rows = groups == 1 ? (out + 3) / 4 * 4 : out;
            float[] v = new float[rows * k];
            int[] sums = new int[out];
            for (int o = 0; o < out; o++) {
                int z = zw.length == 1 ? zw[0] : zw[o], s = 0;
                for (int p = 0; p < k; p++) {
                    int c = (unsigned ? w[o * k + p] & 0xFF : w[o * k + p]) - z;
                    v[o * k + p] = c;
                    s += c;
                }
                sums[o] = s;
            }
            return new Weights(v, sums, shape.clone(), groups, rows);
        }
    }

    private static final class Scratch {
        byte[] cols = new byte[0];
        int[] acc = new int[0];
        byte[] image = new byte[0];
        float[] plane = new float[0];
        /** A tile's float block sums, {@code 2·rows} vectors, on their way to the int32 accumulators ({@link #addTile}). */
        final float[] tile = new float[16 * L];
        int[] rowOff = new int[0];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** Rows of the column buffer: whole micro-tiles of pixels. */
    static int paddedPixels(int hw) {
        return (hw + PX - 1) / PX * PX;
    }

    /**
     * What the activation zero point adds to channel o's accumulators: {@code offset·Σw'[o]} with
     * {@code offset = (xUnsigned ? 128 : 0) − zx}; the sink's accumulators plus this are ConvInteger's result.
     */
    static int[] zeroPointCorrection(Weights w, boolean xUnsigned, int zx) {
        int offset = (xUnsigned ? 128 : 0) - zx;
        int[] corr = new int[w.shape()[0]];
        for (int o = 0; o < corr.length; o++) corr[o] = offset * w.sums()[o];
        return corr;
    }

    /**
     * The geometry of the wide (shifted-window) layout for stride-1 convolutions, or null when unfolded rows are used
     * (strided, or the overhang wastes more than a third of each padded row, the float {@code Conv}'s rule).
     */
    private record Wide(int hp, int wp, int ld, int[] taps, int length) {
        static Wide of(int h, int wd, int channels, int kH, int kW, Conv2dSpec spec, int oh) {
            if (spec.strideH() != 1 || spec.strideW() != 1) return null;
            int hp = h + spec.padTop() + spec.padBottom(), wp = wd + spec.padLeft() + spec.padRight();
            int overhang = (kW - 1) * spec.dilationW();
            if (overhang * 3 > wp) return null;
            int ld = paddedPixels(oh * wp), plane = hp * wp;
            int[] taps = new int[channels * kH * kW];
            int max = 0;
            for (int ci = 0, r = 0; ci < channels; ci++)
                for (int ky = 0; ky < kH; ky++)
                    for (int kx = 0; kx < kW; kx++) max = Math.max(max, taps[r++] = ci * plane + ky * spec.dilationH() * wp + kx * spec.dilationW());
            return new Wide(hp, wp, ld, taps, Math.max(channels * plane, max + ld));
        }
    }

    /**
     * For each image (in parallel over images), the int32 ConvInteger result without the activation zero point's
     * correction ({@link #zeroPointCorrection}) into a per-thread buffer handed to {@code sink}.
     */
    static void run(byte[] xq, boolean xUnsigned, int zx, int[] xShape, Weights w, Conv2dSpec spec, ImageSink sink) {
        int n = xShape[0], c = xShape[1], h = xShape[2], wd = xShape[3];
        int[] ws = w.shape();
        int out = ws[0], inPerGroup = ws[1], kH = ws[2], kW = ws[3], groups = spec.groups();
        if (c != inPerGroup * groups) throw new IllegalArgumentException("Int8Conv: input has " + c + " channels, weight expects " + inPerGroup * groups);
        int[] os = QConv2d.outputShape(xShape, ws, spec);
        int oh = os[2], ow = os[3], hw = oh * ow, k = inPerGroup * kH * kW, ocg = out / groups;
        int offset = (xUnsigned ? 128 : 0) - zx;
        byte pad = (byte) -offset; // stored s with s + offset = 0: a padded tap adds nothing
        boolean vector = Kernels.vector();
        // depthwise, equal strides, no dilation: taps read from a padded copy of each plane instead of nine unfolded rows
        boolean direct = vector && inPerGroup == 1 && ocg == 1 && spec.strideH() == spec.strideW() && spec.dilationH() == 1
                && spec.dilationW() == 1 && kH * kW <= KB;
        Wide wide = vector && !direct ? Wide.of(h, wd, inPerGroup, kH, kW, spec, oh) : null;
        int ld = wide != null ? wide.ld() : paddedPixels(hw), pitch = wide != null ? wide.wp() : ow;
        int rows = w.rows(); // >= out: zero weight rows computed and never read
        Parallel.forEach(n, img -> {
            Scratch s = SCRATCH.get();
            int colsLen = wide != null ? wide.length() : k * ld;
            if (s.cols.length < colsLen) s.cols = new byte[colsLen];
            if (s.acc.length < rows * ld + PX) s.acc = new int[rows * ld + PX]; // + slack for the depthwise spill
            byte[] cols = s.cols;
            int[] acc = s.acc;
            if (direct) {
                depthwise(xq, xUnsigned, img * c * h * wd, h, wd, c, kH, kW, spec, oh, ow, ld, pad, w.values(), acc, s);
            } else {
                int[] rowOff = wide != null ? wide.taps() : unfoldedRows(s, k, ld);
                for (int g = 0; g < groups; g++) {
                    int inBase = (img * c + g * inPerGroup) * h * wd;
                    if (wide != null) padPlanes(xq, xUnsigned, inBase, h, wd, inPerGroup, spec, wide, pad, cols, s);
                    else unfold(xq, xUnsigned, inBase, h, wd, inPerGroup, kH, kW, spec, oh, ow, ld, pad, cols, s);
                    int o0 = g * ocg, o1 = groups == 1 ? rows : o0 + ocg;
                    if (vector) {
                        for (int j = 0; j < ld; j += PX) {
                            int o = o0;
                            for (; o + 8 <= o1; o += 8) tile8(cols, rowOff, k, w.values(), o * k, j, acc, o * ld, ld, s.tile);
                            for (; o + 4 <= o1; o += 4) tile4(cols, rowOff, k, w.values(), o * k, j, acc, o * ld, ld, s.tile);
                            for (; o < o1; o++) tile1(cols, rowOff, k, w.values(), o * k, j, acc, o * ld, s.tile);
                        }
                    } else {
                        for (int o = o0; o < Math.min(o1, out); o++) {
                            for (int px = 0; px < hw; px++) {
                                int sum = 0;
                                for (int p = 0; p < k; p++) sum += cols[p * ld + px] * (int) w.values()[o * k + p];
                                acc[o * ld + px] = sum;
                            }
                        }
                    }
                }
            }
            sink.accept(img, acc, ld, pitch);
        });
    }

    /** Row starts of the unfolded column buffer, {@code p·ld}. */
    private static int[] unfoldedRows(Scratch s, int k, int ld) {
        if (s.rowOff.length != k || (k > 1 && s.rowOff[1] != ld)) {
            s.rowOff = new int[k];
            for (int p = 0; p < k; p++) s.rowOff[p] = p * ld;
        }
        return s.rowOff;
    }

    /**
     * One image's group copied into the zero-point-padded planes {@code [channels, hp, wp]} (codes flipped to signed),
     * the rest of the buffer (read only for dropped columns) filled with the padding code.
     */
    private static void padPlanes(byte[] xq, boolean xUnsigned, int inBase, int h, int wd, int channels, Conv2dSpec spec, Wide g, byte pad,
                                  byte[] xp, Scratch scratch) {
        int plane = h * wd, len = channels * plane;
        byte[] src = xq;
        int srcBase = inBase;
        if (xUnsigned) {
            if (scratch.image.length < len) scratch.image = new byte[len];
            src = scratch.image;
            srcBase = 0;
            flip(xq, inBase, len, src);
        }
        int hp = g.hp(), wp = g.wp(), pt = spec.padTop(), pl = spec.padLeft();
        if (hp == h && wp == wd) { // no padding (1×1 convolutions): the planes are one copy
            System.arraycopy(src, srcBase, xp, 0, len);
            java.util.Arrays.fill(xp, len, g.length(), pad);
            return;
        }
        java.util.Arrays.fill(xp, 0, g.length(), pad);
        for (int ci = 0; ci < channels; ci++) {
            int from = srcBase + ci * plane, to = ci * hp * wp + pt * wp + pl;
            for (int y = 0; y < h; y++) System.arraycopy(src, from + y * wd, xp, to + y * wp, wd);
        }
    }

    /** {@code dst[i] = src[from + i] ^ 0x80} for {@code i < len}: uint8 codes as signed bytes minus 128. */
    private static void flip(byte[] src, int from, int len, byte[] dst) {
        int i = 0;
        for (; i + B.length() <= len; i += B.length()) ByteVector.fromArray(B, src, from + i).lanewise(VectorOperators.XOR, (byte) 0x80).intoArray(dst, i);
        for (; i < len; i++) dst[i] = (byte) (src[from + i] ^ 0x80);
    }

    /**
     * Depthwise convolution of one image (equal strides s, no dilation): each plane is copied once into a
     * zero-point-padded buffer of floats (codes flipped to signed, widened once per input pixel rather than once per
     * tap), split into s column phases (phase r holds padded columns r, r + s, r + 2s, ...), so the tap (ky, kx) of
     * L consecutive output pixels is one contiguous load from phase {@code kx mod s}; every output row is computed
     * {@code L} pixels at a time as a sum over the taps. A block running past the row end spills into the next row's
     * (or the next channel's, or the slack) accumulators, which are computed afterwards, so no tail loop is needed.
     */
    private static void depthwise(byte[] xq, boolean xUnsigned, int inBase, int h, int wd, int channels, int kH, int kW, Conv2dSpec spec,
                                  int oh, int ow, int ld, byte pad, float[] w, int[] acc, Scratch s) {
        int st = spec.strideH(), pt = spec.padTop(), pl = spec.padLeft(), k = kH * kW;
        int hp = (oh - 1) * st + kH, wp = (ow - 1) * st + kW, wq = ow + (kW - 1) / st; // padded rows, columns, phase width
        int phase = hp * wq, need = st * phase + 2 * L;
        if (s.plane.length < need) s.plane = new float[need];
        float[] pb = s.plane;
        byte flip = (byte) (xUnsigned ? 0x80 : 0);
        int x0 = Math.max(0, -pl), x1 = Math.min(wd, wp - pl); // input columns inside the padded extent
        for (int ch = 0; ch < channels; ch++) {
            java.util.Arrays.fill(pb, 0, need, pad);
            int plane = inBase + ch * h * wd;
            for (int y = 0; y < h; y++) {
                int py = y + pt;
                if (py < 0 || py >= hp) continue;
                int from = plane + y * wd, x = x0;
                if (st == 1) {
                    int to = py * wq + pl;
                    for (; x + L <= x1; x += L) widenFlipped(xq, from + x, flip).intoArray(pb, to + x);
                    for (; x < x1; x++) pb[to + x] = (byte) (xq[from + x] ^ flip);
                } else {
                    int px = x + pl, r = px % st, at = r * phase + py * wq + px / st;
                    for (; x < x1; x++) {
                        pb[at] = (byte) (xq[from + x] ^ flip);
                        if (++r == st) {
                            r = 0;
                            at += 1 - (st - 1) * phase;
                        } else {
                            at += phase;
                        }
                    }
                }
            }
            int wBase = ch * k, aBase = ch * ld;
            for (int oy = 0; oy < oh; oy++) {
                for (int ox = 0; ox < ow; ox += L) {
                    FloatVector a = FloatVector.zero(F);
                    for (int ky = 0; ky < kH; ky++) {
                        int row = (oy * st + ky) * wq + ox;
                        for (int kx = 0; kx < kW; kx++) {
                            a = FloatVector.fromArray(F, pb, (kx % st) * phase + row + kx / st).fma(FloatVector.broadcast(F, w[wBase + ky * kW + kx]), a);
                        }
                    }
                    toInt(a).intoArray(acc, aBase + oy * ow + ox);
                }
            }
        }
    }

    /** L codes from {@code at}, XOR {@code flip}, as signed values in float lanes. */
    private static FloatVector widenFlipped(byte[] codes, int at, byte flip) {
        return (FloatVector) ByteVector.fromArray(B, codes, at).lanewise(VectorOperators.XOR, flip).convertShape(VectorOperators.B2F, F, 0);
    }

    /** im2col of one image's group into {@code cols[row·ld + pixel]}, codes stored as signed bytes. */
    private static void unfold(byte[] xq, boolean xUnsigned, int inBase, int h, int wd, int channels, int kH, int kW, Conv2dSpec spec,
                               int oh, int ow, int ld, byte pad, byte[] cols, Scratch scratch) {
        int plane = h * wd, len = channels * plane;
        byte[] src = xq;
        int srcBase = inBase;
        if (xUnsigned) { // flip the group's codes to signed once, so the rows below are plain copies
            if (scratch.image.length < len) scratch.image = new byte[len];
            src = scratch.image;
            srcBase = 0;
            flip(xq, inBase, len, src);
        }
        int sh = spec.strideH(), sw = spec.strideW(), dh = spec.dilationH(), dw = spec.dilationW(), pt = spec.padTop(), pl = spec.padLeft();
        for (int ci = 0; ci < channels; ci++) {
            int chBase = srcBase + ci * plane;
            for (int ky = 0; ky < kH; ky++) {
                for (int kx = 0; kx < kW; kx++) {
                    int row = (ci * kH + ky) * kW + kx, at = row * ld;
                    // output columns whose input column lies inside the image: [x0, x1)
                    int off = kx * dw - pl, x0 = 0, x1 = ow;
                    while (x0 < ow && x0 * sw + off < 0) x0++;
                    while (x1 > x0 && (x1 - 1) * sw + off >= wd) x1--;
                    for (int oy = 0; oy < oh; oy++, at += ow) {
                        int iy = oy * sh - pt + ky * dh;
                        if (iy < 0 || iy >= h) {
                            java.util.Arrays.fill(cols, at, at + ow, pad);
                            continue;
                        }
                        int from = chBase + iy * wd + off;
                        for (int ox = 0; ox < x0; ox++) cols[at + ox] = pad;
                        if (sw == 1) {
                            System.arraycopy(src, from + x0, cols, at + x0, x1 - x0);
                        } else {
                            for (int ox = x0; ox < x1; ox++) cols[at + ox] = src[from + ox * sw];
                        }
                        for (int ox = x1; ox < ow; ox++) cols[at + ox] = pad;
                    }
                    int end = row * ld + ld;
                    if (at < end) java.util.Arrays.fill(cols, at, end, pad);
                }
            }
        }
    }

    private static FloatVector widen(byte[] cols, int at) {
        return (FloatVector) ByteVector.fromArray(B, cols, at).convertShape(VectorOperators.B2F, F, 0);
    }

    /**
     * {@code acc[at + r·ld ..] = int(tile row r) + (acc[at + r·ld ..] & keep)} for {@code rows} rows of {@link #PX}
     * block sums, {@code keep} 0 for a tile's first block of products, −1 after. The tiles park their accumulators in
     * {@code tile} and call this instead of converting them in place: C2 compiles a tile with its 16 accumulators close
     * to its inlining node limit, and the conversions at the loop exit then stayed real calls in some compilations
     * ({@code NodeCountInliningCutoff}, or "callee is too large" at a cold call site), each accumulator boxed to be
     * passed and converted through a virtual call — the tile's speed depended on the compilation (docs/results.md,
     * issue 19 "Where the int8 variance came from"). Parking costs one store per accumulator (four for
     * 256 products); vectors read back from an array have an exact type.
     */
    private static void addTile(float[] tile, int rows, int keep, int[] acc, int at, int ld) {
        for (int r = 0; r < rows; r++, at += ld) {
            store(tile, 2 * r * L, keep, acc, at);
            store(tile, (2 * r + 1) * L, keep, acc, at + L);
        }
    }

    /**
     * {@code acc[at ..] = int(tile[from ..]) + (acc[at ..] & keep)}. Takes no vector argument, so it costs at most a
     * call if C2 does not inline it (a vector argument would be boxed); no branch merges two vectors.
     */
    private static void store(float[] tile, int from, int keep, int[] acc, int at) {
        ((IntVector) FloatVector.fromArray(F, tile, from).convert(VectorOperators.F2I, 0)).add(IntVector.fromArray(I, acc, at).and(keep)).intoArray(acc, at);
    }

    /** The lanes of a loop's float accumulator as int32 (exact: block sums are integers below 2^24). */
    private static IntVector toInt(FloatVector v) {
        return (IntVector) Lanes.exact(v).convert(VectorOperators.F2I, 0);
    }

    /**
     * Eight output channels (weight rows {@code wOff + r·k}) × {@link #PX} pixels from column {@code j}: 16 accumulators.
     * Row p of the byte matrix starts at {@code rowOff[p]}; accumulator rows are {@code ld} apart.
     */
    private static void tile8(byte[] cols, int[] rowOff, int k, float[] w, int wOff, int j, int[] acc, int accOff, int ld, float[] tile) {
        for (int p0 = 0; p0 < k; p0 += KB) {
            int p1 = Math.min(k, p0 + KB);
            FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
            FloatVector c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
            for (int p = p0; p < p1; p++) {
                int at = rowOff[p] + j, wp = wOff + p;
                FloatVector b0 = widen(cols, at), b1 = widen(cols, at + L);
                FloatVector wv = FloatVector.broadcast(F, w[wp]);
                c00 = b0.fma(wv, c00);
                c01 = b1.fma(wv, c01);
                wv = FloatVector.broadcast(F, w[wp + k]);
                c10 = b0.fma(wv, c10);
                c11 = b1.fma(wv, c11);
                wv = FloatVector.broadcast(F, w[wp + 2 * k]);
                c20 = b0.fma(wv, c20);
                c21 = b1.fma(wv, c21);
                wv = FloatVector.broadcast(F, w[wp + 3 * k]);
                c30 = b0.fma(wv, c30);
                c31 = b1.fma(wv, c31);
                wv = FloatVector.broadcast(F, w[wp + 4 * k]);
                c40 = b0.fma(wv, c40);
                c41 = b1.fma(wv, c41);
                wv = FloatVector.broadcast(F, w[wp + 5 * k]);
                c50 = b0.fma(wv, c50);
                c51 = b1.fma(wv, c51);
                wv = FloatVector.broadcast(F, w[wp + 6 * k]);
                c60 = b0.fma(wv, c60);
                c61 = b1.fma(wv, c61);
                wv = FloatVector.broadcast(F, w[wp + 7 * k]);
                c70 = b0.fma(wv, c70);
                c71 = b1.fma(wv, c71);
            }
            Lanes.exact(c00).intoArray(tile, 0);
            Lanes.exact(c01).intoArray(tile, L);
            Lanes.exact(c10).intoArray(tile, 2 * L);
            Lanes.exact(c11).intoArray(tile, 3 * L);
            Lanes.exact(c20).intoArray(tile, 4 * L);
            Lanes.exact(c21).intoArray(tile, 5 * L);
            Lanes.exact(c30).intoArray(tile, 6 * L);
            Lanes.exact(c31).intoArray(tile, 7 * L);
            Lanes.exact(c40).intoArray(tile, 8 * L);
            Lanes.exact(c41).intoArray(tile, 9 * L);
            Lanes.exact(c50).intoArray(tile, 10 * L);
            Lanes.exact(c51).intoArray(tile, 11 * L);
            Lanes.exact(c60).intoArray(tile, 12 * L);
            Lanes.exact(c61).intoArray(tile, 13 * L);
            Lanes.exact(c70).intoArray(tile, 14 * L);
            Lanes.exact(c71).intoArray(tile, 15 * L);
            addTile(tile, 8, p0 == 0 ? 0 : -1, acc, accOff + j, ld);
        }
    }

    /** Four output channels (weight rows {@code wOff + r·k}) × {@link #PX} pixels from column {@code j}. */
    private static void tile4(byte[] cols, int[] rowOff, int k, float[] w, int wOff, int j, int[] acc, int accOff, int ld, float[] tile) {
        int k1 = wOff + k, k2 = wOff + 2 * k, k3 = wOff + 3 * k;
        for (int p0 = 0; p0 < k; p0 += KB) {
            int p1 = Math.min(k, p0 + KB);
            FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
            for (int p = p0; p < p1; p++) {
                int at = rowOff[p] + j;
                FloatVector b0 = widen(cols, at), b1 = widen(cols, at + L);
                FloatVector w0 = FloatVector.broadcast(F, w[wOff + p]);
                c00 = b0.fma(w0, c00);
                c01 = b1.fma(w0, c01);
                FloatVector w1 = FloatVector.broadcast(F, w[k1 + p]);
                c10 = b0.fma(w1, c10);
                c11 = b1.fma(w1, c11);
                FloatVector w2 = FloatVector.broadcast(F, w[k2 + p]);
                c20 = b0.fma(w2, c20);
                c21 = b1.fma(w2, c21);
                FloatVector w3 = FloatVector.broadcast(F, w[k3 + p]);
                c30 = b0.fma(w3, c30);
                c31 = b1.fma(w3, c31);
            }
            Lanes.exact(c00).intoArray(tile, 0);
            Lanes.exact(c01).intoArray(tile, L);
            Lanes.exact(c10).intoArray(tile, 2 * L);
            Lanes.exact(c11).intoArray(tile, 3 * L);
            Lanes.exact(c20).intoArray(tile, 4 * L);
            Lanes.exact(c21).intoArray(tile, 5 * L);
            Lanes.exact(c30).intoArray(tile, 6 * L);
            Lanes.exact(c31).intoArray(tile, 7 * L);
            addTile(tile, 4, p0 == 0 ? 0 : -1, acc, accOff + j, ld);
        }
    }

    /** One output channel × {@link #PX} pixels. */
    private static void tile1(byte[] cols, int[] rowOff, int k, float[] w, int wOff, int j, int[] acc, int accOff, float[] tile) {
        for (int p0 = 0; p0 < k; p0 += KB) {
            int p1 = Math.min(k, p0 + KB);
            FloatVector c0 = FloatVector.zero(F), c1 = c0;
            for (int p = p0; p < p1; p++) {
                int at = rowOff[p] + j;
                FloatVector wv = FloatVector.broadcast(F, w[wOff + p]);
                c0 = widen(cols, at).fma(wv, c0);
                c1 = widen(cols, at + L).fma(wv, c1);
            }
            Lanes.exact(c0).intoArray(tile, 0);
            Lanes.exact(c1).intoArray(tile, L);
            addTile(tile, 1, p0 == 0 ? 0 : -1, acc, accOff + j, 0);
        }
    }
}
