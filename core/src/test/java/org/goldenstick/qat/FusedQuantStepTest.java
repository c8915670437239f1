package org.goldenstick.qat;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.models.MobileNetV2;
import org.goldenstick.nn.models.ResNet;
import org.goldenstick.rewrite.ApplyOptions;
import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * SimQAT training steps run activation + output grid as one op ({@code ActQuant} with ReLU / ReLU6,
 * {@code FakeQuantize.forwardAfterRelu}) outside traces; the steps must give the bits of the layers run one by one
 * (what happens while a trace records), and the converted deploy networks must be the same.
 */
class FusedQuantStepTest {
    /** Two training steps' losses, gradients and buffers (ranges, BN statistics), then the deploy network's output. */
    private static List<float[]> run(Supplier<Module> make, int[] shape, boolean unfused, SimQATConfig cfg) {
        SimQAT algo = new SimQAT(cfg);
        Module net = algo.apply(make.get(), ApplyOptions.of(Map.of("input_shape", new int[] {shape[1], shape[2], shape[3]})));
        Random rng = new Random(3);
        List<float[]> out = new ArrayList<>();
        net.train();
        for (int step = 0; step < 2; step++) {
            Tensor x = Tensor.randn(rng, shape);
            int[] labels = rng.ints(shape[0], 0, 10).toArray();
            net.zeroGrad();
            Tensor loss = org.goldenstick.Unfused.run(unfused, () -> Functional.crossEntropy(net.forward(x), labels));
            loss.backward();
            out.add(loss.data().clone());
            for (Tensor p : net.parameters()) out.add(p.grad().data().clone());
            for (Tensor b : net.namedBuffers().values()) out.add(b.data().clone());
        }
        net.eval();
        Module deploy = algo.convert(net);
        out.add(deploy.forward(Tensor.randn(rng, shape)).data().clone());
        return out;
    }

    @Test
    void simQatStepsAndDeployAreBitIdenticalFusedAndUnfused() {
        SimQATConfig fused = SimQATConfig.defaults().withEnableFusion(true);
        check("ResNet-20", () -> ResNet.resnet20(1, 10, 4, new Random(1)), new int[] {3, 1, 12, 12}, fused);
        check("MobileNetV2", () -> new MobileNetV2(3, 10, new Random(1)), new int[] {2, 3, 12, 12}, fused);
        check("MobileNetV2 without conv+BN fusion", () -> new MobileNetV2(3, 10, new Random(1)), new int[] {2, 3, 12, 12}, SimQATConfig.defaults());
    }

    @Test
    void actQuantRunsReluAndGridAsOneOpOnlyOutsideTraces() {
        Tensor x = Tensor.randn(new Random(4), 2, 3, 5, 5).requiresGrad(true);
        ActQuant relu = new ActQuant(new org.goldenstick.nn.ReLU(), SimQATConfig.defaults(), false);
        ActQuant relu6 = new ActQuant(new org.goldenstick.nn.ReLU6(), SimQATConfig.defaults(), false);
        ActQuant leaky = new ActQuant(new org.goldenstick.nn.LeakyReLU(0.1f), SimQATConfig.defaults(), false);
        for (ActQuant a : List.of(relu, relu6, leaky)) a.train();
        assertEquals("relu_fake_quant", relu.forward(x).opName());
        assertEquals("relu_fake_quant", relu6.forward(x).opName());
        assertEquals("fake_quant", leaky.forward(x).opName());
        assertEquals("fake_quant", org.goldenstick.Unfused.run(true, () -> relu.forward(x)).opName());
        var cell = new Conv2dBnWithoutFoldQuant(new Conv2dBn(new org.goldenstick.nn.Conv2d(3, 4, 3, 1, 1, false, new Random(6)),
                new org.goldenstick.nn.BatchNorm2d(4)), SimQATConfig.defaults(), false);
        cell.train();
        assertEquals("batchNormGrid", cell.forward(x).opName(), "training: batch norm and the output grid as one op");
        cell.eval();
        assertEquals("fake_quant", cell.forward(x).opName());
    }

    private static void check(String name, Supplier<Module> make, int[] shape, SimQATConfig cfg) {
        List<float[]> one = run(make, shape, false, cfg), two = run(make, shape, true, cfg);
        assertEquals(two.size(), one.size());
        for (int i = 0; i < two.size(); i++) assertArrayEquals(two.get(i), one.get(i), name + ": tensor " + i + " (losses, gradients, buffers, deploy output)");
    }
}
