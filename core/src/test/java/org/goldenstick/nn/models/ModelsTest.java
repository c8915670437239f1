package org.goldenstick.nn.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Random;
import org.goldenstick.GradCheck;
import org.goldenstick.nn.BatchNorm2d;
import org.goldenstick.nn.Identity;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.Sequential;
import org.goldenstick.tensor.GradMode;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;

class ModelsTest {
    @Test
    void leNetShapesAndParameterCount() {
        // Classic LeNet-5 on 28×28 (conv1 padded): 156 + 2,416 + 48,120 + 10,164 + 850 = 61,706 parameters.
        LeNet5 fashion = new LeNet5(1, 28, 10, new Random(0));
        assertEquals(61_706, fashion.parameterCount());
        assertArrayEquals(new int[] {3, 10}, fashion.forward(Tensor.randn(new Random(1), 3, 1, 28, 28)).shape());
        // 8×8 digits: 8 → pool 4 → conv2 (padded) 4 → pool 2, so fc1 sees 16·2·2 = 64 features.
        LeNet5 digits = new LeNet5(1, 8, 10, new Random(0));
        assertArrayEquals(new int[] {120, 64}, digits.module("fc1").parameter("weight").shape());
        assertArrayEquals(new int[] {2, 10}, digits.forward(Tensor.randn(new Random(1), 2, 1, 8, 8)).shape());
        assertEquals(List.of("conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten", "fc1", "relu3", "fc2", "relu4", "fc3"),
                List.copyOf(digits.children().keySet()));
    }

    @Test
    void resnet20HasThePaperParameterCount() {
        // He et al. report 0.27M for ResNet-20 (option A, 269,722); option B adds 1×1 projections
        // 16→32 and 32→64 with their BNs: 512 + 64 + 2,048 + 128 = 2,752.
        ResNet net = ResNet.resnet20(3, 10, 16, new Random(0));
        assertEquals(269_722 + 2_752, net.parameterCount());
        assertEquals(20, net.depth());
        assertEquals(3, ((Sequential) net.module("layer1")).size());
        assertInstanceOf(Identity.class, net.module("layer2.1.shortcut"));
        assertInstanceOf(BatchNorm2d.class, net.module("layer3.0.shortcut.1"));
        assertArrayEquals(new int[] {2, 10}, net.forward(Tensor.randn(new Random(1), 2, 3, 16, 16)).shape());
        ResNet r8 = ResNet.resnet8(1, 10, 8, new Random(0));
        assertEquals(1, ((Sequential) r8.module("layer3")).size());
        assertArrayEquals(new int[] {2, 10}, r8.forward(Tensor.randn(new Random(1), 2, 1, 8, 8)).shape());
    }

    @Test
    void residualTiesAreReported() {
        ResNet net = ResNet.resnet20(1, 10, 16, new Random(0));
        List<ResNet.TiedChannels> groups = net.tiedChannelGroups();
        assertEquals(3, groups.size());
        assertEquals(new ResNet.TiedChannels(16, List.of("conv1", "layer1.0.conv2", "layer1.1.conv2", "layer1.2.conv2"),
                List.of("bn1", "layer1.0.bn2", "layer1.1.bn2", "layer1.2.bn2")), groups.get(0));
        assertEquals(List.of("layer2.0.conv2", "layer2.0.shortcut.0", "layer2.1.conv2", "layer2.2.conv2"), groups.get(1).convolutions());
        assertEquals(List.of("layer3.0.bn2", "layer3.0.shortcut.1", "layer3.1.bn2", "layer3.2.bn2"), groups.get(2).norms());
        assertEquals(64, groups.get(2).channels());
        BasicBlock b = (BasicBlock) net.module("layer1.1");
        assertTrue(b.identityShortcut());
        assertEquals(List.of("conv2"), b.tiedConvolutions());
    }

