package org.goldenstick.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.goldenstick.data.Batch;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.models.MobileNetV2;
import org.goldenstick.nn.models.ResNet;
import org.goldenstick.tensor.StepBuffers;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.KernelSettings;
import org.goldenstick.tensor.kernel.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Training steps that reuse their arrays through {@link StepBuffers} compute exactly what fresh arrays compute. */
@ExtendWith(KernelSettings.class)
class StepBuffersTest {
    private static final int BATCH = 8;

    private static Module net(String name) {
        Random rng = new Random(3);
        return name.equals("resnet") ? ResNet.resnet20(3, 10, 16, rng) : new MobileNetV2(3, 10, rng);
    }

    /** Losses of {@code steps} SGD steps on varying batches, and the final parameters. */
    private static List<float[]> train(String name, int steps, StepBuffers buffers) {
        Module m = net(name);
        m.train();
        SGD opt = new SGD(m.parameters(), new SGD.Options(0.05, 0.9, 0, 5e-4, true));
        LossFunction loss = LossFunction.crossEntropy();
        Random data = new Random(11);
        float[] losses = new float[steps];
        for (int s = 0; s < steps; s++) {
            Batch b = new Batch(Tensor.randn(data, BATCH, 3, 12, 12), data.ints(BATCH, 0, 10).toArray());
            try (StepBuffers.Step ignored = buffers == null ? null : buffers.open()) {
                opt.zeroGrad();
                m.zeroGrad();
                Tensor l = loss.compute(m.forward(b.inputs()), b);
                losses[s] = l.item();
                l.backward();
                opt.step();
            }
        }
        List<float[]> out = new ArrayList<>();
        out.add(losses);
        for (Tensor p : m.parameters()) out.add(p.data().clone());
        for (Tensor p : m.namedBuffers().values()) out.add(p.data().clone()); // BN running statistics
        return out;
    }

    @Test
    void pooledStepsAreBitIdenticalToFreshArrays() {
        for (boolean vector : new boolean[] {true, false}) {
            Kernels.useVector(vector);
            for (String name : new String[] {"resnet", "mobilenet"}) {
                List<float[]> fresh = train(name, 3, null);
                StepBuffers buffers = new StepBuffers();
                List<float[]> pooled = train(name, 3, buffers);
                assertTrue(buffers.pooledFloats() > 0, name + ": the pool kept nothing, so nothing was reused");
                assertEquals(fresh.size(), pooled.size());
                for (int i = 0; i < fresh.size(); i++) assertArrayEquals(fresh.get(i), pooled.get(i), name + " vector=" + vector + " array " + i);
            }
        }
    }

    @Test
    void thePoolStopsGrowingAfterTheFirstStep() {
        StepBuffers buffers = new StepBuffers();
        train("resnet", 1, buffers);
        long afterOne = buffers.pooledFloats();
        // a second pool over two steps: the second step reuses the first one's arrays instead of adding its own
        StepBuffers two = new StepBuffers();
        train("resnet", 2, two);
        assertEquals(afterOne, two.pooledFloats());
    }

    @Test
    void aLargeTensorKeptPastItsStepFailsLoudly() {
        StepBuffers buffers = new StepBuffers();
        Tensor kept;
        Tensor small;
        try (StepBuffers.Step ignored = buffers.open()) {
            Tensor x = Tensor.randn(new Random(1), 2, 4, 32, 32).requiresGrad(true);
            kept = x.relu();
            small = Tensor.randn(new Random(2), 4, 4).relu();
            kept.sum().backward();
            assertNotNull(x.grad()); // a leaf's gradient is never pooled
        }
        var e = assertThrows(IllegalStateException.class, kept::data);
        assertTrue(e.getMessage().contains("StepBuffers"), e.getMessage());
        assertEquals(16, small.data().length); // below the pool's minimum: an ordinary array, still valid
    }

    @Test
    void aPoolOpensOneStepAtATime() {
        StepBuffers buffers = new StepBuffers();
        try (StepBuffers.Step ignored = buffers.open()) {
            assertThrows(IllegalStateException.class, buffers::open);
            assertThrows(IllegalStateException.class, () -> new StepBuffers().open());
        }
        try (StepBuffers.Step ignored = buffers.open()) {
            assertTrue(StepBuffers.zeros(StepBuffers.MIN_FLOATS).length == StepBuffers.MIN_FLOATS);
        }
    }
}
