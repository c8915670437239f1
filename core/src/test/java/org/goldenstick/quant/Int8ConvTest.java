package org.goldenstick.quant;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.goldenstick.nn.ReLU;
import org.goldenstick.nn.ReLU6;
import org.goldenstick.tensor.Conv2dSpec;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.Kernels;
import org.junit.jupiter.api.Test;

/**
 * The image-by-image integer convolution ({@link Int8Conv}, vector and scalar path) against the im2col + integer GEMM
 * reference ({@link QConv2d#convIntegerRows} with the scalar {@code Int8Gemm}), bit for bit, and deploy chains that
 * carry int8 codes between layers against the same chain computed from the floats.
 */
class Int8ConvTest {
    record Case(int n, int c, int h, int w, int out, int kH, int kW, Conv2dSpec spec) {}

    static final Case[] CASES = {
            new Case(3, 1, 28, 28, 6, 5, 5, Conv2dSpec.of(1, 2, 1, 1)),          // LeNet conv1
            new Case(2, 6, 14, 14, 16, 5, 5, Conv2dSpec.of(1, 0, 1, 1)),         // LeNet conv2
            new Case(2, 40, 7, 9, 7, 3, 3, Conv2dSpec.of(1, 1, 1, 1)),           // k = 360 > one float block
            new Case(2, 16, 9, 9, 32, 3, 3, Conv2dSpec.of(2, 1, 1, 1)),          // stride 2
            new Case(2, 16, 8, 8, 32, 1, 1, Conv2dSpec.of(2, 0, 1, 1)),          // 1x1 shortcut
            new Case(2, 12, 10, 10, 12, 3, 3, Conv2dSpec.of(1, 1, 1, 12)),       // depthwise (direct kernel)
            new Case(2, 5, 9, 13, 5, 5, 3, new Conv2dSpec(1, 1, 2, 0, 1, 1, 1, 1, 5)), // depthwise, asymmetric pad, odd widths
            new Case(1, 6, 4, 4, 6, 3, 3, Conv2dSpec.of(1, 1, 1, 6)),            // depthwise, rows shorter than a vector
            new Case(2, 8, 11, 11, 8, 3, 3, Conv2dSpec.of(2, 1, 1, 8)),          // depthwise stride 2 (column phases)
            new Case(1, 6, 10, 13, 6, 5, 5, new Conv2dSpec(2, 2, 2, 1, 1, 2, 1, 1, 6)), // depthwise stride 2, 5x5, asymmetric pad
            new Case(1, 4, 16, 16, 4, 3, 3, Conv2dSpec.of(3, 1, 1, 4)),          // depthwise stride 3
            new Case(1, 4, 9, 9, 4, 3, 3, new Conv2dSpec(2, 1, 1, 1, 1, 1, 1, 1, 4)), // depthwise, unequal strides (unfolded)
            new Case(1, 8, 11, 7, 6, 3, 2, new Conv2dSpec(2, 1, 2, 0, 1, 3, 2, 1, 2)), // grouped, asymmetric pad, dilation
            new Case(2, 24, 8, 8, 36, 1, 1, Conv2dSpec.of(1, 0, 1, 1)),         // 1x1 stride 1: planes as the rows, 36 -> 36 rows
            new Case(2, 3, 32, 32, 16, 3, 3, Conv2dSpec.of(1, 1, 1, 1)),        // wide rows (34 of 32 columns used), several pixel panels
            new Case(1, 4, 9, 12, 10, 3, 3, new Conv2dSpec(1, 1, 2, 1, 0, 3, 2, 1, 1)), // wide rows, asymmetric pad, dilation 2x1, 10 -> 12 rows
            new Case(1, 5, 6, 6, 9, 5, 5, Conv2dSpec.of(1, 0, 1, 1)),           // stride 1 but overhang over a third of the row: unfolded
            new Case(2, 16, 8, 8, 16, 3, 3, Conv2dSpec.of(1, 1, 1, 1)),        // ResNet-20's 8x8 stage: compact rows (long copies)
            new Case(2, 8, 16, 16, 16, 3, 3, Conv2dSpec.of(2, 1, 1, 1)),       // stride 2 (phase planes, two column phases at once)
            new Case(1, 6, 13, 11, 8, 1, 1, Conv2dSpec.of(2, 0, 1, 1)),        // 1x1 stride 2: one phase, odd sizes
            new Case(1, 3, 19, 21, 8, 3, 3, new Conv2dSpec(3, 2, 2, 1, 0, 1, 1, 1, 1)), // stride 3x2, asymmetric pad, odd widths
            new Case(1, 2, 23, 37, 4, 3, 3, new Conv2dSpec(2, 2, 1, 1, 1, 1, 1, 1, 1)), // stride 2, long rows (several 16-byte chunks and a tail)
    };

