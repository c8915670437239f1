package org.goldenstick.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Layer;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.ReLU;
import org.goldenstick.nn.models.LeNet5;
import org.goldenstick.nn.models.ResNet;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;

class ModelGraphTest {
    @Test
    void leNetIsAChainOfNamedLayerCallsWithShapes() {
        LeNet5 net = new LeNet5(1, 8, 10, new Random(0));
        ModelGraph g = ModelGraph.trace(net, new int[] {1, 8, 8});
        List<String> names = g.nodes().stream().filter(Node::isLayer).map(Node::path).toList();
        assertEquals(List.of("conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten", "fc1", "relu3", "fc2", "relu4", "fc3"), names);
        assertArrayEquals(new int[] {1, 1, 8, 8}, g.input().shape());
        assertArrayEquals(new int[] {1, 10}, g.output().shape());
        assertEquals("fc3", g.output().path());
        Node conv1 = g.layerCalls("conv1").get(0);
        assertSame(net.module("conv1"), conv1.layer());
        assertArrayEquals(new int[] {1, 6, 8, 8}, conv1.shape());
        assertEquals(1, g.consumers(conv1.id()).size());
        Edge e = g.consumers(conv1.id()).get(0);
        assertEquals("relu1", g.node(e.to()).path());
        assertArrayEquals(new int[] {1, 6, 8, 8}, e.shape());
        assertTrue(g.ops().isEmpty(), g.toString());
        assertTrue(g.uncalledLayers().isEmpty());
    }

    @Test
    void resNetShowsResidualAddsSharedReluAndShortcuts() {
        ResNet net = ResNet.resnet8(1, 10, 8, new Random(0));
        ModelGraph g = ModelGraph.trace(net, new int[] {1, 8, 8});
        List<Node> adds = g.nodes().stream().filter(n -> n.isOp("add")).toList();
        assertEquals(3, adds.size(), g.toString());
        Node add = adds.get(0);
        assertEquals("layer1.0.add", add.path(), "the sum is the block's Add module, named on its op node");
        assertSame(net.module("layer1.0.add"), add.layer());
        assertTrue(!add.isLayer(), "an Add is an op of two inputs, not a layer call");
        List<String> producers = g.producers(add.id()).stream().map(Node::path).toList();
        assertEquals(List.of("layer1.0.bn2", "layer1.0.shortcut"), producers);
        // the block's one ReLU runs twice: two nodes under one name
        assertEquals(2, g.layerCalls("layer1.0.relu").size());
        assertEquals("layer1.0.relu", g.node(g.consumers(add.id()).get(0).to()).path());
        // a projection shortcut is a conv + bn fed by the block input
        assertTrue(g.layerCalls("layer2.0.shortcut.0").get(0).isLayer(Conv2d.class));
        assertEquals("flatten", g.producers(g.output().id()).get(0).path(), "Flatten is a layer, not an op");
        assertEquals(List.of("add"), g.ops().stream().map(Node::op).distinct().toList());
    }

    @Test
    void addLayersInFieldsAreNamedOnTheirOpsAndPlainSumsAreNot() {
        UserNetworks.AddLayerNet net = new UserNetworks.AddLayerNet(new Random(2));
        ModelGraph g = ModelGraph.trace(net, new int[] {1, 8, 8});
        List<Node> adds = g.ops().stream().filter(n -> n.isOp("add")).toList();
        assertEquals(List.of("add_a", "add_b"), adds.stream().map(Node::path).toList(), g.toString());
        assertSame(net.module("add_a"), adds.get(0).layer());
        assertEquals(List.of("a2_bn", "stem_relu"), g.producers(adds.get(0).id()).stream().map(Node::path).toList(), "arguments in call order");
        assertEquals(List.of("a_out", "b2_bn"), g.producers(adds.get(1).id()).stream().map(Node::path).toList());
        assertEquals("head", g.node(g.consumers(adds.get(1).id()).get(0).to()).path());
        UserNetworks.ResidualNet plain = new UserNetworks.ResidualNet(new Random(2));
        for (Node n : ModelGraph.trace(plain, new int[] {1, 8, 8}).ops()) assertEquals(null, n.layer(), "a Tensor.add has no module");
    }

