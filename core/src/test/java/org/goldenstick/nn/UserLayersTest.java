package org.goldenstick.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import java.util.function.DoubleUnaryOperator;
import org.goldenstick.GradCheck;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The layers a user network needs beyond LeNet/ResNet, each against a float64 reference (forward) and finite
 * differences (gradient): depthwise and grouped conv, ReLU6, hard-swish, sigmoid, leaky ReLU, global average pooling,
 * and concat (an op, used between layers).
 */
class UserLayersTest {
    private static void elementwise(Layer layer, DoubleUnaryOperator ref) {
        Tensor x = Tensor.uniform(new Random(7), -8f, 8f, 2, 3, 4, 5);
        Tensor y = layer.forward(x);
        for (int i = 0; i < x.numel(); i++) assertEquals(ref.applyAsDouble(x.data()[i]), y.data()[i], 1e-6, layer.describe() + " at " + x.data()[i]);
        // finite differences away from the kinks (|x| > 0.05 around 0, ±3 and 6), where the derivative is defined
        Tensor g = Tensor.uniform(new Random(8), 0.1f, 2.5f, 2, 3, 2, 2).requiresGrad(true);
        GradCheck.check(layer.describe() + " (positive)", 1e-3, 2e-2, in -> layer.forward(in[0]), g);
        Tensor n = Tensor.uniform(new Random(9), -2.9f, -0.1f, 2, 3, 2, 2).requiresGrad(true);
        GradCheck.check(layer.describe() + " (negative)", 1e-3, 2e-2, in -> layer.forward(in[0]), n);
    }

    @Test
    void activationLayersMatchFloat64DefinitionsAndFiniteDifferences() {
        elementwise(new ReLU6(), v -> Math.min(6, Math.max(0, v)));
        elementwise(new HardSwish(), v -> v * Math.min(6, Math.max(0, v + 3)) / 6);
        elementwise(new Sigmoid(), v -> 1 / (1 + Math.exp(-v)));
        elementwise(new LeakyReLU(0.1f), v -> v >= 0 ? v : 0.1 * v);
        assertEquals("LeakyReLU(0.1)", new LeakyReLU(0.1f).describe());
    }

    @Test
    void depthwiseAndGroupedConvLayersMatchReferenceAndFiniteDifferences() {
        Random r = new Random(3);
        for (int[] k : new int[][] {{6, 6, 6}, {6, 12, 6}, {6, 9, 3}}) { // depthwise, depthwise ×2 multiplier, grouped
            Conv2d conv = new Conv2d(k[0], k[1], 3, 1, 1, 1, k[2], true, r);
            Tensor x = Tensor.randn(r, 2, k[0], 5, 5);
            double[] ref = LayersTest.conv2dReference(x, conv.weight(), conv.bias(), 1, 1, 1, k[2]);
            Tensor y = conv.forward(x);
            for (int i = 0; i < ref.length; i++) assertEquals(ref[i], y.data()[i], 1e-4, conv.describe());
            Tensor xs = GradCheck.param(4, 1, k[0], 4, 4);
            GradCheck.check(conv.describe(), in -> conv.forward(in[0]), xs, conv.weight());
        }
    }

    @Test
    void globalAveragePoolingAndConcat() {
        Tensor x = Tensor.randn(new Random(5), 2, 3, 4, 5);
        Tensor y = new AdaptiveAvgPool2d(1).forward(x);
        assertArrayEquals(new int[] {2, 3, 1, 1}, y.shape());
        for (int n = 0; n < 2; n++) for (int c = 0; c < 3; c++) {
            double s = 0;
            for (int h = 0; h < 4; h++) for (int w = 0; w < 5; w++) s += x.get(n, c, h, w);
            assertEquals(s / 20, y.get(n, c, 0, 0), 1e-6);
        }
        GradCheck.check("global average pooling", in -> new AdaptiveAvgPool2d(1).forward(in[0]), GradCheck.param(6, 2, 3, 3, 3));
        Tensor a = Tensor.randn(new Random(1), 2, 3, 2, 2), b = Tensor.randn(new Random(2), 2, 5, 2, 2);
        Tensor c = Tensor.concat(1, a, b);
        for (int n = 0; n < 2; n++) for (int ch = 0; ch < 8; ch++) for (int h = 0; h < 2; h++) for (int w = 0; w < 2; w++) {
            assertEquals(ch < 3 ? a.get(n, ch, h, w) : b.get(n, ch - 3, h, w), c.get(n, ch, h, w));
        }
        GradCheck.check("concat on channels", in -> Tensor.concat(1, in[0], in[1]), GradCheck.param(3, 2, 3, 2, 2), GradCheck.param(4, 2, 5, 2, 2));
    }
}
