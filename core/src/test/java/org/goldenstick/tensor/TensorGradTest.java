package org.goldenstick.tensor;

import static org.goldenstick.GradCheck.check;
import static org.goldenstick.GradCheck.param;
import static org.junit.jupiter.api.Assertions.*;

import org.goldenstick.tensor.kernel.Kernels;
import org.junit.jupiter.api.Test;

class TensorGradTest {
    @Test
    void elementwiseBroadcastGradients() {
        check("add", t -> t[0].add(t[1]), param(1, 3, 4), param(2, 4));
        check("sub", t -> t[0].sub(t[1]), param(1, 2, 3, 4), param(2, 3, 1));
        check("mul", t -> t[0].mul(t[1]), param(1, 3, 4), param(2, 3, 4));
        check("mul-broadcast", t -> t[0].mul(t[1]), param(1, 2, 1, 4), param(2, 3, 1));
        Tensor denom = param(3, 3, 4);
        for (int i = 0; i < denom.numel(); i++) denom.data()[i] = 1.5f + Math.abs(denom.data()[i]);
        check("div", t -> t[0].div(t[1]), param(1, 3, 4), denom);
    }

    @Test
    void unaryGradients() {
        Tensor pos = param(5, 2, 5);
        for (int i = 0; i < pos.numel(); i++) pos.data()[i] = 0.5f + Math.abs(pos.data()[i]);
        check("exp", t -> t[0].exp(), param(4, 2, 5));
        check("log", t -> t[0].log(), pos);
        check("sqrt", t -> t[0].sqrt(), pos);
        check("square", t -> t[0].square(), param(4, 2, 5));
        check("tanh", t -> t[0].tanh(), param(4, 2, 5));
        check("sigmoid", t -> t[0].sigmoid(), param(4, 2, 5));
        check("pow", t -> t[0].pow(1.5f), pos);
        check("affine", t -> t[0].mul(3f).add(1f), param(4, 7));
    }

    @Test
    void reductionAndShapeGradients() {
        check("sum", t -> t[0].sum(), param(1, 3, 4));
        check("sum-axis", t -> t[0].sum(1, false), param(1, 2, 3, 4));
        check("mean-axis", t -> t[0].mean(0, true), param(1, 3, 4));
        check("max-axis", t -> t[0].max(1, false), param(1, 3, 5));
        check("reshape", t -> t[0].reshape(4, -1).mul(t[0].reshape(4, 3)), param(1, 3, 4));
        check("permute", t -> t[0].permute(2, 0, 1), param(1, 2, 3, 4));
        check("slice", t -> t[0].slice(1, 1, 3), param(1, 2, 4, 3));
        check("indexSelect", t -> t[0].indexSelect(0, new int[] {2, 0, 2}), param(1, 3, 4));
        check("concat", t -> Tensor.concat(1, t[0], t[1]), param(1, 2, 3), param(2, 2, 2));
    }

    @Test
    void matmulGradientsBothKernelPaths() {
        for (boolean vector : new boolean[] {true, false}) {
            boolean was = Kernels.useVector(vector);
            try {
                check("matmul " + vector, t -> t[0].matmul(t[1]), param(1, 5, 7), param(2, 7, 19));
                check("matmul-3d-x-2d " + vector, t -> t[0].matmul(t[1]), param(1, 2, 3, 7), param(2, 7, 4));
                check("bmm " + vector, t -> t[0].matmul(t[1]), param(1, 2, 3, 7), param(2, 2, 7, 4));
                check("linear " + vector, t -> t[0].linear(t[1], t[2]), param(1, 2, 3, 7), param(2, 5, 7), param(3, 5));
            } finally {
                Kernels.useVector(was);
            }
        }
    }

    @Test
    void shapeErrorsNameOpAndShapes() {
        var e = assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(2, 3).add(Tensor.zeros(4)));
        assertTrue(e.getMessage().contains("add") && e.getMessage().contains("[2, 3]") && e.getMessage().contains("[4]"), e.getMessage());
        var m = assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(2, 3).matmul(Tensor.zeros(4, 5)));
        assertTrue(m.getMessage().contains("matmul") && m.getMessage().contains("[2, 3]") && m.getMessage().contains("[4, 5]"), m.getMessage());
    }

    @Test
    void noGradRegionRecordsNothing() {
        Tensor w = param(1, 2, 2);
        try (var ignored = GradMode.off()) {
            Tensor y = w.mul(w).sum();
            assertFalse(y.requiresGrad());
        }
        assertTrue(w.mul(w).sum().requiresGrad());
    }
}