    @Test
    void patternsMatchLayerTypesOnTheGraph() {
        ResNet net = ResNet.resnet8(1, 10, 8, new Random(0));
        ModelGraph g = ModelGraph.trace(net, new int[] {1, 8, 8});
        List<List<String>> convBn = Patterns.chains(g, List.of(Conv2d.class, org.goldenstick.nn.BatchNorm2d.class)).stream()
                .map(c -> c.stream().map(Node::path).toList()).toList();
        // stem, 2 per block, 2 projection shortcuts
        assertEquals(1 + 3 * 2 + 2, convBn.size(), convBn.toString());
        assertTrue(convBn.contains(List.of("layer2.0.shortcut.0", "layer2.0.shortcut.1")));
        // conv → bn → relu: only where the ReLU is called once (the stem); the blocks' ReLU runs twice
        List<List<Node>> convBnRelu = Patterns.chains(g, List.of(Conv2d.class, org.goldenstick.nn.BatchNorm2d.class, ReLU.class));
        assertEquals(List.of("conv1", "bn1", "relu"), convBnRelu.get(0).stream().map(Node::path).toList());
        assertEquals(1, convBnRelu.size());
        assertEquals(3, Patterns.residualAdds(g).size());
        var mlp = new UserNetworks.Mlp(new Random(0));
        ModelGraph gm = ModelGraph.trace(mlp, mlp.exampleInputShape());
        assertEquals(2, Patterns.chains(gm, List.of(Linear.class, ReLU.class)).size(), "linear → relu twice, not the head");
        assertTrue(Patterns.residualAdds(gm).isEmpty());
    }

    @Test
    void userNetworkWithFieldsIsTracedAsItRuns() {
        var net = new UserNetworks.ResidualNet(new Random(1));
        ModelGraph g = ModelGraph.trace(net, net.exampleInputShape());
        assertEquals(2, g.nodes().stream().filter(n -> n.isOp("add")).count());
        Node flatten = g.nodes().stream().filter(n -> n.isOp("reshape")).findFirst().orElseThrow();
        assertEquals("pool", g.producers(flatten.id()).get(0).path());
        assertEquals("fc", g.node(g.consumers(flatten.id()).get(0).to()).path());
        assertArrayEquals(new int[] {1, 12}, flatten.shape());
        Node add = g.nodes().stream().filter(n -> n.isOp("add")).findFirst().orElseThrow();
        assertEquals(List.of("a2_bn", "stem_relu"), g.producers(add.id()).stream().map(Node::path).toList());

        var sep = new UserNetworks.SeparableConcatNet(new Random(2));
        ModelGraph gs = ModelGraph.trace(sep, sep.exampleInputShape());
        Node concat = gs.nodes().stream().filter(n -> n.isOp("concat")).findFirst().orElseThrow();
        assertEquals(List.of("pw1_act", "side_act"), gs.producers(concat.id()).stream().map(Node::path).toList());
        assertArrayEquals(new int[] {1, 16, 8, 8}, concat.shape());
        Node dw = gs.layerCalls("dw1").get(0);
        assertEquals(8, ((Conv2d) dw.layer()).groups());
        assertEquals(2, gs.consumers(gs.layerCalls("stem_act").get(0).id()).size(), "the stem feeds both branches");
    }

    @Test
    void tracingLeavesStatisticsAndModesAlone() {
        var net = new UserNetworks.ResidualNet(new Random(1));
        net.train();
        ((Module) net.module("a1_bn")).eval();
        float[] mean = net.module("stem_bn").buffer("running_mean").data().clone();
        ModelGraph.trace(net, net.exampleInputShape());
        assertArrayEquals(mean, net.module("stem_bn").buffer("running_mean").data());
        assertTrue(net.isTraining() && net.module("stem_bn").isTraining());
        assertTrue(!net.module("a1_bn").isTraining());
    }

