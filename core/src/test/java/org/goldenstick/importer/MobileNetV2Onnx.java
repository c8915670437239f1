package org.goldenstick.importer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.goldenstick.formats.onnx.OnnxAttribute;
import org.goldenstick.formats.onnx.OnnxDataType;
import org.goldenstick.formats.onnx.OnnxModelWriter;

/**
 * Writes a small MobileNetV2-style classifier as an ONNX file the way PyTorch's exporter (opset 13) lays it out, with
 * the project's ONNX writer and no engine module behind it: a stride-2 stem with TensorFlow-style {@code SAME_UPPER}
 * padding (asymmetric), Conv → BatchNormalization → Clip(0, 6) (ReLU6 with min/max inputs), inverted residual blocks
 * (1×1 expansion, 3×3 depthwise convolution, linear 1×1 projection, residual Add when the shape is kept), a 1×1 head,
 * GlobalAveragePool, PyTorch's {@code Shape → Gather → Unsqueeze → Concat → Reshape} flatten and a Gemm classifier
 * (transB = 1). Weights are random (He-normal), BatchNorm statistics random around 0/1, so the file computes something
 * non-trivial before any training.
 *
 * <pre>{@code
 * MobileNetV2Onnx.write(Path.of("mnv2.onnx"), 1, 28, 10, 0);
 * }</pre>
 */
final class MobileNetV2Onnx {
    private final OnnxModelWriter w = new OnnxModelWriter("mobilenet_v2_small");
    private final Random rng;
    private int n;

    private MobileNetV2Onnx(long seed) {
        rng = new Random(seed);
        w.opset("", 13).producerName("goldenstick-test MobileNetV2Onnx");
    }

    /** Inverted residual settings: expansion t, output channels c, stride s (MobileNetV2's table, shrunk). */
    static final int[][] BLOCKS = {{1, 16, 1}, {4, 24, 2}, {4, 24, 1}, {4, 32, 2}, {4, 32, 1}};

    /** Writes the model for {@code channels × size × size} inputs and {@code classes} outputs. */
    static void write(Path file, int channels, int size, int classes, long seed) throws IOException {
        MobileNetV2Onnx g = new MobileNetV2Onnx(seed);
        g.w.addInput("image", OnnxDataType.FLOAT, "batch", channels, size, size);
        String x = g.convBnAct("image", channels, 16, 3, 2, 1, true, "SAME_UPPER");
        int c = 16;
        for (int[] b : BLOCKS) {
            x = g.invertedResidual(x, c, b[1], b[0], b[2]);
            c = b[1];
        }
        x = g.convBnAct(x, c, 64, 1, 1, 1, true, null);
        String pooled = g.node("GlobalAveragePool", List.of(x));
        String flat = g.torchFlatten(pooled);
        String fcW = g.weight("classifier.weight", new long[] {classes, 64}, 64);
        String fcB = g.bias("classifier.bias", classes);
        g.w.addNode("Gemm", List.of(flat, fcW, fcB), List.of("logits"), OnnxAttribute.ofFloat("alpha", 1f), OnnxAttribute.ofFloat("beta", 1f),
                OnnxAttribute.ofInt("transB", 1));
        g.w.addOutput("logits", OnnxDataType.FLOAT, "batch", classes);
        g.w.write(file);
    }

    private String fresh(String base) {
        return base + "_" + (n++);
    }

    private String node(String op, List<String> in, OnnxAttribute... attrs) {
        String out = fresh(op.toLowerCase());
        w.addNode(op, in, List.of(out), attrs);
        return out;
    }

    private String weight(String name, long[] dims, int fanIn) {
        int count = 1;
        for (long d : dims) count *= (int) d;
        float[] v = new float[count];
        double std = Math.sqrt(2.0 / fanIn);
        for (int i = 0; i < count; i++) v[i] = (float) (rng.nextGaussian() * std);
        String nm = fresh(name);
        w.addInitializer(nm, v, dims);
        return nm;
    }

    private String bias(String name, int count) {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) v[i] = (float) (rng.nextGaussian() * 0.05);
        String nm = fresh(name);
        w.addInitializer(nm, v, count);
        return nm;
    }

    private String vector(String name, int count, double mean, double spread) {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) v[i] = (float) (mean + spread * (rng.nextDouble() - 0.5));
        String nm = fresh(name);
        w.addInitializer(nm, v, count);
        return nm;
    }

    private String scalar(float v) {
        String nm = fresh("const");
        w.addScalar(nm, v);
        return nm;
    }

    /** Conv (no bias) → BatchNormalization → optional Clip(0, 6); {@code autoPad} null: explicit symmetric pads. */
    private String convBnAct(String x, int in, int out, int k, int stride, int groups, boolean relu6, String autoPad) {
        String wt = weight("conv.weight", new long[] {out, in / groups, k, k}, in / groups * k * k);
        OnnxAttribute pad = autoPad != null ? OnnxAttribute.ofString("auto_pad", autoPad) : OnnxAttribute.ofInts("pads", k / 2, k / 2, k / 2, k / 2);
        String y = node("Conv", List.of(x, wt), OnnxAttribute.ofInts("kernel_shape", k, k), OnnxAttribute.ofInts("strides", stride, stride),
                OnnxAttribute.ofInt("group", groups), OnnxAttribute.ofInts("dilations", 1, 1), pad);
        y = node("BatchNormalization", List.of(y, vector("bn.gamma", out, 1, 0.4), vector("bn.beta", out, 0, 0.2), vector("bn.mean", out, 0, 0.2),
                vector("bn.var", out, 1, 0.5)), OnnxAttribute.ofFloat("epsilon", 1e-5f), OnnxAttribute.ofFloat("momentum", 0.9f));
        return relu6 ? node("Clip", List.of(y, scalar(0f), scalar(6f))) : y;
    }

    private String invertedResidual(String x, int in, int out, int t, int stride) {
        int hidden = in * t;
        String y = t == 1 ? x : convBnAct(x, in, hidden, 1, 1, 1, true, null);
        y = convBnAct(y, hidden, hidden, 3, stride, hidden, true, null);    // depthwise
        y = convBnAct(y, hidden, out, 1, 1, 1, false, null);                // linear bottleneck
        return stride == 1 && in == out ? node("Add", List.of(x, y)) : y;
    }

    /** {@code x.view(x.size(0), -1)} as PyTorch exports it. */
    private String torchFlatten(String x) {
        String shape = node("Shape", List.of(x));
        String zero = fresh("const");
        w.addInitializer(zero, new long[] {0});
        String batch = node("Gather", List.of(shape, zero), OnnxAttribute.ofInt("axis", 0));
        String axes = fresh("const");
        w.addInitializer(axes, new long[] {0}, 1);
        String b1 = node("Unsqueeze", List.of(batch, axes));
        String minus1 = fresh("const");
        w.addInitializer(minus1, new long[] {-1}, 1);
        String target = node("Concat", List.of(b1, minus1), OnnxAttribute.ofInt("axis", 0));
        return node("Reshape", List.of(x, target));
    }
}
