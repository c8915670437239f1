package org.goldenstick.formats.onnx;

import static org.junit.jupiter.api.Assertions.*;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.goldenstick.tensor.Conv2dSpec;
import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Models built with {@link OnnxModelWriter} must load and run in ONNX Runtime and agree with our engine. */
class OnnxWriterRuntimeTest {
    @TempDir
    Path dir;

    static final int BATCH = 5;

    /** Gemm → Relu → Gemm (second weight stored as int8 + DequantizeLinear) → Softmax, and Conv → Relu → Flatten. */
    static final class Fixture {
        final Random rng = new Random(11);
        final Tensor w1 = Tensor.randn(rng, 8, 4).mul(0.5f), b1 = Tensor.randn(rng, 8);
        final byte[] w2q = new byte[3 * 8];
        final float w2scale = 0.02f;
        final byte w2zero = 3;
        final Tensor b2 = Tensor.randn(rng, 3);
        final Tensor cw = Tensor.randn(rng, 3, 2, 3, 3).mul(0.3f), cb = Tensor.randn(rng, 3);
        final Tensor x = Tensor.randn(rng, BATCH, 4);
        final Tensor img = Tensor.randn(rng, BATCH, 2, 6, 6);

        Fixture() {
            for (int i = 0; i < w2q.length; i++) w2q[i] = (byte) (rng.nextInt(256) - 128);
        }

        Tensor w2() {
            float[] f = new float[w2q.length];
            for (int i = 0; i < f.length; i++) f[i] = (w2q[i] - w2zero) * w2scale;
            return Tensor.of(f, 3, 8);
        }

        OnnxModelWriter model() {
            OnnxModelWriter w = new OnnxModelWriter("fixture");
            w.addInput("x", OnnxDataType.FLOAT, "N", 4);
            w.addInput("img", OnnxDataType.FLOAT, "N", 2, 6, 6);
            w.addInitializer("W1", w1).addInitializer("B1", b1);
            w.addInitializer("W2_q", w2q, 3, 8);
            w.addScalar("W2_scale", w2scale);
            w.addInitializer(new OnnxTensor("W2_zero", OnnxDataType.INT8, new long[0], new byte[] {w2zero}));
            w.addInitializer("B2", b2);
            w.addInitializer("CW", cw).addInitializer("CB", cb);
            w.addNode("Gemm", List.of("x", "W1", "B1"), List.of("h"), OnnxAttribute.ofInt("transB", 1), OnnxAttribute.ofFloat("alpha", 1f));
            w.addNode("Relu", List.of("h"), List.of("h_relu"));
            w.addNode("DequantizeLinear", List.of("W2_q", "W2_scale", "W2_zero"), List.of("W2"));
            w.addNode("Gemm", List.of("h_relu", "W2", "B2"), List.of("logits"), OnnxAttribute.ofInt("transB", 1));
            w.addNode("Softmax", List.of("logits"), List.of("probs"), OnnxAttribute.ofInt("axis", -1));
            w.addNode("Conv", List.of("img", "CW", "CB"), List.of("c"),
                    OnnxAttribute.ofInts("kernel_shape", 3, 3), OnnxAttribute.ofInts("strides", 2, 2),
                    OnnxAttribute.ofInts("pads", 1, 0, 1, 1), OnnxAttribute.ofInts("dilations", 1, 1), OnnxAttribute.ofInt("group", 1));
            w.addNode("Relu", List.of("c"), List.of("c_relu"));
            w.addNode("Flatten", List.of("c_relu"), List.of("features"), OnnxAttribute.ofInt("axis", 1));
            w.addOutput("probs", OnnxDataType.FLOAT, "N", 3);
            w.addOutput("features", OnnxDataType.FLOAT, "N", 27);
            return w;
        }

        /** The same computation with our engine's ops. */
        Tensor[] ours() {
            Tensor h = Functional.relu(x.linear(w1, b1));
            Tensor probs = Functional.softmax(h.linear(w2(), b2), -1);
            Tensor c = Functional.conv2d(img, cw, cb, new Conv2dSpec(2, 2, 1, 0, 1, 1, 1, 1, 1));
            Tensor features = Functional.relu(c).reshape(BATCH, c.numel() / BATCH);
            return new Tensor[] {probs, features};
        }
    }

