package org.goldenstick.formats.onnx;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.goldenstick.tensor.Conv2dSpec;
import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.GradMode;
import org.goldenstick.tensor.Tensor;

/**
 * Test-side interpreter: runs an ONNX graph with our engine's ops, mapping ONNX attributes to our calls.
 * Only the ops the conformance tests need; anything else fails loudly.
 */
final class OnnxOpAdapter {
    private final OnnxModel model;

    OnnxOpAdapter(OnnxModel model) {
        this.model = model;
    }

    /** Runs the graph on {@code feeds} (graph input name → value) and returns every graph output in order. */
    List<Tensor> run(Map<String, Tensor> feeds) {
        Map<String, Tensor> env = new HashMap<>(feeds);
        for (OnnxTensor t : model.graph().initializers()) env.putIfAbsent(t.name(), t.toTensor());
        try (var ignored = GradMode.off()) {
            for (OnnxNode n : model.graph().nodes()) {
                List<Tensor> in = new ArrayList<>();
                for (String name : n.inputs()) {
                    if (name.isEmpty()) {
                        in.add(null);
                    } else {
                        Tensor t = env.get(name);
                        if (t == null) throw new IllegalStateException("node " + n.opType() + " input '" + name + "' is not computed");
                        in.add(t);
                    }
                }
                List<Tensor> out = apply(n, in);
                for (int i = 0; i < out.size() && i < n.outputs().size(); i++) {
                    if (!n.outputs().get(i).isEmpty()) env.put(n.outputs().get(i), out.get(i));
                }
            }
        }
        List<Tensor> outs = new ArrayList<>();
        for (OnnxValueInfo v : model.graph().outputs()) outs.add(env.get(v.name()));
        return outs;
    }

    private static Tensor opt(List<Tensor> in, int i) {
        return i < in.size() ? in.get(i) : null;
    }

    private List<Tensor> apply(OnnxNode n, List<Tensor> in) {
        return switch (n.opType()) {
            case "Conv" -> List.of(conv(n, in.get(0), in.get(1), opt(in, 2)));
            case "Gemm" -> List.of(gemm(n, in.get(0), in.get(1), opt(in, 2)));
            case "MatMul" -> List.of(in.get(0).matmul(in.get(1)));
            case "BatchNormalization" -> batchNorm(n, in);
            case "Softmax" -> List.of(softmax(n, in.get(0)));
            case "Relu" -> List.of(Functional.relu(in.get(0)));
            case "Add" -> List.of(in.get(0).add(in.get(1)));
            case "Sub" -> List.of(in.get(0).sub(in.get(1)));
            case "Div" -> List.of(in.get(0).div(in.get(1)));
            case "Exp" -> List.of(in.get(0).exp());
            case "ReduceMax", "ReduceSum" -> List.of(reduce(n, in));
            case "Flatten" -> List.of(flatten(n, in.get(0)));
            case "Constant" -> List.of(constant(n));
            default -> throw new UnsupportedOperationException("adapter has no op " + n.opType());
        };
    }

    private Tensor conv(OnnxNode n, Tensor x, Tensor w, Tensor b) {
        if (x.rank() != 4) throw new UnsupportedOperationException("Conv: only 2-D convolutions, got input " + Arrays.toString(x.shape()));
        int kH = w.dim(2), kW = w.dim(3);
        long[] ks = n.intsAttr("kernel_shape", new long[] {kH, kW});
        if (ks[0] != kH || ks[1] != kW) throw new IllegalArgumentException("kernel_shape " + Arrays.toString(ks) + " vs weight " + Arrays.toString(w.shape()));
        long[] s = n.intsAttr("strides", new long[] {1, 1});
        long[] d = n.intsAttr("dilations", new long[] {1, 1});
        long[] p = n.intsAttr("pads", new long[] {0, 0, 0, 0});
        String autoPad = n.stringAttr("auto_pad", "NOTSET");
        if (!autoPad.equals("NOTSET")) {
            p = new long[4];
            if (!autoPad.equals("VALID")) {
                int[] same = OnnxAutoPad.same(autoPad.equals("SAME_UPPER"), new int[] {x.dim(2), x.dim(3)}, new int[] {kH, kW},
                        new int[] {(int) s[0], (int) s[1]}, new int[] {(int) d[0], (int) d[1]});
                for (int i = 0; i < 4; i++) p[i] = same[i];
            }
        }
        int group = (int) n.intAttr("group", 1);
        Conv2dSpec spec = new Conv2dSpec((int) s[0], (int) s[1], (int) p[0], (int) p[1], (int) p[2], (int) p[3], (int) d[0], (int) d[1], group);
        return Functional.conv2d(x, w, b, spec);
    }

