package org.goldenstick.quant;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.goldenstick.tensor.Conv2dSpec;
import org.goldenstick.tensor.kernel.Kernels;
import org.goldenstick.tensor.kernel.Lanes;
import org.goldenstick.tensor.kernel.Parallel;

/**
 * The integer convolution of the int8 deploy layers (ONNX ConvInteger semantics), image by image so the epilogue runs
 * while the image's accumulators are still in cache. Per image and group the input codes are copied once into
 * zero-point-padded planes split into their stride phases ({@link Planes}; strided columns are split 16 bytes at a time
 * with {@link Long#compress}), whose shifted windows are the rows of the im2col matrix. The kernel reads them in place
 * (implicit GEMM in "wide" rows of the phase width, the extra columns computed and dropped, as the float {@code Conv}
 * does) or, where that would waste more than a fifth of the columns (small planes such as ResNet-20's 8×8 stage), from
 * unfolded rows copied out of the planes a long at a time. An outer-product micro-kernel multiplies eight
 * (or four, or one) output channels × two vectors of pixels at a time, reading the byte rows in place and widening
 * them in registers (byte → float; no packed copy). Output channels are padded with zero weight rows to a multiple
 * of four, so a network's 6 or 10 channels run on the wide tiles.
 *
 * <p>Why float lanes: the Vector API has no int8/int16 dot product (the JIT does not emit VNNI's {@code vpdpbusd} for
 * it), and int32 lane multiplies cost two µops on x86, so a widened float FMA is the cheapest exact multiply-add. C2's
 * auto-vectorizer does emit {@code vpmaddwd}/{@code vpdpwssd} for {@code out[i] += a[2i]·b[2i] + a[2i+1]·b[2i+1]} over
 * short[] into int[], but only in that form, with the accumulators in memory: 30–36 G products per CPU-second in a
 * stand-alone loop in L1, 12–15 with a conv's 256-pixel rows, against this kernel's 45–55 (docs/results.md, issue 19);
 * as a reduction into a local it is not vectorized at all. It is
 * exact because the stored byte {@code s} and the zero-point-corrected weight {@code w'} satisfy |s| ≤ 128 and
 * |w'| ≤ 255, so blocks of {@link #KB} products sum to integers below 2^24; each block's sum is converted to int32.
 * Where every row has 128·Σ|w'| < 2^24 (ResNet-20's symmetric int8 weights, k up to 576) the whole row is one block.
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
     * {@code out} channels followed by zero rows up to a multiple of four) and their per-channel sums; {@code panels}
     * holds the same values in the order the vector tiles read them: the rows of each tile of h = 8, 4 or 1 channels
     * starting at o ({@link #tileHeight}) interleaved, {@code panels[o·k + p·h + r] = values[(o + r)·k + p]}, so a tile
     * broadcasts its h weights of step p from one address (eight row pointers had C2 spilling registers in the loop).
     */
    record Weights(float[] values, float[] panels, int[] sums, int[] shape, int groups, int rows, int block) {
        static Weights of(byte[] w, boolean unsigned, int[] zw, int[] shape, int groups) {
            int out = shape[0], k = shape[1] * shape[2] * shape[3];
            int rows = groups == 1 ? (out + 3) / 4 * 4 : out;
            float[] v = new float[rows * k];
            int[] sums = new int[out];
            long maxNorm = 0;
            for (int o = 0; o < out; o++) {
                int z = zw.length == 1 ? zw[0] : zw[o], s = 0;
                long norm = 0;
                for (int p = 0; p < k; p++) {
                    int c = (unsigned ? w[o * k + p] & 0xFF : w[o * k + p]) - z;
                    v[o * k + p] = c;
                    s += c;
                    norm += Math.abs(c);
                }
                sums[o] = s;
                maxNorm = Math.max(maxNorm, norm);
            }
            float[] panels = new float[v.length];
            int ocg = out / groups;
            for (int g = 0; g < groups; g++) {
                int o1 = groups == 1 ? rows : (g + 1) * ocg;
                for (int o = g * ocg, h; o < o1; o += h) {
                    h = tileHeight(o, o1);
                    for (int r = 0; r < h; r++)
                        for (int p = 0; p < k; p++) panels[o * k + p * h + r] = v[(o + r) * k + p];
                }
            }
            // every partial sum of a row is below 128·Σ|w'| in magnitude: below 2^24, one float block holds the whole row
            int block = 128 * maxNorm < 1 << 24 ? Math.max(k, 1) : KB;
            return new Weights(v, panels, sums, shape.clone(), groups, rows, block);
        }
    }

    /** Channels of the vector tile that starts at channel o of a group ending before o1: 8, then 4, then 1. */
    static int tileHeight(int o, int o1) {
        return o + 8 <= o1 ? 8 : o + 4 <= o1 ? 4 : 1;
    }

    private static final class Scratch {
        byte[] cols = new byte[0];
        int[] acc = new int[0];
        byte[] image = new byte[0];
        /** The phase planes the unfolded rows are copied from ({@link #compact}). */
        byte[] planes = new byte[0];
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
     * The byte layout of one image's group on the vector path, for any stride and dilation: the zero-point-padded
     * planes split into their stride phases (phase (a, b) holds padded rows a, a + sH, ... and columns b, b + sW, ...;
     * only the phases some tap reads, as the float {@code Conv}'s wide layout), so the window of tap p = (ci, ky, kx)
     * for output (oy, ox) is byte {@code taps[p] + oy·wq + ox}: a strided convolution is a sum of stride-1 windows.
     * Either the kernel reads those windows in place ({@code wide}: rows of wq columns, the extra columns computed and
     * dropped), or each window's oh runs of ow bytes are first copied into an unfolded row of {@code ld} bytes
     * ({@link #compact}): cheaper where the wide rows would waste many columns (small planes, strides) — measured on
     * ResNet-20's shapes, docs/results.md issue 19.
     */
    private record Planes(int sh, int sw, int hq, int wq, int phases, int[] phaseSlot, int[] taps, int length, boolean wide, int ld) {
        static Planes of(int h, int wd, int channels, int kH, int kW, Conv2dSpec spec, int oh, int ow) {
            int sh = spec.strideH(), sw = spec.strideW(), dh = spec.dilationH(), dw = spec.dilationW();
            int hp = h + spec.padTop() + spec.padBottom(), wp = wd + spec.padLeft() + spec.padRight();
            int hq = (hp + sh - 1) / sh, wq = (wp + sw - 1) / sw, plane = hq * wq;
            int[] slot = new int[sh * sw];
            java.util.Arrays.fill(slot, -1);
            int used = 0;
            for (int ky = 0; ky < kH; ky++)
                for (int kx = 0; kx < kW; kx++) {
                    int ph = (ky * dh % sh) * sw + kx * dw % sw;
                    if (slot[ph] < 0) slot[ph] = used++;
                }
            int[] taps = new int[channels * kH * kW];
            int max = 0;
            for (int ci = 0, r = 0; ci < channels; ci++)
                for (int ky = 0; ky < kH; ky++)
                    for (int kx = 0; kx < kW; kx++) {
                        int y = ky * dh, x = kx * dw;
                        max = Math.max(max, taps[r++] = (ci * used + slot[(y % sh) * sw + x % sw]) * plane + y / sh * wq + x / sw);
                    }
            int overhang = (kW - 1) * dw / sw, wideLd = paddedPixels(oh * wq), compactLd = paddedPixels(oh * ow);
            boolean wide = overhang * 3 <= wq && switch (layout) {
                case AUTO -> wideLd <= compactLd * WIDE_WASTE;
                case WIDE -> true;
                case COMPACT -> false;
            };
            int ld = wide ? wideLd : compactLd, size = channels * used * plane;
            return new Planes(sh, sw, hq, wq, used, slot, taps, wide ? Math.max(size, max + ld) : size, wide, ld);
        }
    }

    /**
     * The wide rows are read in place while they compute at most this factor more columns than unfolded rows
     * (measured, 1 thread: ResNet-20's 16×32×32 and 32×16×16 stages at 1.06 and 1.13 run faster wide, as the copied
     * rows would leave L1; its 8×8 stage at 1.5 runs 1.3× faster compact).
     */
    private static final double WIDE_WASTE = 1.2;

    /** How the vector path lays out the byte rows: by {@link #WIDE_WASTE}, or (tests compare them) one layout wherever it applies. */
    enum Layout { AUTO, WIDE, COMPACT }

    static volatile Layout layout = Layout.AUTO;

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
        Planes planes = vector && !direct ? Planes.of(h, wd, inPerGroup, kH, kW, spec, oh, ow) : null;
        boolean wide = planes != null && planes.wide();
        int ld = planes != null ? planes.ld() : paddedPixels(hw), pitch = wide ? planes.wq() : ow;
        int rows = w.rows(); // >= out: zero weight rows computed and never read
        Parallel.forEach(n, img -> {
            Scratch s = SCRATCH.get();
            int colsLen = wide ? planes.length() : k * ld;
            if (s.cols.length < colsLen) s.cols = new byte[colsLen];
            if (planes != null && !wide && s.planes.length < planes.length()) s.planes = new byte[planes.length()];
            if (s.acc.length < rows * ld + PX) s.acc = new int[rows * ld + PX]; // + slack for the depthwise spill
            byte[] cols = s.cols;
            int[] acc = s.acc;
            if (direct) {
                depthwise(xq, xUnsigned, img * c * h * wd, h, wd, c, kH, kW, spec, oh, ow, ld, pad, w.values(), acc, s);
            } else {
                int[] rowOff = wide ? planes.taps() : unfoldedRows(s, k, ld);
                for (int g = 0; g < groups; g++) {
                    int inBase = (img * c + g * inPerGroup) * h * wd;
                    if (wide) {
                        phasePlanes(xq, xUnsigned, inBase, h, wd, inPerGroup, spec, planes, pad, cols);
                    } else if (planes != null) {
                        phasePlanes(xq, xUnsigned, inBase, h, wd, inPerGroup, spec, planes, pad, s.planes);
                        compact(s.planes, planes, k, oh, ow, ld, pad, cols);
                    } else {
                        unfold(xq, xUnsigned, inBase, h, wd, inPerGroup, kH, kW, spec, oh, ow, ld, pad, cols, s);
                    }
                    int o0 = g * ocg, o1 = groups == 1 ? rows : o0 + ocg;
                    if (vector) {
                        for (int j = 0; j < ld; j += PX) {
                            for (int o = o0, th; o < o1; o += th) {
                                th = tileHeight(o, o1);
                                if (th == 8) tile8(cols, rowOff, k, w.block(), w.panels(), o * k, j, acc, o * ld, ld, s.tile);
                                else if (th == 4) tile4(cols, rowOff, k, w.block(), w.panels(), o * k, j, acc, o * ld, ld, s.tile);
                                else tile1(cols, rowOff, k, w.block(), w.panels(), o * k, j, acc, o * ld, s.tile);
                            }
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
     * One image's group copied into its zero-point-padded phase planes {@link Planes} (codes flipped to signed while
     * copied), the
     * rest of the buffer (read only for dropped columns) filled with the padding code.
     */
    private static void phasePlanes(byte[] xq, boolean xUnsigned, int inBase, int h, int wd, int channels, Conv2dSpec spec, Planes g, byte pad,
                                    byte[] xp) {
        int plane = h * wd, len = channels * plane;
        byte[] src = xq;
        int srcBase = inBase;
        byte flip = (byte) (xUnsigned ? 0x80 : 0);
        long flips = xUnsigned ? 0x8080808080808080L : 0; // the flip of eight codes at once, applied while copying
        int hq = g.hq(), wq = g.wq(), pt = spec.padTop(), pl = spec.padLeft(), sh = g.sh(), sw = g.sw();
        if (sh == 1 && sw == 1 && hq == h && wq == wd) { // no padding (1×1 convolutions): the planes are one copy
            if (xUnsigned) flip(xq, inBase, len, xp);
            else System.arraycopy(src, srcBase, xp, 0, len);
            java.util.Arrays.fill(xp, len, g.length(), pad);
            return;
        }
        java.util.Arrays.fill(xp, 0, g.length(), pad);
        if (sh == 1 && sw == 1) {
            for (int ci = 0; ci < channels; ci++) {
                int from = srcBase + ci * plane, to = ci * hq * wq + pt * wq + pl;
                for (int y = 0; y < h; y++) copyRow(src, from + y * wd, xp, to + y * wq, wd, flip);
            }
            return;
        }
        int phasePlane = hq * wq, phases = g.phases();
        int[] slot = g.phaseSlot();
        for (int ci = 0; ci < channels; ci++) {
            int from = srcBase + ci * plane, chBase = ci * phases * phasePlane;
            for (int y = 0; y < h; y++) {
                int py = y + pt, a = py % sh, row = from + y * wd, x0 = 0;
                if (sw == 2 && wd >= 16) { // both column phases from 16 bytes at a time: Long.compress (BMI2 pext) keeps the even or odd bytes
                    int se = slot[a * 2 + (pl & 1)], so = slot[a * 2 + ((pl + 1) & 1)]; // phases of even and odd input columns
                    int rowQ = chBase + py / sh * wq, ce = rowQ + se * phasePlane + pl / 2, co = rowQ + so * phasePlane + (pl + 1) / 2;
                    for (; x0 + 16 <= wd; x0 += 16) {
                        long lo = (long) LONGS.get(src, row + x0) ^ flips, hi = (long) LONGS.get(src, row + x0 + 8) ^ flips;
                        if (se >= 0) LONGS.set(xp, ce + x0 / 2, Long.compress(lo, EVEN_BYTES) | Long.compress(hi, EVEN_BYTES) << 32);
                        if (so >= 0) LONGS.set(xp, co + x0 / 2, Long.compress(lo, ~EVEN_BYTES) | Long.compress(hi, ~EVEN_BYTES) << 32);
                    }
                }
                for (int b = 0; b < sw; b++) {
                    int sl = slot[a * sw + b];
                    if (sl < 0) continue;
                    // padded columns b, b + sw, ...: input columns x = px − pl with px ≡ b (mod sw)
                    int x = Math.floorMod(b - pl, sw);
                    if (x < x0) x += (x0 - x + sw - 1) / sw * sw; // columns before x0 were split above
                    int at = chBase + sl * phasePlane + py / sh * wq + (x + pl) / sw;
                    int count = (wd - x + sw - 1) / sw, from0 = row + x;
                    // unit-stride counters with a constant scale: a counted loop without per-element range checks
                    if (sw == 2) for (int i = 0; i < count; i++) xp[at + i] = (byte) (src[from0 + 2 * i] ^ flip);
                    else for (int i = 0; i < count; i++) xp[at + i] = (byte) (src[from0 + i * sw] ^ flip);
                }
            }
        }
    }

    /** The even bytes of a little-endian long, for {@link Long#compress}. */
    private static final long EVEN_BYTES = 0x00FF00FF00FF00FFL;

    private static final java.lang.invoke.VarHandle LONGS = java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class,
            java.nio.ByteOrder.LITTLE_ENDIAN);

    /**
     * {@code dst[to + i] = src[from + i] ^ flip} for {@code i < len}: whole vectors of bytes, then one masked vector
     * (rows of ResNet-20 on 28×28 inputs are 28, 14 and 7 bytes: a scalar loop per 7-byte row cost more than its copy).
     */
    private static void copyRow(byte[] src, int from, byte[] dst, int to, int len, byte flip) {
        int i = 0;
        for (; i + B.length() <= len; i += B.length()) ByteVector.fromArray(B, src, from + i).lanewise(VectorOperators.XOR, flip).intoArray(dst, to + i);
        if (i < len) {
            VectorMask<Byte> m = B.indexInRange(i, len);
            ByteVector.fromArray(B, src, from + i, m).lanewise(VectorOperators.XOR, flip).intoArray(dst, to + i, m);
        }
    }

    /**
     * The unfolded rows from the phase planes: row p is tap p's window, its oh runs of ow bytes ({@code wq} apart in
     * the planes) one after another ({@link #copyRow}), then the padding code up to {@code ld}.
     */
    private static void compact(byte[] xp, Planes g, int k, int oh, int ow, int ld, byte pad, byte[] cols) {
        int[] taps = g.taps();
        int wq = g.wq(), hw = oh * ow;
        for (int p = 0; p < k; p++) {
            int from = taps[p], to = p * ld;
            for (int oy = 0; oy < oh; oy++, from += wq, to += ow) copyRow(xp, from, cols, to, ow, (byte) 0);
            java.util.Arrays.fill(cols, p * ld + hw, p * ld + ld, pad);
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
     * Eight output channels (their weights interleaved from {@code wOff}, {@link Weights#panels}) × {@link #PX} pixels from
     * column {@code j}: 16 accumulators.
     * Row p of the byte matrix starts at {@code rowOff[p]}; accumulator rows are {@code ld} apart.
     */
    private static void tile8(byte[] cols, int[] rowOff, int k, int kb, float[] w, int wOff, int j, int[] acc, int accOff, int ld, float[] tile) {
        for (int p0 = 0; p0 < k; p0 += kb) {
            int p1 = Math.min(k, p0 + kb);
            FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
            FloatVector c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
            for (int p = p0; p < p1; p++) {
                int at = rowOff[p] + j, wp = wOff + 8 * p;
                FloatVector b0 = widen(cols, at), b1 = widen(cols, at + L);
                FloatVector wv = FloatVector.broadcast(F, w[wp]);
                c00 = b0.fma(wv, c00);
                c01 = b1.fma(wv, c01);
                wv = FloatVector.broadcast(F, w[wp + 1]);
                c10 = b0.fma(wv, c10);
                c11 = b1.fma(wv, c11);
                wv = FloatVector.broadcast(F, w[wp + 2]);
                c20 = b0.fma(wv, c20);
                c21 = b1.fma(wv, c21);
                wv = FloatVector.broadcast(F, w[wp + 3]);
                c30 = b0.fma(wv, c30);
                c31 = b1.fma(wv, c31);
                wv = FloatVector.broadcast(F, w[wp + 4]);
                c40 = b0.fma(wv, c40);
                c41 = b1.fma(wv, c41);
                wv = FloatVector.broadcast(F, w[wp + 5]);
                c50 = b0.fma(wv, c50);
                c51 = b1.fma(wv, c51);
                wv = FloatVector.broadcast(F, w[wp + 6]);
                c60 = b0.fma(wv, c60);
                c61 = b1.fma(wv, c61);
                wv = FloatVector.broadcast(F, w[wp + 7]);
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

    /** Four output channels (their weights interleaved from {@code wOff}) × {@link #PX} pixels from column {@code j}. */
    private static void tile4(byte[] cols, int[] rowOff, int k, int kb, float[] w, int wOff, int j, int[] acc, int accOff, int ld, float[] tile) {
        for (int p0 = 0; p0 < k; p0 += kb) {
            int p1 = Math.min(k, p0 + kb);
            FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
            for (int p = p0; p < p1; p++) {
                int at = rowOff[p] + j;
                FloatVector b0 = widen(cols, at), b1 = widen(cols, at + L);
                int wp = wOff + 4 * p;
                FloatVector w0 = FloatVector.broadcast(F, w[wp]);
                c00 = b0.fma(w0, c00);
                c01 = b1.fma(w0, c01);
                FloatVector w1 = FloatVector.broadcast(F, w[wp + 1]);
                c10 = b0.fma(w1, c10);
                c11 = b1.fma(w1, c11);
                FloatVector w2 = FloatVector.broadcast(F, w[wp + 2]);
                c20 = b0.fma(w2, c20);
                c21 = b1.fma(w2, c21);
                FloatVector w3 = FloatVector.broadcast(F, w[wp + 3]);
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
    private static void tile1(byte[] cols, int[] rowOff, int k, int kb, float[] w, int wOff, int j, int[] acc, int accOff, float[] tile) {
        for (int p0 = 0; p0 < k; p0 += kb) {
            int p1 = Math.min(k, p0 + kb);
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