    static float[] runOrt(byte[] model, Fixture f, String output) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(1);
            try (OrtSession s = env.createSession(model, opts);
                 ai.onnxruntime.OnnxTensor x = ai.onnxruntime.OnnxTensor.createTensor(env, FloatBuffer.wrap(f.x.data()), new long[] {BATCH, 4});
                 ai.onnxruntime.OnnxTensor img = ai.onnxruntime.OnnxTensor.createTensor(env, FloatBuffer.wrap(f.img.data()), new long[] {BATCH, 2, 6, 6});
                 OrtSession.Result r = s.run(Map.of("x", x, "img", img))) {
                ai.onnxruntime.OnnxTensor out = (ai.onnxruntime.OnnxTensor) r.get(output).orElseThrow();
                FloatBuffer fb = out.getFloatBuffer();
                float[] a = new float[fb.remaining()];
                fb.get(a);
                return a;
            }
        }
    }

    @Test
    void writtenModelRunsInOnnxRuntimeAndMatchesOurEngine() throws Exception {
        Fixture f = new Fixture();
        Path file = dir.resolve("fixture.onnx");
        f.model().write(file);
        byte[] bytes = Files.readAllBytes(file);
        Tensor[] ours = f.ours();
        float[] probs = runOrt(bytes, f, "probs");
        float[] features = runOrt(bytes, f, "features");
        assertArrayEquals(new int[] {BATCH, 27}, ours[1].shape());
        assertEquals(ours[0].numel(), probs.length);
        assertEquals(ours[1].numel(), features.length);
        for (int i = 0; i < probs.length; i++) assertEquals(ours[0].data()[i], probs[i], 1e-5 + 1e-4 * Math.abs(probs[i]), "probs " + i);
        for (int i = 0; i < features.length; i++) assertEquals(ours[1].data()[i], features[i], 1e-4 + 1e-4 * Math.abs(features[i]), "features " + i);
        // The outputs are not trivially zero: the check above compares real values.
        assertTrue(java.util.stream.IntStream.range(0, features.length).filter(i -> features[i] > 0).count() > 10);
    }

    @Test
    void symbolicBatchDimensionAcceptsOtherBatchSizes() throws Exception {
        Fixture f = new Fixture();
        byte[] bytes = f.model().toBytes();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession s = env.createSession(bytes, new OrtSession.SessionOptions())) {
            assertEquals(List.of("x", "img"), List.copyOf(s.getInputNames()));
            var info = (ai.onnxruntime.TensorInfo) s.getInputInfo().get("x").getInfo();
            assertEquals(-1, info.getShape()[0], "symbolic batch dimension");
            assertEquals("N", info.getDimensionNames()[0]);
            try (ai.onnxruntime.OnnxTensor x = ai.onnxruntime.OnnxTensor.createTensor(env, FloatBuffer.wrap(new float[8]), new long[] {2, 4});
                 ai.onnxruntime.OnnxTensor img = ai.onnxruntime.OnnxTensor.createTensor(env, FloatBuffer.wrap(new float[2 * 72]), new long[] {2, 2, 6, 6});
                 OrtSession.Result r = s.run(Map.of("x", x, "img", img))) {
                assertArrayEquals(new long[] {2, 3}, ((ai.onnxruntime.TensorInfo) r.get(0).getInfo()).getShape());
            }
        }
    }

    @Test
    void writerOutputReadsBackIdentically() throws Exception {
        Fixture f = new Fixture();
        OnnxModelWriter w = f.model();
        Path file = dir.resolve("rt.onnx");
        w.write(file);
        OnnxModel back = OnnxModelReader.read(file);
        OnnxModel built = w.build();
        assertEquals(10, back.irVersion());
        assertEquals(21, back.opset(""));
        assertEquals(built.graph().nodes(), back.graph().nodes());
        assertEquals(built.graph().initializers(), back.graph().initializers());
        assertEquals(built.graph().inputs(), back.graph().inputs());
        assertEquals(built.graph().outputs(), back.graph().outputs());
        assertArrayEquals(f.w2q, back.graph().initializer("W2_q").orElseThrow().bytes());
        assertArrayEquals(new long[] {3, 3}, back.graph().nodes().get(5).intsAttr("kernel_shape", null));
        assertArrayEquals(Files.readAllBytes(file), OnnxModelWriter.toBytes(back), "re-encoding is byte-identical");
        // And the adapter runs the read-back graph to the same numbers as the direct computation.
        List<Tensor> outs = new OnnxOpAdapterWithDequant(back).run(Map.of("x", f.x, "img", f.img));
        assertArrayEquals(f.ours()[0].data(), outs.get(0).data(), 1e-6f);
    }

    @Test
    void writerRejectsDanglingInputsAndDuplicates() {
        OnnxModelWriter w = new OnnxModelWriter("g");
        w.addInput("x", OnnxDataType.FLOAT, 1);
        w.addNode("Relu", List.of("y"), List.of("z"));
        w.addOutput("z", OnnxDataType.FLOAT, 1);
        var e = assertThrows(IllegalStateException.class, w::toBytes);
        assertTrue(e.getMessage().contains("'y'"), e.getMessage());
        OnnxModelWriter w2 = new OnnxModelWriter("g").addInitializer("a", new float[] {1}, 1);
        assertThrows(IllegalArgumentException.class, () -> w2.addInitializer("a", new float[] {1}, 1));
        assertThrows(IllegalArgumentException.class, () -> w2.addInitializer("b", new float[] {1, 2}, 3));
        assertThrows(IllegalArgumentException.class, () -> w2.addNode("n", "Relu", "", List.of("a"), List.of("b"), OnnxAttribute.ofInt("k", 1), OnnxAttribute.ofInt("k", 2)));
    }

    /** The adapter plus DequantizeLinear, for the read-back check. */
    static final class OnnxOpAdapterWithDequant {
        private final OnnxModel model;

        OnnxOpAdapterWithDequant(OnnxModel model) {
            this.model = model;
        }

        List<Tensor> run(Map<String, Tensor> feeds) {
            // Fold DequantizeLinear of constant initializers into float initializers, then use the plain adapter.
            OnnxModelWriter w = new OnnxModelWriter(model.graph().name());
            for (OnnxValueInfo v : model.graph().inputs()) w.addInput(v.name(), v.elemType(), v.shape().stream().map(d -> d instanceof OnnxValueInfo.Fixed fx ? (Object) fx.value() : ((OnnxValueInfo.Symbolic) d).param()).toArray());
            Map<String, OnnxTensor> inits = new java.util.HashMap<>();
            for (OnnxTensor t : model.graph().initializers()) inits.put(t.name(), t);
            for (OnnxTensor t : model.graph().initializers()) w.addInitializer(t);
            for (OnnxNode n : model.graph().nodes()) {
                if (n.opType().equals("DequantizeLinear")) {
                    OnnxTensor q = inits.get(n.inputs().get(0));
                    float scale = inits.get(n.inputs().get(1)).toFloats()[0];
                    float zero = inits.get(n.inputs().get(2)).toFloats()[0];
                    float[] v = q.toFloats();
                    for (int i = 0; i < v.length; i++) v[i] = (v[i] - zero) * scale;
                    w.addInitializer(n.outputs().get(0), v, q.dims());
                } else {
                    w.addNode(n.name(), n.opType(), n.domain(), n.inputs(), n.outputs(), n.attributes().values().toArray(new OnnxAttribute[0]));
                }
            }
            for (OnnxValueInfo v : model.graph().outputs()) w.addOutput(v.name(), v.elemType(), v.shape().stream().map(d -> d instanceof OnnxValueInfo.Fixed fx ? (Object) fx.value() : ((OnnxValueInfo.Symbolic) d).param()).toArray());
            return new OnnxOpAdapter(w.build()).run(feeds);
        }
    }
}
