package org.goldenstick.quant;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.goldenstick.nn.MaxPool2d;
import org.goldenstick.tensor.OpTrace;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.Kernels;
import org.goldenstick.tensor.kernel.Parallel;

/**
 * A {@link MaxPool2d} of a deploy network that pools the 8-bit codes of its input when they are known
 * ({@link GridCodes}): dequantization is monotone, so the maximum of the values is the value of the maximum code, and
 * the output keeps the input's grid. One byte per element read instead of four, no float window scan, and the codes
 * travel on to the next int8 layer (which then does not quantize). Without codes, or while a trace records the
 * network, it is the float {@code MaxPool2d}; either way the output is the same.
 *
 * <pre>{@code
 * net.replaceChild("pool1", CodeMaxPool2d.of(pool));   // SimQAT.convert installs it
 * }</pre>
 */
public final class CodeMaxPool2d extends MaxPool2d implements CodeProducer {
    private CodeMaxPool2d(MaxPool2d p) {
        super(p.kernelH(), p.kernelW(), p.strideH(), p.strideW(), p.paddingH(), p.paddingW());
    }

    /** The code-carrying form of {@code pool} (same window). */
    public static CodeMaxPool2d of(MaxPool2d pool) {
        return new CodeMaxPool2d(pool);
    }

    @Override
    protected Tensor compute(Tensor x) {
        var in = OpTrace.active() || x.rank() != 4 ? null : GridCodes.lookup(x);
        if (in == null) return super.compute(x);
        int[] xs = x.shape();
        int kH = kernelH(), kW = kernelW(), sH = strideH(), sW = strideW(), pH = paddingH(), pW = paddingW();
        if (pH > kH / 2 || pW > kW / 2 || xs[2] + 2 * pH < kH || xs[3] + 2 * pW < kW) return super.compute(x); // its error message
        int h = xs[2], w = xs[3], oh = (h + 2 * pH - kH) / sH + 1, ow = (w + 2 * pW - kW) / sW + 1, planes = xs[0] * xs[1];
        QuantParams grid = in.getKey();
        byte[] codes = pool(in.getValue(), grid.signed(), planes, h, w, kH, kW, sH, sW, pH, pW, oh, ow);
        float[] y = floatsOnDemand ? null : new float[codes.length];
        if (y != null) Int8Ops.chunks(codes.length, (from, to) -> Int8Ops.dequantize(codes, grid, y, from, to));
        return GridCodes.output(y, codes, grid, null, xs[0], xs[1], oh, ow);
    }

    private volatile boolean floatsOnDemand;

    @Override
    public boolean floatsOnDemand() {
        return floatsOnDemand;
    }

    @Override
    public void floatsOnDemand(boolean onDemand) {
        floatsOnDemand = onDemand;
    }

    /**
     * Max pooling of 8-bit codes {@code [planes, h, w]} (signed or unsigned order); padding never wins (a floor-mode
     * window always holds an input element, since padding is at most half the kernel).
     */
    static byte[] pool(byte[] x, boolean signed, int planes, int h, int w, int kH, int kW, int sH, int sW, int pH, int pW, int oh, int ow) {
        byte[] out = new byte[planes * oh * ow];
        int flip = signed ? 0x80 : 0; // signed order as unsigned: flip the top bit
        if (kH == 2 && kW == 2 && sH == 2 && sW == 2 && pH == 0 && pW == 0 && w % 2 == 0 && Kernels.vector()) {
            pool2x2(x, flip, planes, h, w, oh, out);
            return out;
        }
        Parallel.forEach(planes, pl -> {
            int in = pl * h * w, o = pl * oh * ow;
            if (kH == 2 && kW == 2 && sH == 2 && sW == 2 && pH == 0 && pW == 0) { // LeNet's pooling: no window bounds to check
                for (int oy = 0; oy < oh; oy++) {
                    int r0 = in + 2 * oy * w, r1 = r0 + w, d = o + oy * ow;
                    for (int ox = 0; ox < ow; ox++) {
                        int a = Math.max((x[r0 + 2 * ox] & 0xFF) ^ flip, (x[r0 + 2 * ox + 1] & 0xFF) ^ flip);
                        int b = Math.max((x[r1 + 2 * ox] & 0xFF) ^ flip, (x[r1 + 2 * ox + 1] & 0xFF) ^ flip);
                        out[d + ox] = (byte) (Math.max(a, b) ^ flip);
                    }
                }
                return;
            }
            for (int oy = 0; oy < oh; oy++) {
                int y0 = oy * sH - pH, yLo = Math.max(0, y0), yHi = Math.min(h, y0 + kH);
                for (int ox = 0; ox < ow; ox++) {
                    int x0 = ox * sW - pW, xLo = Math.max(0, x0), xHi = Math.min(w, x0 + kW), m = 0;
                    for (int iy = yLo; iy < yHi; iy++) {
                        int r = in + iy * w;
                        for (int ix = xLo; ix < xHi; ix++) m = Math.max(m, (x[r + ix] & 0xFF) ^ flip);
                    }
                    out[o + oy * ow + ox] = (byte) (m ^ flip);
                }
            }
        });
        return out;
    }

    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Byte> HALF_B = VectorSpecies.of(byte.class, VectorShape.forBitSize(B.vectorBitSize() / 2));

    /**
     * LeNet's 2×2 stride-2 pooling over even-width planes (LeNet's pooling), in vector lanes: the rows are even, so the
     * horizontal pairs of a plane are the pairs of its flat byte run; their maxima (as 16-bit lanes: low byte against
     * high byte) go to a small buffer, then each output is the larger of two buffered rows.
     */
    private static void pool2x2(byte[] x, int flip, int planes, int h, int w, int oh, byte[] out) {
        int ow = w / 2, half = h * ow, per = Math.max(1, 16384 / (h * w)); // planes per task: a buffer in L1
        Parallel.forEach((planes + per - 1) / per, task -> {
            int p0 = task * per, p1 = Math.min(planes, p0 + per), n = (p1 - p0) * half;
            byte[] pairs = new byte[n]; // pairs[k] = max of x[2k], x[2k+1] in unsigned order (flipped for signed grids)
            int src = p0 * h * w, k = 0;
            for (; k + HALF_B.length() <= n; k += HALF_B.length()) {
                ByteVector b = ByteVector.fromArray(B, x, src + 2 * k);
                if (flip != 0) b = b.lanewise(VectorOperators.XOR, (byte) flip);
                ShortVector s = (ShortVector) b.reinterpretAsShorts();
                ShortVector m = s.and((short) 0xFF).max(s.lanewise(VectorOperators.LSHR, 8));
                ((ByteVector) m.convertShape(VectorOperators.S2B, HALF_B, 0)).intoArray(pairs, k);
            }
            for (; k < n; k++) pairs[k] = (byte) Math.max((x[src + 2 * k] & 0xFF) ^ flip, (x[src + 2 * k + 1] & 0xFF) ^ flip);
            for (int pl = p0; pl < p1; pl++) {
                int in = (pl - p0) * half, o = pl * oh * ow;
                for (int oy = 0; oy < oh; oy++) {
                    int a = in + 2 * oy * ow, d = o + oy * ow;
                    for (int ox = 0; ox < ow; ox++) out[d + ox] = (byte) (Math.max(pairs[a + ox] & 0xFF, pairs[a + ow + ox] & 0xFF) ^ flip);
                }
            }
        });
    }
}
