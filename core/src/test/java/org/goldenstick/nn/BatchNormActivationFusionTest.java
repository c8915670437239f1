package org.goldenstick.nn;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;
import org.goldenstick.nn.models.ResNet;
import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * ResNet's basic blocks run batch norm + ReLU as one op ({@link BatchNorm2d#forwardWithActivation}); a training step
 * must give the same bits as the layers run one by one (which is what happens while a trace records).
 */
class BatchNormActivationFusionTest {
    /** Loss, every parameter gradient and every buffer after one forward/backward in training mode. */
    private static List<float[]> step(Module net, Tensor x, int[] labels, boolean unfused) {
        net.train();
        net.zeroGrad();
        Tensor loss = org.goldenstick.Unfused.run(unfused, () -> Functional.crossEntropy(net.forward(x), labels));
        loss.backward();
        List<float[]> out = new ArrayList<>();
        out.add(loss.data().clone());
        for (Tensor p : net.parameters()) out.add(p.grad().data().clone());
        for (Tensor b : net.namedBuffers().values()) out.add(b.data().clone());
        return out;
    }

    private static void sameBits(String name, Supplier<Module> make, int[] shape) {
        Random rng = new Random(3);
        Tensor x = Tensor.randn(rng, shape);
        int[] labels = rng.ints(shape[0], 0, 10).toArray();
        List<float[]> fused = step(make.get(), x, labels, false), plain = step(make.get(), x, labels, true);
        assertEquals(plain.size(), fused.size());
        for (int i = 0; i < plain.size(); i++) assertArrayEquals(plain.get(i), fused.get(i), name + ": tensor " + i + " (loss, gradients, buffers)");
    }

    @Test
    void resnetStepsAreBitIdenticalFusedAndUnfused() {
        sameBits("ResNet-20", () -> ResNet.resnet20(1, 10, 4, new Random(1)), new int[] {3, 1, 12, 12});
    }

    @Test
    void fusesOnlyPlainUnreplacedPairsAndNeverWhileTracing() {
        Random rng = new Random(5);
        Tensor x = Tensor.randn(rng, 2, 3, 6, 6).requiresGrad(true);
        assertEquals("batchNormClamp", BatchNorm2d.forwardWithActivation(new BatchNorm2d(3), new ReLU(), x).opName());
        assertEquals("batchNormClamp", BatchNorm2d.forwardWithActivation(new BatchNorm2d(3), new ReLU6(), x).opName());
        assertNull(BatchNorm2d.forwardWithActivation(new BatchNorm2d(3), new Identity(), x));
        assertNull(BatchNorm2d.forwardWithActivation(new BatchNorm2d(4), new ReLU(), x), "a shape error is left to the layer's own call");
        assertNull(BatchNorm2d.forwardWithActivation(new BatchNorm2d(3), new ReLU() {}, x), "a subclass may compute something else");
        BatchNorm2d bn = new BatchNorm2d(3);
        ReLU relu = new ReLU();
        new Sequential(relu).replaceChild("0", new ReLU6());
        assertNull(BatchNorm2d.forwardWithActivation(bn, relu, x), "a replaced activation forwards to its replacement: no fusion");
        assertNull(org.goldenstick.Unfused.run(true, () -> BatchNorm2d.forwardWithActivation(new BatchNorm2d(3), new ReLU(), x)), "a trace sees both layers");
    }
}
