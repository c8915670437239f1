package org.goldenstick.importer;

import static org.junit.jupiter.api.Assertions.*;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.goldenstick.formats.onnx.OnnxAttribute;
import org.goldenstick.formats.onnx.OnnxDataType;
import org.goldenstick.formats.onnx.OnnxFormatException;
import org.goldenstick.formats.onnx.OnnxModelWriter;
import org.goldenstick.graph.ModelGraph;
import org.goldenstick.graph.Node;
import org.goldenstick.graph.Patterns;
import org.goldenstick.nn.BatchNorm2d;
import org.goldenstick.nn.ConstantPad;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.ReLU6;
import org.goldenstick.quant.OnnxQdqExporter;
import org.goldenstick.tensor.GradMode;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A whole network given as ONNX (the MobileNetV2-style file of {@link MobileNetV2Onnx}, written without any engine
 * module) against ONNX Runtime on random inputs; its traced graph; its re-export; and the errors for bad files.
 */
class OnnxImportNetworkTest {
    @TempDir
    Path dir;

    /** ONNX Runtime's output for {@code x} fed as {@code inputName}, flattened. */
    static float[] ort(Path onnx, String inputName, Tensor x) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long[] shape = Arrays.stream(x.shape()).asLongStream().toArray();
        try (OrtSession s = env.createSession(onnx.toString(), new OrtSession.SessionOptions());
             ai.onnxruntime.OnnxTensor in = ai.onnxruntime.OnnxTensor.createTensor(env, FloatBuffer.wrap(x.data()), shape);
             OrtSession.Result r = s.run(Map.of(inputName, in))) {
            ai.onnxruntime.OnnxTensor out = (ai.onnxruntime.OnnxTensor) r.get(0);
            FloatBuffer fb = out.getFloatBuffer();
            float[] f = new float[fb.remaining()];
            fb.get(f);
            return f;
        }
    }

    static double maxAbsDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length, "output sizes");
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    static double maxAbs(float[] a) {
        double m = 0;
        for (float v : a) m = Math.max(m, Math.abs(v));
        return m;
    }

    static Tensor forward(ImportedNetwork imp, Tensor x) {
        try (var off = GradMode.off()) {
            return imp.module().inEvalMode(() -> imp.module().forward(x));
        }
    }

    @Test
    void mobileNetV2MatchesOnnxRuntimeTracesAndReExports() throws Exception {
        Path file = dir.resolve("mnv2.onnx");
        MobileNetV2Onnx.write(file, 1, 28, 10, 7);
        ImportedNetwork imp = OnnxImport.load(file);
        assertArrayEquals(new int[] {1, 28, 28}, imp.inputShape());
        assertEquals("image", imp.inputName());
        assertEquals("logits", imp.outputName());
        assertEquals(10, imp.outputWidth());

        Tensor x = Tensor.randn(new Random(3), 5, 1, 28, 28);   // a batch of 5, though the file was imported at batch 1
        float[] ours = forward(imp, x).data();
        float[] ref = ort(file, "image", x);
        double err = maxAbsDiff(ours, ref);
        assertTrue(maxAbs(ref) > 0.1, "the random network computes something non-trivial");
        assertTrue(err <= 1e-4 * Math.max(1, maxAbs(ref)), "imported MobileNetV2 vs ONNX Runtime: max |diff| " + err + " (max |logit| " + maxAbs(ref) + ")");

        // the traced graph sees engine layers and ops, as for a network written by hand
        ModelGraph g = ModelGraph.trace(imp.module(), imp.inputShape());
        assertTrue(g.uncalledLayers().isEmpty(), "uncalled: " + g.uncalledLayers());
        long depthwise = g.nodes().stream().filter(n -> n.isLayer(Conv2d.class) && ((Conv2d) n.layer()).groups() > 1).count();
        assertEquals(MobileNetV2Onnx.BLOCKS.length, depthwise, "one depthwise conv per block");
        assertEquals(3, Patterns.residualAdds(g).size(), "the three shape-keeping blocks add their input");
        assertTrue(g.nodes().stream().anyMatch(n -> n.isLayer(ReLU6.class)), "Clip(0, 6) became ReLU6");
        assertTrue(g.nodes().stream().anyMatch(n -> n.isLayer(ConstantPad.class)), "SAME_UPPER at stride 2 pads asymmetrically");
        assertEquals(16, Patterns.chains(g, List.of(Conv2d.class, BatchNorm2d.class)).size(), "every conv is followed by its BN");
        Node out = g.output();
        assertArrayEquals(new int[] {1, 10}, out.shape());
        assertTrue(g.ops().stream().filter(n -> n.isOp("reshape")).count() == 1, "the Shape/Gather/Unsqueeze/Concat/Reshape flatten is one reshape: " + g);

        // and our exporter writes it back; ONNX Runtime runs the re-export with the same outputs
        Path back = dir.resolve("mnv2-back.onnx");
        OnnxQdqExporter.export(imp.module(), imp.inputShape(), back);
        double err2 = maxAbsDiff(ours, ort(back, "input", x));
        assertTrue(err2 <= 1e-4 * Math.max(1, maxAbs(ref)), "re-exported network vs ours: " + err2);
    }

    @Test
    void truncatedFileNamesTheFileAndOffset() throws Exception {
        Path file = dir.resolve("mnv2.onnx");
        MobileNetV2Onnx.write(file, 1, 28, 10, 7);
        byte[] all = Files.readAllBytes(file);
        Path cut = dir.resolve("cut.onnx");
        Files.write(cut, Arrays.copyOf(all, all.length / 2));
        OnnxFormatException e = assertThrows(OnnxFormatException.class, () -> OnnxImport.load(cut));
        assertTrue(e.getMessage().contains(cut.toString()), e.getMessage());
        assertTrue(e.getMessage().matches("(?s).*byte offset \\d+ of " + (all.length / 2) + ".*"), e.getMessage());
    }

    /** A one-node model around {@code op} with attributes, on a [N, 2, 6, 6] input. */
    private Path oneNode(String op, OnnxAttribute... attrs) throws Exception {
        OnnxModelWriter w = new OnnxModelWriter("one").opset("", 17);
        w.addInput("x", OnnxDataType.FLOAT, "N", 2, 6, 6);
        w.addNode("the_node", op, "", List.of("x"), List.of("y"), attrs);
        w.addOutput("y", OnnxDataType.FLOAT, "N", 2, 6, 6);
        Path p = dir.resolve(op + ".onnx");
        w.write(p);
        return p;
    }

    @Test
    void unsupportedOpAndAttributesAreNamed() throws Exception {
        Path erf = oneNode("Erf");
        var e1 = assertThrows(OnnxImportException.class, () -> OnnxImport.load(erf));
        assertTrue(e1.getMessage().contains("node 'the_node' (Erf)") && e1.getMessage().contains("op type 'Erf' is not supported") && e1.getMessage().contains(erf.toString()),
                e1.getMessage());

        Path dil = oneNode("MaxPool", OnnxAttribute.ofInts("kernel_shape", 2, 2), OnnxAttribute.ofInts("dilations", 2, 2));
        var e2 = assertThrows(OnnxImportException.class, () -> OnnxImport.load(dil));
        assertTrue(e2.getMessage().contains("node 'the_node' (MaxPool): attribute 'dilations' = [2, 2] is not supported"), e2.getMessage());

        Path unknown = oneNode("Relu", OnnxAttribute.ofFloat("slope", 2f));
        var e3 = assertThrows(OnnxImportException.class, () -> OnnxImport.load(unknown));
        assertTrue(e3.getMessage().contains("node 'the_node' (Relu): attribute 'slope' is not supported"), e3.getMessage());

        Path reflect = oneNode("Pad", OnnxAttribute.ofString("mode", "reflect"));
        var e4 = assertThrows(OnnxImportException.class, () -> OnnxImport.load(reflect));
        assertTrue(e4.getMessage().contains("attribute 'mode' = 'reflect' is not supported"), e4.getMessage());
    }
}
