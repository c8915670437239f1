package org.goldenstick.nn;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.goldenstick.GradCheck;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The layers the ONNX importer adds (ConstantPad, Permute, Softmax and its opset-12 form, HardSigmoid, Clip, Tanh,
 * rectangular pools) against float64 references written here, and their gradients against finite differences.
 */
class ImportLayersTest {
    private static Tensor input(long seed, int... shape) {
        return Tensor.randn(new Random(seed), shape).requiresGrad(true);
    }

    @Test
    void constantPadPadsAndCropsEachAxis() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 1, 1, 2, 3);
        // one row above, none below; crop one column on the left, add two on the right, value 9
        Tensor y = new ConstantPad(new int[] {0, 0, 1, -1, 0, 0, 0, 2}, 9f).forward(x);
        assertArrayEquals(new int[] {1, 1, 3, 4}, y.shape());
        assertArrayEquals(new float[] {9, 9, 9, 9, 2, 3, 9, 9, 5, 6, 9, 9}, y.data());
        GradCheck.check("ConstantPad", t -> new ConstantPad(new int[] {0, 0, 2, 1, 0, 0, 1, 0}, 0.5f).forward(t[0]), input(1, 2, 2, 3, 3));
    }

    @Test
    void permuteReordersAxes() {
        Tensor x = input(2, 2, 3, 4);
        Tensor y = new Permute(2, 0, 1).forward(x);
        assertArrayEquals(new int[] {4, 2, 3}, y.shape());
        for (int a = 0; a < 2; a++) for (int b = 0; b < 3; b++) for (int c = 0; c < 4; c++) assertEquals(x.get(a, b, c), y.get(c, a, b));
        assertThrows(IllegalArgumentException.class, () -> new Permute(0, 0, 1));
        GradCheck.check("Permute", t -> new Permute(1, 2, 0).forward(t[0]), input(3, 2, 3, 4));
    }

    @Test
    void softmaxAndItsCoercedForm() {
        Tensor x = input(4, 2, 3, 4);
        float[] d = x.data();
        // coerced at axis 1: each sample's 12 values normalised together
        Tensor y = Softmax.coerced(1).forward(x);
        for (int n = 0; n < 2; n++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int i = 0; i < 12; i++) max = Math.max(max, d[n * 12 + i]);
            for (int i = 0; i < 12; i++) sum += Math.exp(d[n * 12 + i] - max);
            for (int i = 0; i < 12; i++) assertEquals(Math.exp(d[n * 12 + i] - max) / sum, y.data()[n * 12 + i], 1e-6);
        }
        Tensor z = new Softmax(1).forward(x);   // over the 3 entries of axis 1
        for (int n = 0; n < 2; n++) {
            for (int k = 0; k < 4; k++) {
                double sum = 0;
                for (int c = 0; c < 3; c++) sum += Math.exp(d[n * 12 + c * 4 + k]);
                for (int c = 0; c < 3; c++) assertEquals(Math.exp(d[n * 12 + c * 4 + k]) / sum, z.data()[n * 12 + c * 4 + k], 1e-6);
            }
        }
        GradCheck.check("Softmax coerced", t -> Softmax.coerced(1).forward(t[0]), input(5, 2, 3, 2));
    }

    @Test
    void hardSigmoidClipAndTanh() {
        Tensor x = Tensor.of(new float[] {-4, -1, 0, 0.5f, 3}, 5);
        assertArrayEquals(new float[] {0, 0.3f, 0.5f, 0.6f, 1}, new HardSigmoid(0.2f, 0.5f).forward(x).data(), 1e-6f);
        assertArrayEquals(new float[] {-1, -1, 0, 0.5f, 2}, new Clip(-1, 2).forward(x).data());
        assertArrayEquals(new float[] {-4, -1, 0, 0.5f, 3}, new Clip(Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY).forward(x).data());
        for (int i = 0; i < 5; i++) assertEquals(Math.tanh(x.data()[i]), new Tanh().forward(x).data()[i], 1e-6);
        assertThrows(IllegalArgumentException.class, () -> new Clip(2, 1));
        GradCheck.check("HardSigmoid", t -> new HardSigmoid(0.3f, 0.4f).forward(t[0]), Tensor.of(new float[] {-3, -0.7f, 0.2f, 1.1f, 3}, 5).requiresGrad(true));
    }

    @Test
    void rectangularPools() {
        Tensor x = input(6, 1, 2, 4, 5);
        Tensor m = new MaxPool2d(2, 3, 2, 1, 0, 1).forward(x);   // 2×3 window, stride 2×1, padding 0×1
        assertArrayEquals(new int[] {1, 2, 2, 5}, m.shape());
        Tensor a = new AvgPool2d(2, 1, 1, 1, 0, 0, true).forward(x);
        assertArrayEquals(new int[] {1, 2, 3, 5}, a.shape());
        for (int c = 0; c < 2; c++) {
            for (int h = 0; h < 2; h++) {
                for (int w = 0; w < 5; w++) {
                    double best = Double.NEGATIVE_INFINITY;
                    for (int i = 0; i < 2; i++) for (int j = -1; j < 2; j++) if (w + j >= 0 && w + j < 5) best = Math.max(best, x.get(0, c, 2 * h + i, w + j));
                    assertEquals(best, m.get(0, c, h, w), 1e-6);
                }
            }
            for (int h = 0; h < 3; h++) for (int w = 0; w < 5; w++) assertEquals((x.get(0, c, h, w) + x.get(0, c, h + 1, w)) / 2, a.get(0, c, h, w), 1e-6);
        }
    }
}