    @Test
    void basicBlockGradientMatchesFiniteDifferences() {
        BasicBlock block = new BasicBlock(2, 3, 2, new Random(3));
        Tensor x = GradCheck.param(11, 2, 2, 5, 5);
        GradCheck.check("BasicBlock input", 1e-3, 3e-2, in -> block.forward(in[0]), x);
        Tensor w1 = block.module("conv1").parameter("weight"), w2 = block.module("conv2").parameter("weight");
        Tensor ws = block.module("shortcut.0").parameter("weight"), g = block.module("bn2").parameter("weight");
        GradCheck.check("BasicBlock weights", 2e-4, 3e-2, in -> block.forward(x), w1, w2, ws, g);
        BasicBlock identity = new BasicBlock(2, 2, 1, new Random(4));
        Tensor x2 = GradCheck.param(12, 2, 2, 4, 4);
        GradCheck.check("BasicBlock identity shortcut", 1e-3, 3e-2, in -> identity.forward(in[0]), x2);
    }

    @Test
    void leNetGradientMatchesFiniteDifferences() {
        LeNet5 net = new LeNet5(1, 8, 4, new Random(5));
        Tensor x = Tensor.randn(new Random(6), 2, 1, 8, 8);
        GradCheck.check("LeNet5 conv weights", 2e-4, 3e-2, in -> net.forward(x), net.module("conv1").parameter("weight"), net.module("conv2").parameter("bias"));
        GradCheck.check("LeNet5 fc weights", 2e-4, 3e-2, in -> net.forward(x), net.module("fc2").parameter("weight"), net.module("fc3").parameter("bias"));
    }

    @Test
    void basicBlockForwardIsTheResidualSum() {
        BasicBlock block = new BasicBlock(2, 2, 1, new Random(3));
        block.eval();
        Tensor x = Tensor.randn(new Random(1), 1, 2, 4, 4);
        try (var ignored = GradMode.off()) {
            Module relu = block.module("relu");
            Tensor main = block.module("bn2").forward(block.module("conv2").forward(relu.forward(block.module("bn1").forward(block.module("conv1").forward(x)))));
            float[] expected = main.add(x).relu().data();
            assertArrayEquals(expected, block.forward(x).data(), 1e-6f);
        }
    }

    @Test
    void replacingAChildChangesTheForward() {
        BasicBlock block = new BasicBlock(2, 2, 1, new Random(3));
        block.eval();
        Tensor x = Tensor.randn(new Random(1), 1, 2, 4, 4);
        float[] before = block.forward(x).data().clone();
        block.replaceChild("bn2", new Identity());
        assertFalse(java.util.Arrays.equals(before, block.forward(x).data()));
        ResNet net = ResNet.resnet8(1, 10, 4, new Random(0));
        net.replaceChild("layer1.0.conv1", new Identity());
        assertInstanceOf(Identity.class, net.module("layer1.0.conv1"));
        assertArrayEquals(new int[] {1, 10}, net.forward(Tensor.randn(new Random(1), 1, 1, 8, 8)).shape());
    }

    @Test
    void stateDictRoundTripReproducesOutputs() {
        ResNet a = ResNet.resnet8(1, 10, 4, new Random(0));
        a.forward(Tensor.randn(new Random(1), 4, 1, 8, 8));  // move the BN running statistics
        ResNet b = ResNet.resnet8(1, 10, 4, new Random(99));
        Map<String, Tensor> state = a.stateDict();
        assertTrue(state.containsKey("layer2.0.shortcut.1.running_var"));
        assertTrue(state.containsKey("bn1.num_batches_tracked"));
        Tensor x = Tensor.randn(new Random(2), 2, 1, 8, 8);
        a.eval();
        b.eval();
        assertNotEquals(a.forward(x).data()[0], b.forward(x).data()[0]);
        b.loadStateDict(state, true);
        assertArrayEquals(a.forward(x).data(), b.forward(x).data());
    }
}
