package org.goldenstick.qat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;
import org.goldenstick.importer.OnnxImport;
import org.goldenstick.graph.UserNetworks;
import org.goldenstick.nn.Add;
import org.goldenstick.nn.MaxPool2d;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.ReLU;
import org.goldenstick.nn.models.LeNet5;
import org.goldenstick.nn.models.MobileNetV2;
import org.goldenstick.nn.models.ResNet;
import org.goldenstick.graph.Node;
import org.goldenstick.quant.CodeAdd;
import org.goldenstick.quant.CodeMaxPool2d;
import org.goldenstick.quant.CodeProducer;
import org.goldenstick.quant.CodeReLU;
import org.goldenstick.quant.OnnxQdqExporter;
import org.goldenstick.quant.QConv2d;
import org.goldenstick.rewrite.ApplyOptions;
import org.goldenstick.tensor.GradMode;
import org.goldenstick.tensor.OpTrace;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.KernelSettings;
import org.goldenstick.tensor.kernel.Kernels;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The int8 deploy network with its codes carried between layers (ReLU and max pooling on codes, activations fused into
 * the conv epilogue, residual sums read from codes with their ReLU and their consumer's quantization in the same pass) gives bit for bit what the same
 * network gives on its plain path (and with every float output written) — the layer-by-layer float round trips it takes while a trace records it — on the
 * built-in networks and on imported ONNX ones, vector and scalar kernels; and it stays within the fake-quant network's
 * tolerance.
 */
@ExtendWith(KernelSettings.class)
class CodeCarryingDeployTest {
    @TempDir
    Path dir;

    private static final OpTrace.Listener SILENT = new OpTrace.Listener() {
        @Override public void op(String op, Tensor[] inputs, Tensor output) {}
        @Override public void enterLayer(Object layer, Tensor input) {}
        @Override public void exitLayer(Object layer, Tensor input, Tensor output) {}
    };

    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void carriedCodesChangeNoOutput(boolean vector) throws Exception {
        Kernels.useVector(vector);
        check("lenet", () -> new LeNet5(1, 28, 10, new Random(1)), new int[] {1, 28, 28}, false);
        check("resnet20", () -> ResNet.resnet20(3, 10, 8, new Random(1)), new int[] {3, 16, 16}, false);
        check("mobilenetv2", () -> new MobileNetV2(3, 10, new Random(1)), new int[] {3, 16, 16}, false);
        check("user-add", () -> new UserNetworks.AddLayerNet(new Random(1)), new int[] {1, 8, 8}, false);
        check("lenet-onnx", () -> new LeNet5(1, 28, 10, new Random(1)), new int[] {1, 28, 28}, true);
        check("resnet20-onnx", () -> ResNet.resnet20(3, 10, 8, new Random(1)), new int[] {3, 16, 16}, true);
        check("mobilenetv2-onnx", () -> new MobileNetV2(3, 10, new Random(1)), new int[] {3, 16, 16}, true);
    }

    private void check(String name, Supplier<Module> make, int[] sh, boolean viaOnnx) throws Exception {
        Module net = make.get();
        if (viaOnnx) {
            Path f = dir.resolve(name + ".onnx");
            OnnxQdqExporter.export(net, sh, f);
            net = OnnxImport.load(f).module();
            Files.delete(f);
        }
        SimQAT algo = new SimQAT(SimQATConfig.defaults().withEnableFusion(true));
        Module q = algo.apply(net, ApplyOptions.of(Map.of("input_shape", sh)));
        Random rng = new Random(5);
        q.train();
        try (var g = GradMode.off()) {
            for (int i = 0; i < 3; i++) q.forward(Tensor.randn(rng, 16, sh[0], sh[1], sh[2])); // ranges and BN statistics
        }
        q.eval();
        Tensor x = Tensor.randn(rng, 6, sh[0], sh[1], sh[2]);
        float[] fakeQuant;
        try (var g = GradMode.off()) {
            fakeQuant = q.forward(x).data().clone();
        }
        Module deploy = algo.convert(q);

        // the code-carrying forms are in place (else this test would compare the plain path with itself)
        long reluLike = deploy.namedModules().entrySet().stream()
                .filter(e -> !e.getKey().endsWith(".act")) // an activation layer's own function (its code table is built from it)
                .filter(e -> e.getValue().getClass() == ReLU.class || e.getValue().getClass() == MaxPool2d.class).count();
        assertEquals(0, reluLike, name + ": float ReLU/MaxPool2d left in the deploy network");
        long fused = deploy.namedModules().values().stream().filter(m -> m instanceof QConv2d c && c.fusedActivation() != null).count();
        assertTrue(fused > 0, name + ": no activation fused into a conv epilogue");
        if (name.startsWith("lenet")) assertTrue(deploy.namedModules().values().stream().anyMatch(m -> m instanceof CodeMaxPool2d), name);
        if (name.equals("resnet20")) {
            CodeReLU r = (CodeReLU) deploy.module("layer1.0.relu");
            assertNotNull(r.consumerGrid(), "the residual ReLU quantizes for the next block's conv");
            assertSame(r, ((QConv2d) deploy.module("layer1.0.conv1")).fusedActivation(), "the block's first ReLU runs in conv1's epilogue");
            assertTrue(((QConv2d) deploy.module("layer1.0.conv1")).floatsOnDemand(), "conv1 (ReLU fused) feeds only conv2: codes only");
            Add add = (Add) deploy.module("layer1.0.add");
            assertSame(r, ((CodeAdd) add.computation()).fusedActivation(), "the residual sum applies the block's ReLU in its own pass");
            assertTrue(((QConv2d) deploy.module("layer1.0.conv2")).floatsOnDemand(), "conv2 feeds only the residual sum, which reads its codes");
            assertTrue(((QConv2d) deploy.module("conv1")).floatsOnDemand(), "the stem's ReLU output feeds the first block's conv and sum, both on codes");
        }
        if (name.equals("mobilenetv2")) {
            var adds = deploy.namedModules().values().stream().filter(m -> m instanceof Add).map(m -> (Add) m).toList();
            assertTrue(!adds.isEmpty(), name + ": no residual add");
            for (Add a : adds) assertTrue(a.computation() instanceof CodeAdd, name + ": a residual sum not on codes");
            assertTrue(adds.stream().anyMatch(a -> ((CodeAdd) a.computation()).consumerGrid() != null), name + ": no sum writes its consumer's codes");
        }
        if (name.equals("user-add")) { // Add layers held in fields: a sum feeding a ReLU, and one feeding a conv directly
            CodeAdd a = (CodeAdd) ((Add) deploy.module("add_a")).computation(), b = (CodeAdd) ((Add) deploy.module("add_b")).computation();
            assertSame(deploy.module("a_out"), a.fusedActivation(), "the sum applies the activation quantization point after it");
            assertNotNull(b.consumerGrid(), "the second sum writes the head conv's input codes");
            assertTrue(((QConv2d) deploy.module("a2")).floatsOnDemand() && ((QConv2d) deploy.module("b2")).floatsOnDemand(), "the sums read their operands' codes");
        }
        if (name.endsWith("-onnx") && !name.startsWith("lenet")) {
            var adds = deploy.namedModules().values().stream().filter(m -> m instanceof Add a && a.computation() instanceof CodeAdd).count();
            assertTrue(adds > 0, name + ": the imported network's Add does not run on codes");
        }

        // layers whose consumers all read codes skip their float output; the one feeding the network output keeps it
        long onDemand = deploy.namedModules().values().stream().filter(m -> m instanceof CodeProducer p && p.floatsOnDemand()).count();
        assertTrue(onDemand >= (name.startsWith("lenet") ? 4 : name.startsWith("user") ? 2 : 3), name + ": only " + onDemand + " layers produce floats on demand");
        var graph = org.goldenstick.graph.ModelGraph.trace(deploy, sh);
        Node last = graph.output();
        if (last.isLayer() && deploy.module(last.path()) instanceof CodeProducer p) assertTrue(!p.floatsOnDemand(), name + ": the output layer must write floats");

        float[] carried, plain;
        try (var g = GradMode.off()) {
            carried = deploy.forward(x).data();
            try (var t = OpTrace.record(SILENT)) { // under a trace every layer takes its plain path
                plain = deploy.forward(x).data();
            }
            assertArrayEquals(plain, carried, name + ": carried codes changed the output");
            assertArrayEquals(carried, deploy.forward(x).data(), name + ": second call differs");
            for (var m : deploy.namedModules().values()) if (m instanceof CodeProducer p) p.floatsOnDemand(false);
            assertArrayEquals(carried, deploy.forward(x).data(), name + ": floats written everywhere differ");
        }
        // the int8 network against the fake-quant one: the same grids, so the logits agree up to rounding ties
        double scale = 0, worst = 0;
        for (float v : fakeQuant) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < fakeQuant.length; i++) worst = Math.max(worst, Math.abs(fakeQuant[i] - carried[i]));
        assertTrue(worst <= 0.05 * scale + 1e-4, name + ": int8 vs fake-quant max |diff| " + worst + " (logit scale " + scale + ")");
    }
}
