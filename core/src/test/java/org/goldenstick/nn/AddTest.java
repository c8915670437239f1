package org.goldenstick.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.goldenstick.nn.models.ResNet;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * {@link Add} in a float network is {@link Tensor#add}: the same values and the same gradients bit for bit, checked
 * against finite differences too; the blocks hold it as a child without parameters.
 */
class AddTest {
    @Test
    void valuesAndGradientsAreThoseOfTensorAdd() {
        Random rnd = new Random(1);
        Tensor a = Tensor.randn(rnd, 2, 3, 4).requiresGrad(true), b = Tensor.randn(rnd, 2, 3, 4).requiresGrad(true);
        Tensor a2 = a.copy().requiresGrad(true), b2 = b.copy().requiresGrad(true);
        Tensor w = Tensor.randn(rnd, 2, 3, 4);
        Tensor viaAdd = new Add().forward(a, b);
        Tensor viaOp = a2.add(b2);
        assertArrayEquals(viaOp.data(), viaAdd.data());
        viaAdd.mul(w).sum().backward();
        viaOp.mul(w).sum().backward();
        assertArrayEquals(a2.grad().data(), a.grad().data());
        assertArrayEquals(b2.grad().data(), b.grad().data());
        // d(sum(w·(a+b)))/da = w: finite difference on one element
        float[] ad = a.data();
        float keep = ad[5];
        double h = 1e-2;
        ad[5] = (float) (keep + h);
        double up = new Add().forward(a, b).mul(w).sum().item();
        ad[5] = (float) (keep - h);
        double down = new Add().forward(a, b).mul(w).sum().item();
        ad[5] = keep;
        assertEquals(w.data()[5], (up - down) / (2 * h), 1e-3);
    }

    @Test
    void blocksHoldTheirSumAsAParameterFreeChild() {
        var net = ResNet.resnet8(1, 10, 4, new Random(3));
        Module add = net.module("layer1.0.add");
        assertEquals(Add.class, add.getClass());
        assertEquals(0, add.stateDict().size(), "no parameters or buffers: checkpoints keep their keys");
        for (String k : net.stateDict().keySet()) assertEquals(false, k.contains(".add."), k);
    }
}
