package org.goldenstick.tensor;

import static org.goldenstick.GradCheck.check;
import static org.goldenstick.GradCheck.param;
import static org.junit.jupiter.api.Assertions.*;

import org.goldenstick.tensor.kernel.Kernels;
import org.junit.jupiter.api.Test;

class LossesTest {
    static double refCrossEntropy(Tensor logits, int[] targets, int ignore) {
        int c = logits.dim(-1), rows = logits.numel() / c;
        double total = 0;
        int counted = 0;
        for (int r = 0; r < rows; r++) {
            if (targets[r] == ignore) continue;
            double sum = 0;
            for (int k = 0; k < c; k++) sum += Math.exp(logits.data()[r * c + k]);
            total += Math.log(sum) - logits.data()[r * c + targets[r]];
            counted++;
        }
        return total / counted;
    }

    @Test
    void crossEntropyForwardAndGradientOnBothKernelPaths() {
        for (boolean vector : new boolean[] {true, false}) {
            boolean was = Kernels.useVector(vector);
            try {
                Tensor logits = param(1, 5, 7);
                int[] targets = {0, 6, 3, 3, 1};
                assertEquals(refCrossEntropy(logits, targets, Integer.MIN_VALUE), Functional.crossEntropy(logits, targets).item(), 1e-5);
                check("crossEntropy", t -> Functional.crossEntropy(t[0], targets), logits);
                Tensor wide = param(2, 4, 45); // rows longer than a vector
                int[] wt = {44, 0, 17, 31};
                assertEquals(refCrossEntropy(wide, wt, Integer.MIN_VALUE), Functional.crossEntropy(wide, wt).item(), 1e-5);
                check("crossEntropy 45 classes vector=" + vector, t -> Functional.crossEntropy(t[0], wt), wide);
                Tensor big = Tensor.of(new float[] {1000f, 0f, -1000f, 3000f, 3000f, 3000f}, 2, 3);
                assertEquals(Math.log(3) / 2, Functional.crossEntropy(big, new int[] {0, 2}).item(), 1e-5);
            } finally {
                Kernels.useVector(was);
            }
        }
    }

    @Test
    void crossEntropyIgnoreIndexForLanguageModels() {
        Tensor logits = param(2, 2, 3, 6); // [B, T, V]
        int[] targets = {1, -100, 5, 0, -100, 2};
        assertEquals(refCrossEntropy(logits, targets, -100), Functional.crossEntropy(logits, targets, -100).item(), 1e-5);
        check("crossEntropy ignoreIndex", t -> Functional.crossEntropy(t[0], targets, -100), logits);
        Tensor l = param(3, 2, 6);
        Functional.crossEntropy(l, new int[] {-100, -100}, -100).backward();
        for (float g : l.grad().data()) assertEquals(0f, g);
    }

    @Test
    void crossEntropyIsStableForLargeLogits() {
        Tensor logits = Tensor.of(new float[] {1000f, 0f, -1000f, 3000f, 3000f, 3000f}, 2, 3);
        float loss = Functional.crossEntropy(logits, new int[] {0, 2}).item();
        assertEquals(Math.log(3) / 2, loss, 1e-5);
    }

    @Test
    void crossEntropyErrors() {
        var e = assertThrows(IllegalArgumentException.class, () -> Functional.crossEntropy(Tensor.zeros(2, 3), new int[] {0, 3}));
        assertTrue(e.getMessage().contains("target 3") && e.getMessage().contains("row 1") && e.getMessage().contains("[2, 3]"), e.getMessage());
        var n = assertThrows(IllegalArgumentException.class, () -> Functional.crossEntropy(Tensor.zeros(2, 3), new int[] {0}));
        assertTrue(n.getMessage().contains("1 targets") && n.getMessage().contains("[2, 3]"), n.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Functional.crossEntropy(Tensor.zeros(2, 3), new int[] {-1, 0}));
    }

    @Test
    void mseForwardGradientAndErrors() {
        Tensor a = param(1, 3, 4), b = param(2, 3, 4);
        double s = 0;
        for (int i = 0; i < 12; i++) s += Math.pow(a.data()[i] - b.data()[i], 2);
        assertEquals(s / 12, Functional.mseLoss(a, b).item(), 1e-6);
        check("mseLoss", t -> Functional.mseLoss(t[0], t[1]), a, b);
        var e = assertThrows(IllegalArgumentException.class, () -> Functional.mseLoss(Tensor.zeros(2, 3), Tensor.zeros(3, 2)));
        assertTrue(e.getMessage().contains("mseLoss") && e.getMessage().contains("[2, 3]") && e.getMessage().contains("[3, 2]"), e.getMessage());
    }
}
