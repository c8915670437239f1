package org.goldenstick.tensor;

import static org.goldenstick.GradCheck.check;
import static org.goldenstick.GradCheck.param;
import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.goldenstick.tensor.kernel.Kernels;
import org.junit.jupiter.api.Test;

class ConvTest {
    /** Direct 7-loop convolution in float64, written from the definition. */
    static double[] referenceConv(Tensor x, Tensor w, Tensor b, Conv2dSpec s, int[] outShape) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3);
        int o = w.dim(0), cg = w.dim(1), kh = w.dim(2), kw = w.dim(3);
        int og = o / s.groups();
        int oh = (h + s.padTop() + s.padBottom() - s.dilationH() * (kh - 1) - 1) / s.strideH() + 1;
        int ow = (wd + s.padLeft() + s.padRight() - s.dilationW() * (kw - 1) - 1) / s.strideW() + 1;
        outShape[0] = n;
        outShape[1] = o;
        outShape[2] = oh;
        outShape[3] = ow;
        double[] y = new double[n * o * oh * ow];
        for (int i = 0; i < n; i++)
            for (int oc = 0; oc < o; oc++) {
                int grp = oc / og;
                for (int yy = 0; yy < oh; yy++)
                    for (int xx = 0; xx < ow; xx++) {
                        double acc = b == null ? 0 : b.data()[oc];
                        for (int ci = 0; ci < cg; ci++)
                            for (int ky = 0; ky < kh; ky++)
                                for (int kx = 0; kx < kw; kx++) {
                                    int iy = yy * s.strideH() - s.padTop() + ky * s.dilationH();
                                    int ix = xx * s.strideW() - s.padLeft() + kx * s.dilationW();
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                                    acc += (double) x.get(i, grp * cg + ci, iy, ix) * w.get(oc, ci, ky, kx);
                                }
                        y[((i * o + oc) * oh + yy) * ow + xx] = acc;
                    }
            }
        return y;
    }

    record Case(String name, int[] xShape, int[] wShape, boolean bias, Conv2dSpec spec) {}

    static final List<Case> CASES = List.of(
            new Case("3x3 valid", new int[] {2, 3, 6, 5}, new int[] {4, 3, 3, 3}, true, Conv2dSpec.of(1, 0, 1, 1)),
            new Case("3x3 stride2 pad1", new int[] {2, 3, 7, 6}, new int[] {5, 3, 3, 3}, true, Conv2dSpec.of(2, 1, 1, 1)),
            new Case("asymmetric pads, strides, dilations", new int[] {2, 2, 7, 8}, new int[] {3, 2, 3, 2}, true,
                    new Conv2dSpec(2, 1, 1, 0, 2, 1, 1, 2, 1)),
            new Case("groups 2 dilation 2", new int[] {2, 4, 7, 7}, new int[] {6, 2, 3, 3}, false, Conv2dSpec.of(1, 2, 2, 2)),
            new Case("depthwise stride 2", new int[] {3, 4, 6, 6}, new int[] {4, 1, 3, 3}, true, Conv2dSpec.of(2, 1, 1, 4)),
            new Case("depthwise 3x3 pad 1, rows wider than a vector", new int[] {2, 3, 5, 37}, new int[] {3, 1, 3, 3}, true, Conv2dSpec.of(1, 1, 1, 3)),
            new Case("depthwise 5x5 pad 2, no bias", new int[] {2, 2, 6, 19}, new int[] {2, 1, 5, 5}, false, Conv2dSpec.of(1, 2, 1, 2)),
            new Case("depthwise asymmetric pads and strides", new int[] {2, 3, 7, 9}, new int[] {3, 1, 3, 2}, true, new Conv2dSpec(2, 1, 1, 0, 0, 1, 1, 1, 3)),
            new Case("depthwise dilation 2 (im2col path)", new int[] {2, 3, 7, 7}, new int[] {3, 1, 3, 3}, true, Conv2dSpec.of(1, 2, 2, 3)),
            new Case("1x1 direct", new int[] {2, 5, 4, 3}, new int[] {3, 5, 1, 1}, true, Conv2dSpec.of(1, 0, 1, 1)),
            new Case("1x1 stride 2", new int[] {2, 3, 5, 5}, new int[] {4, 3, 1, 1}, false, Conv2dSpec.of(2, 0, 1, 1)),
            new Case("stride 1, asymmetric pads, dilation 2x1", new int[] {2, 3, 6, 7}, new int[] {2, 3, 2, 3}, true,
                    new Conv2dSpec(1, 1, 0, 2, 1, 0, 2, 1, 1)),
            new Case("stride 1 pad 1, rows, channels and columns past a register tile", new int[] {2, 7, 9, 13}, new int[] {7, 7, 3, 3}, true,
                    Conv2dSpec.of(1, 1, 1, 1)),
            new Case("stride 1, more output channels than a register panel", new int[] {2, 3, 6, 7}, new int[] {33, 3, 3, 3}, false, Conv2dSpec.of(1, 1, 1, 1)),
            new Case("1x1 stride 1 pad 1 (padding past the kernel extent)", new int[] {2, 3, 4, 5}, new int[] {4, 3, 1, 1}, false, Conv2dSpec.of(1, 1, 1, 1)),
            new Case("3x3 stride 2 pad 1, more output channels than a register panel (phase planes, transposed dW)", new int[] {2, 3, 9, 10},
                    new int[] {33, 3, 3, 3}, true, Conv2dSpec.of(2, 1, 1, 1)),
            new Case("1x1 stride 2, more output channels than a register panel (one phase plane)", new int[] {2, 4, 8, 7}, new int[] {34, 4, 1, 1},
                    false, Conv2dSpec.of(2, 0, 1, 1)),
            new Case("stride 3x2, dilation 2, asymmetric pads (phases of both strides)", new int[] {2, 2, 11, 9}, new int[] {5, 2, 3, 3}, true,
                    new Conv2dSpec(3, 2, 2, 1, 0, 2, 2, 2, 1)),
            new Case("stride 1 pad 1, 16 output channels (one-vector transposed dW)", new int[] {2, 3, 7, 9}, new int[] {16, 3, 3, 3}, false,
                    Conv2dSpec.of(1, 1, 1, 1)),
            new Case("3x3 stride 2 pad 1, 20 output channels (one-vector panel tail)", new int[] {2, 5, 9, 8}, new int[] {20, 5, 3, 3}, true,
                    Conv2dSpec.of(2, 1, 1, 1)),
            new Case("many images (batch chunks)", new int[] {11, 2, 4, 4}, new int[] {3, 2, 2, 2}, true, Conv2dSpec.of(1, 1, 1, 1)));

    @Test
    void forwardMatchesFloat64ReferenceOnBothKernelPathsAndBothIm2colLayouts() {
        for (Conv.WideMode mode : new Conv.WideMode[] {Conv.WideMode.OFF, Conv.WideMode.ALWAYS})
            for (boolean vector : new boolean[] {true, false}) forward(mode, vector);
    }

    private static void forward(Conv.WideMode mode, boolean vector) {
        {
            boolean was = Kernels.useVector(vector);
            Conv.WideMode before = Conv.wideMode;
            Conv.wideMode = mode;
            try {
                int seed = 0;
                for (Case cs : CASES) {
                    Tensor x = param(++seed, cs.xShape), w = param(++seed, cs.wShape), b = cs.bias ? param(++seed, cs.wShape[0]) : null;
                    int[] os = new int[4];
                    double[] ref = referenceConv(x, w, b, cs.spec, os);
                    Tensor y = Functional.conv2d(x, w, b, cs.spec);
                    assertArrayEquals(os, y.shape(), cs.name);
                    for (int i = 0; i < ref.length; i++) assertEquals(ref[i], y.data()[i], 1e-4 * (1 + Math.abs(ref[i])), cs.name + " (vector=" + vector + ", " + mode + ") at " + i);
                }
            } finally {
                Kernels.useVector(was);
                Conv.wideMode = before;
            }
        }
    }

    @Test
    void gradientsMatchFiniteDifferencesOnBothKernelPathsAndBothIm2colLayouts() {
        for (Conv.WideMode mode : new Conv.WideMode[] {Conv.WideMode.OFF, Conv.WideMode.ALWAYS})
            for (boolean vector : new boolean[] {true, false}) gradients(mode, vector);
    }

    private static void gradients(Conv.WideMode mode, boolean vector) {
        {
            boolean was = Kernels.useVector(vector);
            Conv.WideMode before = Conv.wideMode;
            Conv.wideMode = mode;
            try {
                int seed = 100;
                for (Case cs : CASES) {
                    Tensor x = param(++seed, cs.xShape), w = param(++seed, cs.wShape);
                    String name = "conv2d " + cs.name + " vector=" + vector + " " + mode;
                    if (cs.bias) check(name, t -> Functional.conv2d(t[0], t[1], t[2], cs.spec), x, w, param(++seed, cs.wShape[0]));
                    else check(name, t -> Functional.conv2d(t[0], t[1], null, cs.spec), x, w);
                }
            } finally {
                Kernels.useVector(was);
                Conv.wideMode = before;
            }
        }
    }

    /**
     * An input read by two convolutions: the first backward writes its gradient fresh, the second adds to it, on every
     * path (wide with flipped weights, col2im, direct 1×1, depthwise).
     */
    @Test
    void inputReadTwiceGetsBothGradientsOnBothKernelPaths() {
        for (Conv.WideMode mode : new Conv.WideMode[] {Conv.WideMode.OFF, Conv.WideMode.ALWAYS})
            for (boolean vector : new boolean[] {true, false}) {
                boolean was = Kernels.useVector(vector);
                Conv.WideMode before = Conv.wideMode;
                Conv.wideMode = mode;
                try {
                    int seed = 300;
                    for (Case cs : CASES) {
                        Tensor x = param(++seed, cs.xShape), w1 = param(++seed, cs.wShape), w2 = param(++seed, cs.wShape);
                        check("conv2d twice " + cs.name + " vector=" + vector + " " + mode,
                                t -> Functional.conv2d(t[0], t[1], null, cs.spec).add(Functional.conv2d(t[0], t[2], null, cs.spec)), x, w1, w2);
                    }
                } finally {
                    Kernels.useVector(was);
                    Conv.wideMode = before;
                }
            }
    }

    @Test
    void gradientOnlyForTheInputsThatNeedIt() {
        Tensor x = Tensor.randn(new java.util.Random(1), 2, 3, 5, 5); // frozen input
        Tensor w = param(2, 4, 3, 3, 3);
        Functional.conv2d(x, w, null, Conv2dSpec.of(1, 1, 1, 1)).sum().backward();
        assertFalse(x.hasGrad());
        assertTrue(w.hasGrad());
    }

    @Test
    void shapeErrorsNameOpAndBothShapes() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> Functional.conv2d(Tensor.zeros(1, 3, 8, 8), Tensor.zeros(4, 2, 3, 3), null, Conv2dSpec.of(1, 0, 1, 1)));
        assertTrue(e.getMessage().contains("conv2d") && e.getMessage().contains("[1, 3, 8, 8]") && e.getMessage().contains("[4, 2, 3, 3]"), e.getMessage());
        var big = assertThrows(IllegalArgumentException.class,
                () -> Functional.conv2d(Tensor.zeros(1, 1, 2, 2), Tensor.zeros(1, 1, 5, 5), null, Conv2dSpec.of(1, 0, 1, 1)));
        assertTrue(big.getMessage().contains("conv2d") && big.getMessage().contains("[1, 1, 2, 2]") && big.getMessage().contains("[1, 1, 5, 5]"), big.getMessage());
        var rank = assertThrows(IllegalArgumentException.class,
                () -> Functional.conv2d(Tensor.zeros(3, 8, 8), Tensor.zeros(4, 3, 3, 3), null, Conv2dSpec.of(1, 0, 1, 1)));
        assertTrue(rank.getMessage().contains("[3, 8, 8]") && rank.getMessage().contains("[4, 3, 3, 3]"), rank.getMessage());
        var bias = assertThrows(IllegalArgumentException.class,
                () -> Functional.conv2d(Tensor.zeros(1, 3, 8, 8), Tensor.zeros(4, 3, 3, 3), Tensor.zeros(5), Conv2dSpec.of(1, 0, 1, 1)));
        assertTrue(bias.getMessage().contains("bias") && bias.getMessage().contains("[5]"), bias.getMessage());
        var groups = assertThrows(IllegalArgumentException.class,
                () -> Functional.conv2d(Tensor.zeros(1, 4, 8, 8), Tensor.zeros(3, 2, 3, 3), null, Conv2dSpec.of(1, 0, 1, 2)));
        assertTrue(groups.getMessage().contains("groups=2"), groups.getMessage());
    }

    @Test
    void specValidation() {
        assertThrows(IllegalArgumentException.class, () -> Conv2dSpec.of(0, 0, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> Conv2dSpec.of(1, -1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> Conv2dSpec.of(1, 0, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> Conv2dSpec.of(1, 0, 1, 0));
        Conv2dSpec s = Conv2dSpec.of(2, 1, 1, 1);
        assertEquals(new Conv2dSpec(2, 2, 1, 1, 1, 1, 1, 1, 1), s);
        assertEquals(16, s.outHeight(32, 3));
    }
}