    /** The vector path's byte layouts: the automatic choice, then each one wherever it applies. */
    static final Int8Conv.Layout[] LAYOUTS = Int8Conv.Layout.values();

    @Test
    void convIntegerMatchesReferenceOnBothPaths() {
        Random rng = new Random(5);
        for (Case t : CASES) {
            for (boolean xUnsigned : new boolean[] {true, false}) {
                for (boolean wUnsigned : new boolean[] {false, true}) {
                    byte[] x = new byte[t.n * t.c * t.h * t.w], w = new byte[t.out * (t.c / t.spec.groups()) * t.kH * t.kW];
                    rng.nextBytes(x);
                    rng.nextBytes(w);
                    int zx = xUnsigned ? rng.nextInt(256) : rng.nextInt(256) - 128;
                    int[] zw = new int[t.out];
                    for (int o = 0; o < t.out; o++) zw[o] = wUnsigned ? rng.nextInt(256) : rng.nextInt(256) - 128;
                    int[] xs = {t.n, t.c, t.h, t.w}, wsh = {t.out, t.c / t.spec.groups(), t.kH, t.kW};
                    int[] expected;
                    boolean was = Kernels.useVector(false);
                    try {
                        expected = QConv2d.convInteger(x, xUnsigned, zx, xs, w, wUnsigned, zw, wsh, t.spec);
                    } finally {
                        Kernels.useVector(was);
                    }
                    for (Int8Conv.Layout layout : LAYOUTS) for (boolean vector : new boolean[] {true, false}) {
                        if (!vector && layout != Int8Conv.Layout.AUTO) continue;
                        boolean before = Kernels.useVector(vector);
                        Int8Conv.Layout layoutBefore = Int8Conv.layout;
                        Int8Conv.layout = layout;
                        try {
                            int[] os = QConv2d.outputShape(xs, wsh, t.spec);
                            int hw = os[2] * os[3];
                            int[] got = new int[expected.length];
                            Int8Conv.Weights prepared = Int8Conv.Weights.of(w, wUnsigned, zw, wsh, t.spec.groups());
                            int[] corr = Int8Conv.zeroPointCorrection(prepared, xUnsigned, zx);
                            Int8Conv.run(x, xUnsigned, zx, xs, prepared, t.spec, (img, acc, ld, pitch) -> {
                                for (int o = 0; o < t.out; o++)
                                    for (int oy = 0; oy < os[2]; oy++)
                                        for (int ox = 0; ox < os[3]; ox++) got[(img * t.out + o) * hw + oy * os[3] + ox] = acc[o * ld + oy * pitch + ox] + corr[o];
                            });
                            assertArrayEquals(expected, got, t + " xUnsigned=" + xUnsigned + " wUnsigned=" + wUnsigned + " vector=" + vector + " layout=" + layout);
                        } finally {
                            Kernels.useVector(before);
                            Int8Conv.layout = layoutBefore;
                        }
                    }
                }
            }
        }
    }

    /**
     * Rows whose products could sum past 2^24 (k = 1440 weights of −127) are summed in float blocks of {@link Int8Conv#KB};
     * smaller rows in one block. Both equal the integer reference at the extremes of the codes.
     */
    @Test
    void floatBlocksStayExactAtExtremeWeights() {
        Random rng = new Random(8);
        for (int c : new int[] {160, 64}) {
            Case t = new Case(2, c, 5, 5, 8, 3, 3, Conv2dSpec.of(1, 1, 1, 1));
            byte[] x = new byte[t.n * t.c * t.h * t.w], w = new byte[t.out * t.c * 9];
            // odd products of one sign mostly (stored 127 or −127 times −127): a row's sum passes 2^24 at k = 1440 and is odd
            for (int i = 0; i < x.length; i++) x[i] = (byte) (rng.nextInt(10) == 0 ? 1 : 255);
            java.util.Arrays.fill(w, (byte) -127);
            int[] xs = {t.n, t.c, t.h, t.w}, wsh = {t.out, t.c, 3, 3}, zw = {0};
            Int8Conv.Weights prepared = Int8Conv.Weights.of(w, false, zw, wsh, 1);
            assertEquals(c == 160 ? Int8Conv.KB : c * 9, prepared.block(), "block length for k = " + c * 9);
            int[] expected;
            boolean was = Kernels.useVector(false);
            try {
                expected = QConv2d.convInteger(x, true, 0, xs, w, false, zw, wsh, t.spec);
            } finally {
                Kernels.useVector(was);
            }
            int[] os = QConv2d.outputShape(xs, wsh, t.spec), got = new int[expected.length];
            int hw = os[2] * os[3];
            int[] corr = Int8Conv.zeroPointCorrection(prepared, true, 0);
            Int8Conv.run(x, true, 0, xs, prepared, t.spec, (img, acc, ld, pitch) -> {
                for (int o = 0; o < t.out; o++)
                    for (int oy = 0; oy < os[2]; oy++)
                        for (int ox = 0; ox < os[3]; ox++) got[(img * t.out + o) * hw + oy * os[3] + ox] = acc[o * ld + oy * pitch + ox] + corr[o];
            });
            assertArrayEquals(expected, got, "k = " + c * 9);
        }
    }