    private static Tensor gemm(OnnxNode n, Tensor a, Tensor b, Tensor c) {
        if (n.intAttr("transA", 0) != 0) a = a.transpose(0, 1);
        if (n.intAttr("transB", 0) != 0) b = b.transpose(0, 1);
        Tensor y = a.matmul(b).mul(n.floatAttr("alpha", 1f));
        if (c != null) y = y.add(c.mul(n.floatAttr("beta", 1f)));
        return y;
    }

    private static List<Tensor> batchNorm(OnnxNode n, List<Tensor> in) {
        float eps = n.floatAttr("epsilon", 1e-5f);
        boolean training = n.intAttr("training_mode", 0) != 0;
        Tensor mean = in.get(3), var = in.get(4);
        if (training) {
            // Y uses the batch statistics in both conventions; the running statistics are not compared
            // (ONNX and our PyTorch-style update differ in momentum direction and variance bias).
            Tensor y = Functional.batchNorm(in.get(0), in.get(1), in.get(2), mean.copy(), var.copy(), true, 0.1f, eps);
            return List.of(y);
        }
        return List.of(Functional.batchNorm(in.get(0), in.get(1), in.get(2), mean, var, false, 0f, eps));
    }

    private Tensor softmax(OnnxNode n, Tensor x) {
        long opset = model.opset("");
        if (opset >= 13) return Functional.softmax(x, (int) n.intAttr("axis", -1));
        // Before opset 13 the input is coerced to 2-D at `axis` and normalised over the trailing block.
        int axis = (int) n.intAttr("axis", 1);
        if (axis < 0) axis += x.rank();
        int[] shape = x.shape();
        int outer = 1, inner = 1;
        for (int i = 0; i < shape.length; i++) {
            if (i < axis) outer *= shape[i]; else inner *= shape[i];
        }
        return Functional.softmax(x.reshape(outer, inner), 1).reshape(shape);
    }

    private static Tensor constant(OnnxNode n) {
        OnnxTensor v = n.tensorAttr("value");
        if (v == null) throw new UnsupportedOperationException("Constant without a 'value' tensor");
        return v.toTensor();
    }

    private static Tensor flatten(OnnxNode n, Tensor x) {
        int axis = (int) n.intAttr("axis", 1);
        if (axis < 0) axis += x.rank();
        int outer = 1;
        for (int i = 0; i < axis; i++) outer *= x.dim(i);
        return x.reshape(outer, x.numel() / outer);
    }

    private static Tensor reduce(OnnxNode n, List<Tensor> in) {
        Tensor x = in.get(0);
        long[] axes = n.intsAttr("axes", null);
        if (axes == null && in.size() > 1 && in.get(1) != null) {
            float[] a = in.get(1).data();
            axes = new long[a.length];
            for (int i = 0; i < a.length; i++) axes[i] = (long) a[i];
        }
        if (axes == null) {
            axes = new long[x.rank()];
            for (int i = 0; i < axes.length; i++) axes[i] = i;
        }
        boolean keep = n.intAttr("keepdims", 1) != 0;
        long[] sorted = axes.clone();
        for (int i = 0; i < sorted.length; i++) if (sorted[i] < 0) sorted[i] += x.rank();
        Arrays.sort(sorted);
        Tensor y = x;
        for (int i = sorted.length - 1; i >= 0; i--) {
            int a = (int) sorted[i];
            y = n.opType().equals("ReduceMax") ? y.max(a, keep) : y.sum(a, keep);
        }
        return y;
    }
}