    /** A network that computes with a layer it never registered, and one that skips a registered layer. */
    static final class Unregistered extends Module {
        private final Linear hidden = new Linear(64, 10, new Random(0));

        @Override
        public Tensor forward(Tensor x) {
            return hidden.forward(x.flatten(1));
        }
    }

    static final class Unused extends Module {
        private final Linear fc, aux;

        Unused() {
            fc = registerChild("fc", new Linear(64, 10, new Random(0)));
            aux = registerChild("aux", new Linear(64, 10, new Random(1)));
        }

        @Override
        public Tensor forward(Tensor x) {
            return fc.forward(x.flatten(1));
        }
    }

    @Test
    void unregisteredLayerIsAnErrorAndUncalledLayersAreListed() {
        var e = assertThrows(IllegalArgumentException.class, () -> ModelGraph.trace(new Unregistered(), new int[] {1, 8, 8}));
        assertTrue(e.getMessage().contains("Linear") && e.getMessage().contains("not registered"), e.getMessage());
        ModelGraph g = ModelGraph.trace(new Unused(), new int[] {1, 8, 8});
        assertEquals(List.of("aux"), g.uncalledLayers());
    }

    /** Parameters used directly in a forward (a functional layer) show up as parameter nodes. */
    static final class Functional extends Module {
        Functional() {
            registerChild("fc", new Linear(64, 10, new Random(0)));
        }

        @Override
        public Tensor forward(Tensor x) {
            Linear fc = (Linear) module("fc");
            return x.flatten(1).linear(fc.weight(), fc.bias()).mul(Tensor.scalar(2f));
        }
    }

    @Test
    void directParameterUseAndConstantsAreNodes() {
        ModelGraph g = ModelGraph.trace(new Functional(), new int[] {1, 8, 8});
        Node linear = g.nodes().stream().filter(n -> n.isOp("linear")).findFirst().orElseThrow();
        List<Node> p = g.producers(linear.id());
        assertEquals(Node.Kind.PARAMETER, p.get(1).kind());
        assertEquals("fc.weight", p.get(1).path());
        assertEquals(Node.Kind.CONSTANT, g.producers(g.output().id()).get(1).kind());
        assertEquals(List.of("fc"), g.uncalledLayers());
    }

    /** A layer held in a field and replaced in the tree forwards its calls, so the user's forward runs the replacement. */
    @Test
    void replacedLayerInAFieldRunsItsReplacement() {
        var net = new UserNetworks.Mlp(new Random(3));
        Tensor x = Tensor.randn(new Random(4), 2, 1, 8, 8);
        Tensor before = net.forward(x);
        final class Doubling extends Layer {
            final ReLU inner;

            Doubling(ReLU inner) {
                this.inner = registerChild("inner", inner);
            }

            @Override
            protected Tensor compute(Tensor t) {
                return inner.forward(t).mul(2f); // calls the layer it replaced: runs that layer's own computation
            }
        }
        ReLU old = (ReLU) net.module("act1");
        Doubling d = new Doubling(old);
        net.replaceChild("act1", d);
        assertSame(d, old.replacement());
        Tensor after = net.forward(x);
        assertNotSame(before, after);
        ModelGraph g = ModelGraph.trace(net, net.exampleInputShape());
        Node n = g.layerCalls("act1").get(0);
        assertSame(d, n.layer(), "the trace sees the replacement under the old name");
        assertEquals(1, g.layerCalls("act1").size());
        // compare with the replacement applied by hand
        Linear fc1 = (Linear) net.module("fc1"), fc2 = (Linear) net.module("fc2"), fc3 = (Linear) net.module("fc3");
        Tensor h = fc1.forward(x.reshape(2, -1)).relu().mul(2f);
        Tensor ref = fc3.forward(fc2.forward(h).relu());
        assertArrayEquals(ref.data(), after.data(), 1e-6f);
    }
}