    static QConv2d layer(Random rng, Case t, QuantParams in, QuantParams out) {
        Tensor w = Tensor.randn(rng, t.out, t.c / t.spec.groups(), t.kH, t.kW), b = Tensor.randn(rng, t.out);
        return QConv2d.quantize(w, b, t.spec, DeployLayersTest.perChannelSym(w.data(), t.out), in, out);
    }

    @Test
    void qconvForwardEqualsReferenceBitForBit() {
        Random rng = new Random(6);
        QuantParams u8 = QuantMath.calQuantizationParams(new float[] {-2f}, new float[] {3f}, 8, false, false, false, -1);
        QuantParams s8 = QuantMath.calQuantizationParams(new float[] {-6f}, new float[] {5f}, 8, true, false, false, -1);
        for (Case t : CASES) {
            Tensor x = Tensor.randn(rng, t.n, t.c, t.h, t.w);
            for (QuantParams in : new QuantParams[] {u8, s8}) {
                for (QuantParams out : new QuantParams[] {u8, s8, null}) {
                    QConv2d q = layer(rng, t, in, out);
                    float[] expected;
                    boolean was = Kernels.useVector(false);
                    try {
                        expected = q.referenceForward(x).data();
                    } finally {
                        Kernels.useVector(was);
                    }
                    for (boolean vector : new boolean[] {true, false}) {
                        boolean before = Kernels.useVector(vector);
                        try {
                            assertArrayEquals(expected, q.forward(x).data(), t + " in=" + in + " out=" + out + " vector=" + vector);
                        } finally {
                            Kernels.useVector(before);
                        }
                    }
                }
            }
        }
    }

    @Test
    void chainCarriesCodesAndEqualsTheFloatChain() {
        Random rng = new Random(7);
        QuantParams c1out = QuantMath.calQuantizationParams(new float[] {-4f}, new float[] {4f}, 8, true, false, false, -1);
        QuantParams reluOut = QuantMath.calQuantizationParams(new float[] {0f}, new float[] {3f}, 8, false, false, false, -1);
        QuantParams in = QuantMath.calQuantizationParams(new float[] {-2f}, new float[] {2f}, 8, false, false, false, -1);
        Case a = new Case(2, 3, 12, 12, 8, 3, 3, Conv2dSpec.of(1, 1, 1, 1)), b = new Case(2, 8, 12, 12, 5, 3, 3, Conv2dSpec.of(1, 1, 1, 1));
        QConv2d conv1 = layer(rng, a, in, c1out), conv2 = layer(rng, b, reluOut, null);
        for (var act : new org.goldenstick.nn.Module[] {new ReLU(), new ReLU6()}) {
            QuantDequant relu = new QuantDequant(act, reluOut);
            Tensor x = Tensor.randn(rng, 2, 3, 12, 12);
            Tensor h1 = conv1.forward(x);
            assertNotNull(GridCodes.codes(h1, c1out), "the conv's output codes are remembered");
            Tensor h2 = relu.forward(h1);
            assertArrayEquals(Int8Ops.quantizeActivations(h2.data(), reluOut), GridCodes.codes(h2, reluOut), "codes from the table are the values' codes");
            float[] fromCodes = conv2.forward(h2).data();
            // the same chain from copies of the floats (no remembered codes): activation, quantize, dequantize, reference conv
            Tensor a1 = act.forward(Tensor.of(h1.data().clone(), h1.shape()));
            Tensor r = Tensor.of(Int8Ops.dequantizeActivations(Int8Ops.quantizeActivations(a1.data(), reluOut), reluOut), a1.shape());
            assertArrayEquals(h2.data(), r.data());
            assertArrayEquals(conv2.referenceForward(r).data(), fromCodes);
        }
    }
}
