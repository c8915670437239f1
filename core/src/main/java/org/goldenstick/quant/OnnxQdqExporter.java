package org.goldenstick.quant;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;
import org.goldenstick.formats.onnx.OnnxAttribute;
import org.goldenstick.formats.onnx.OnnxDataType;
import org.goldenstick.formats.onnx.OnnxModelWriter;
import org.goldenstick.graph.ModelGraph;
import org.goldenstick.graph.Node;
import org.goldenstick.nn.AdaptiveAvgPool2d;
import org.goldenstick.nn.AvgPool2d;
import org.goldenstick.nn.BatchNorm2d;
import org.goldenstick.nn.Clip;
import org.goldenstick.nn.ConstantPad;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Dropout;
import org.goldenstick.nn.Flatten;
import org.goldenstick.nn.HardSigmoid;
import org.goldenstick.nn.HardSwish;
import org.goldenstick.nn.Identity;
import org.goldenstick.nn.LeakyReLU;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.MaxPool2d;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.Permute;
import org.goldenstick.nn.Pool2d;
import org.goldenstick.nn.ReLU;
import org.goldenstick.nn.ReLU6;
import org.goldenstick.nn.Sigmoid;
import org.goldenstick.nn.Softmax;
import org.goldenstick.nn.Tanh;
import org.goldenstick.rewrite.FusedInto;
import org.goldenstick.tensor.Conv2dSpec;

/**
 * Exports a network (FP32, or an int8 deploy network) as an ONNX model (IR 10, opset 21), node by node from its traced
 * {@link ModelGraph}: each layer call and each op between layers becomes ONNX nodes, so any network of supported layers
 * exports, whatever its class. Int8 layers are written in QDQ form: {@code QuantizeLinear → DequantizeLinear} on the
 * input, int8 weights behind a per-channel {@code DequantizeLinear(axis=0)}, an int32 bias behind
 * {@code DequantizeLinear} with scale {@code s_x·s_w}, the float {@code Conv}/{@code Gemm}, and
 * {@code QuantizeLinear → DequantizeLinear} on the output. Runtimes such as ONNX Runtime fuse these into integer
 * kernels. A Q/DQ pair is not repeated on a value that already sits on the same grid (max-pool, flatten, reshape and
 * identity keep their input's grid).
 *
 * <p>Supported layers: {@link QConv2d}, {@link QLinear}, {@link QuantDequant}, float Conv2d (grouped, depthwise),
 * Linear (on rank-2 inputs as Gemm, on higher ranks as MatMul + Add), BatchNorm2d, ReLU, ReLU6, Clip, LeakyReLU,
 * Sigmoid, HardSigmoid, HardSwish, Tanh, Softmax, Permute, ConstantPad, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d(1),
 * Flatten, Identity, Dropout, {@link FusedInto}; ops {@link #SUPPORTED_OPS}; layers of other packages through an
 * {@link OnnxLayerExport} (SLB's packed layers). Anything else is an error naming the layer or op.
 *
 * <pre>{@code
 * OnnxQdqExporter.export(deployNet, new int[] {1, 8, 8}, Path.of("lenet.onnx"));
 * }</pre>
 */
public final class OnnxQdqExporter implements OnnxLayerExport.Emitter {
    /** Tensor ops (by tape name) the exporter writes: element-wise arithmetic, concat, reshape and activation functions. */
    public static final String[] SUPPORTED_OPS = {"add", "sub", "mul", "div", "concat", "reshape", "relu", "relu6", "sigmoid", "tanh", "hardSwish", "matmul"};

    private final OnnxModelWriter w;
    private OnnxLayerExport extra = (m, path, x, out) -> null;
    private int counter;
    /** The grid each value name sits on (after a DequantizeLinear), or absent. */
    private final java.util.Map<String, QuantParams> grids = new java.util.HashMap<>();

    private OnnxQdqExporter(String name) {
        this.w = new OnnxModelWriter(name);
    }

    /**
     * Traces {@code net} on one sample of {@code inputShape} and writes it to {@code file}; the batch dimension is
     * symbolic "N".
     */
    public static void export(Module net, int[] inputShape, Path file) throws IOException {
        export(net, inputShape, file, null);
    }

    /** As {@link #export(Module, int[], Path)}, with {@code extra} asked first for every layer (null: none). */
    public static void export(Module net, int[] inputShape, Path file, OnnxLayerExport extra) throws IOException {
        ModelGraph g = ModelGraph.trace(net, inputShape);
        OnnxQdqExporter e = new OnnxQdqExporter(net.getClass().getSimpleName());
        if (extra != null) e.extra = extra;
        e.w.addInput("input", OnnxDataType.FLOAT, symbolicBatch(g.input().shape()));
        String[] values = new String[g.nodes().size()];
        for (Node n : g.nodes()) values[n.id()] = e.emit(g, n, values);
        e.w.addNode("Identity", List.of(values[g.output().id()]), List.of("output"));
        e.w.addOutput("output", OnnxDataType.FLOAT, symbolicBatch(g.output().shape()));
        e.w.write(file);
    }

    /**
     * The form taken before the graph existed; the chain predicate and output width are no longer needed (the graph
     * gives both) and are ignored apart from a consistency check of the width.
     *
     * @deprecated use {@link #export(Module, int[], Path)}
     */
    @Deprecated
    public static void export(Module net, Predicate<Module> chainContainer, int[] inputShape, int numOutputs, Path file) throws IOException {
        export(net, inputShape, file, null);
    }

    /**
     * @deprecated use {@link #export(Module, int[], Path, OnnxLayerExport)}
     */
    @Deprecated
    public static void export(Module net, Predicate<Module> chainContainer, int[] inputShape, int numOutputs, Path file, OnnxLayerExport extra) throws IOException {
        export(net, inputShape, file, extra);
    }

    @Override
    public OnnxModelWriter writer() {
        return w;
    }

    private static Object[] symbolicBatch(int[] shape) {
        Object[] dims = new Object[shape.length];
        dims[0] = "N";
        for (int i = 1; i < shape.length; i++) dims[i] = shape[i];
        return dims;
    }

    @Override
    public String fresh(String base) {
        return base.replace('.', '_') + "_" + (counter++);
    }

    private String emit(ModelGraph g, Node n, String[] values) {
        return switch (n.kind()) {
            case INPUT -> "input";
            case CONSTANT, PARAMETER -> init(n.kind() == Node.Kind.PARAMETER ? n.path() : "constant", n.value().data(), n.value().shape());
            case LAYER -> emitLayer(n.layer(), n.path(), values[n.inputs().get(0)], g.node(n.inputs().get(0)).shape());
            case OP -> emitOp(g, n, values);
        };
    }

    private String emitOp(ModelGraph g, Node n, String[] values) {
        List<String> in = new ArrayList<>();
        for (int i : n.inputs()) in.add(values[i]);
        String where = n.name();
        return switch (n.op()) {
            case "add" -> node("Add", where, in);
            case "sub" -> node("Sub", where, in);
            case "mul" -> node("Mul", where, in);
            case "div" -> node("Div", where, in);
            case "relu" -> node("Relu", where, in);
            case "relu6" -> node("Clip", where, List.of(in.get(0), scalar(where + ".min", 0f), scalar(where + ".max", 6f)));
            case "sigmoid" -> node("Sigmoid", where, in);
            case "tanh" -> node("Tanh", where, in);
            case "hardSwish" -> node("HardSwish", where, in);
            case "matmul" -> node("MatMul", where, in);
            case "concat" -> node("Concat", where, in, OnnxAttribute.ofInt("axis", concatAxis(g, n)));
            case "reshape" -> {
                int[] s = n.shape(), from = g.node(n.inputs().get(0)).shape();
                QuantParams keep = grids.get(in.get(0));
                String y;
                if (s.length == 2 && s[0] == from[0]) {
                    y = node("Flatten", where, in, OnnxAttribute.ofInt("axis", 1));
                } else {
                    long[] target = new long[s.length];
                    for (int i = 1; i < s.length; i++) target[i] = s[i];
                    if (s[0] != from[0]) throw new IllegalArgumentException("ONNX export: " + where + " reshapes across the batch axis " + Arrays.toString(from) + " -> " + Arrays.toString(s));
                    String shape = fresh(where + ".shape");
                    w.addInitializer(shape, target, s.length); // 0 copies the (symbolic) batch dimension
                    y = node("Reshape", where, List.of(in.get(0), shape));
                }
                if (keep != null) grids.put(y, keep);
                yield y;
            }
            default -> throw new IllegalArgumentException("ONNX export: op '" + n.op() + "' (" + where + ") has no ONNX form here; supported ops: " + List.of(SUPPORTED_OPS));
        };
    }

    private static int concatAxis(ModelGraph g, Node n) {
        int[] out = n.shape();
        for (int axis = 0; axis < out.length; axis++) {
            int sum = 0;
            boolean others = true;
            for (int i : n.inputs()) {
                int[] s = g.node(i).shape();
                if (s.length != out.length) throw new IllegalArgumentException("ONNX export: " + n.name() + ": concat of rank " + s.length + " into rank " + out.length);
                sum += s[axis];
                for (int d = 0; d < out.length; d++) if (d != axis && s[d] != out[d]) others = false;
            }
            if (others && sum == out[axis]) return axis;
        }
        throw new IllegalArgumentException("ONNX export: " + n.name() + ": cannot tell the concat axis from the shapes");
    }

    private String emitLayer(Module m, String path, String x, int[] inShape) {
        String own = extra.emit(m, path, x, this);
        if (own != null) return own;
        if (m instanceof QConv2d q) return emitQConv(q, path, x);
        if (m instanceof QLinear q) return emitQLinear(q, path, x);
        if (m instanceof QuantDequant q) {
            String y = q.activation() == null ? x : emitLayer(q.activation(), path + ".act", x, inShape);
            return qdq(y, q.params(), path);
        }
        if (m instanceof ReLU) return node("Relu", path, List.of(x));
        if (m instanceof ReLU6) return node("Clip", path, List.of(x, scalar(path + ".min", 0f), scalar(path + ".max", 6f)));
        if (m instanceof LeakyReLU l) return node("LeakyRelu", path, List.of(x), OnnxAttribute.ofFloat("alpha", l.slope()));
        if (m instanceof Sigmoid) return node("Sigmoid", path, List.of(x));
        if (m instanceof HardSwish) return node("HardSwish", path, List.of(x));
        if (m instanceof Tanh) return node("Tanh", path, List.of(x));
        if (m instanceof HardSigmoid h) return node("HardSigmoid", path, List.of(x), OnnxAttribute.ofFloat("alpha", h.alpha()), OnnxAttribute.ofFloat("beta", h.beta()));
        if (m instanceof Clip c) {
            String lo = c.min() == Float.NEGATIVE_INFINITY ? "" : scalar(path + ".min", c.min());
            String hi = c.max() == Float.POSITIVE_INFINITY ? "" : scalar(path + ".max", c.max());
            return node("Clip", path, List.of(x, lo, hi));
        }
        if (m instanceof Softmax s) {
            int axis = s.axis() < 0 ? s.axis() + inShape.length : s.axis();
            if (!s.isCoerced() || axis == inShape.length - 1) return node("Softmax", path, List.of(x), OnnxAttribute.ofInt("axis", axis));
            String flat = node("Flatten", path, List.of(x), OnnxAttribute.ofInt("axis", axis));
            String y = node("Softmax", path, List.of(flat), OnnxAttribute.ofInt("axis", 1));
            long[] back = new long[inShape.length];
            back[0] = -1;  // the batch axis, whatever its size
            for (int i = 1; i < inShape.length; i++) back[i] = inShape[i];
            String shape = fresh(path + ".shape");
            w.addInitializer(shape, back, back.length);
            return node("Reshape", path, List.of(y, shape));
        }
        if (m instanceof Permute p) {
            int[] perm = p.perm();
            long[] lp = new long[perm.length];
            for (int i = 0; i < perm.length; i++) lp[i] = perm[i];
            return node("Transpose", path, List.of(x), new OnnxAttribute.Ints("perm", lp));
        }
        if (m instanceof ConstantPad p) {
            int[] pads = p.pads();
            long[] lp = new long[pads.length];
            for (int i = 0; i < pads.length; i++) lp[i] = pads[i];
            String padsName = fresh(path + ".pads");
            w.addInitializer(padsName, lp, lp.length);
            return node("Pad", path, List.of(x, padsName, scalar(path + ".value", p.value())), OnnxAttribute.ofString("mode", "constant"));
        }
        if (m instanceof MaxPool2d p) { // max-pooling keeps values on their grid
            QuantParams keep = grids.get(x);
            String y = node("MaxPool", path, List.of(x), poolAttrs(p));
            if (keep != null) grids.put(y, keep);
            return y;
        }
        if (m instanceof AvgPool2d p) {
            OnnxAttribute[] a = Arrays.copyOf(poolAttrs(p), 4);
            a[3] = OnnxAttribute.ofInt("count_include_pad", p.countIncludePad() ? 1 : 0);
            return node("AveragePool", path, List.of(x), a);
        }
        if (m instanceof AdaptiveAvgPool2d p) {
            if (p.outputH() != 1 || p.outputW() != 1) throw new IllegalArgumentException("ONNX export: " + path + ": only AdaptiveAvgPool2d(1) (global average pooling) is supported");
            return node("GlobalAveragePool", path, List.of(x));
        }
        if (m instanceof Flatten f) {
            QuantParams keep = grids.get(x);
            String y = node("Flatten", path, List.of(x), OnnxAttribute.ofInt("axis", f.startDim()));
            if (keep != null) grids.put(y, keep);
            return y;
        }
        if (m instanceof Identity || m instanceof Dropout || m instanceof FusedInto) return x;
        if (m instanceof Conv2d c) {
            List<String> in = new ArrayList<>(List.of(x, init(path + ".weight", c.weight().data(), c.weight().shape())));
            if (c.bias() != null) in.add(init(path + ".bias", c.bias().data(), c.bias().shape()));
            return node("Conv", path, in, convAttrs(c.spec(), c.kernelH(), c.kernelW()));
        }
        if (m instanceof Linear l) {
            if (inShape.length != 2) {  // Gemm is 2-D only: MatMul by Wᵀ (+ bias) along the last axis
                float[] wt = new float[l.inFeatures() * l.outFeatures()], wd = l.weight().data();
                for (int o = 0; o < l.outFeatures(); o++) for (int i = 0; i < l.inFeatures(); i++) wt[i * l.outFeatures() + o] = wd[o * l.inFeatures() + i];
                String y = node("MatMul", path, List.of(x, init(path + ".weight_t", wt, new int[] {l.inFeatures(), l.outFeatures()})));
                return l.bias() == null ? y : node("Add", path, List.of(y, init(path + ".bias", l.bias().data(), l.bias().shape())));
            }
            List<String> in = new ArrayList<>(List.of(x, init(path + ".weight", l.weight().data(), l.weight().shape())));
            if (l.bias() != null) in.add(init(path + ".bias", l.bias().data(), l.bias().shape()));
            return node("Gemm", path, in, OnnxAttribute.ofInt("transB", 1));
        }
        if (m instanceof BatchNorm2d bn) {
            return node("BatchNormalization", path, List.of(x, init(path + ".gamma", bn.weight().data(), bn.weight().shape()),
                    init(path + ".beta", bn.bias().data(), bn.bias().shape()), init(path + ".mean", bn.runningMean().data(), bn.runningMean().shape()),
                    init(path + ".var", bn.runningVar().data(), bn.runningVar().shape())), OnnxAttribute.ofFloat("epsilon", (float) bn.eps()));
        }
        throw new IllegalArgumentException("ONNX export: no exporter for layer '" + path + "' (" + m.getClass().getSimpleName() + ")");
    }

    @Override
    public String node(String op, String path, List<String> inputs, OnnxAttribute... attrs) {
        String out = fresh(path.isEmpty() ? op : path);
        w.addNode(op, inputs, List.of(out), attrs);
        return out;
    }

    private String init(String name, float[] data, int[] shape) {
        String n = fresh(name);
        long[] dims = new long[shape.length];
        for (int i = 0; i < shape.length; i++) dims[i] = shape[i];
        w.addInitializer(n, data.clone(), dims);
        return n;
    }

    private String scalar(String name, float v) {
        String n = fresh(name);
        w.addInitializer(n, new float[] {v});
        return n;
    }

    @Override
    public String integerLayer(Module layer, String path, String input) {
        return switch (layer) {
            case QConv2d q -> emitQConv(q, path, input);
            case QLinear q -> emitQLinear(q, path, input);
            default -> throw new IllegalArgumentException("ONNX export: " + path + ": " + layer.getClass().getSimpleName() + " is not an int8 QConv2d or QLinear");
        };
    }

    /** Quantize → dequantize on a per-tensor grid; skipped if the value is already on it. */
    @Override
    public String qdq(String x, QuantParams p, String path) {
        if (p.equals(grids.get(x))) return x;
        String scale = scalar(path + ".scale", p.scale()[0]);
        String zp = fresh(path + ".zero_point");
        if (p.signed()) w.addInitializer(zp, new byte[] {(byte) p.zeroPoint()[0]});
        else w.addInitializerUint8(zp, new byte[] {(byte) p.zeroPoint()[0]});
        String q = fresh(path + ".q");
        w.addNode("QuantizeLinear", List.of(x, scale, zp), List.of(q));
        String dq = fresh(path + ".dq");
        w.addNode("DequantizeLinear", List.of(q, scale, zp), List.of(dq));
        grids.put(dq, p);
        return dq;
    }

    /** The int8 weight and int32 bias behind DequantizeLinear; returns {weightDq, biasDq or null}. */
    private String[] weightAndBias(String path, byte[] wq, int[] shape, QuantParams wp, int[] bias, QuantParams in) {
        long[] dims = new long[shape.length];
        for (int i = 0; i < shape.length; i++) dims[i] = shape[i];
        String wName = fresh(path + ".weight_int8");
        w.addInitializer(wName, wq.clone(), dims);
        String ws = fresh(path + ".weight_scale"), wz = fresh(path + ".weight_zero_point");
        byte[] zb = new byte[wp.channels()];
        for (int i = 0; i < zb.length; i++) zb[i] = (byte) wp.zeroPoint()[i];
        String wdq = fresh(path + ".weight");
        if (wp.perChannel()) {
            w.addInitializer(ws, wp.scale().clone(), wp.channels());
            w.addInitializer(wz, zb, wp.channels());
            w.addNode("DequantizeLinear", List.of(wName, ws, wz), List.of(wdq), OnnxAttribute.ofInt("axis", 0));
        } else {
            w.addInitializer(ws, new float[] {wp.scale()[0]});
            w.addInitializer(wz, zb);
            w.addNode("DequantizeLinear", List.of(wName, ws, wz), List.of(wdq));
        }
        if (bias == null) return new String[] {wdq, null};
        int c = bias.length;
        float[] bs = new float[c];
        for (int i = 0; i < c; i++) bs[i] = in.scale()[0] * wp.scale()[wp.perChannel() ? i : 0];
        String bName = fresh(path + ".bias_int32"), bsName = fresh(path + ".bias_scale"), bzName = fresh(path + ".bias_zero_point");
        w.addInitializer(bName, bias.clone(), c);
        w.addInitializer(bsName, bs, c);
        w.addInitializer(bzName, new int[c], c);
        String bdq = fresh(path + ".bias");
        w.addNode("DequantizeLinear", List.of(bName, bsName, bzName), List.of(bdq), OnnxAttribute.ofInt("axis", 0));
        return new String[] {wdq, bdq};
    }

    /** The ONNX MaxPool/AveragePool window attributes of a pooling layer. */
    private static OnnxAttribute[] poolAttrs(Pool2d p) {
        return new OnnxAttribute[] {OnnxAttribute.ofInts("kernel_shape", p.kernelH(), p.kernelW()), OnnxAttribute.ofInts("strides", p.strideH(), p.strideW()),
                OnnxAttribute.ofInts("pads", p.paddingH(), p.paddingW(), p.paddingH(), p.paddingW())};
    }

    /** The ONNX Conv attributes of a convolution geometry. */
    public static OnnxAttribute[] convAttrs(Conv2dSpec s, int kH, int kW) {
        return new OnnxAttribute[] {OnnxAttribute.ofInts("kernel_shape", kH, kW), OnnxAttribute.ofInts("strides", s.strideH(), s.strideW()),
                OnnxAttribute.ofInts("pads", s.padTop(), s.padLeft(), s.padBottom(), s.padRight()),
                OnnxAttribute.ofInts("dilations", s.dilationH(), s.dilationW()), OnnxAttribute.ofInt("group", s.groups())};
    }

    private String emitQConv(QConv2d q, String path, String x) {
        String xdq = qdq(x, q.inputParams(), path + ".input");
        String[] wb = weightAndBias(path, q.weightInt8(), q.weightShape(), q.weightParams(), q.biasInt32(), q.inputParams());
        List<String> in = new ArrayList<>(List.of(xdq, wb[0]));
        if (wb[1] != null) in.add(wb[1]);
        int[] ws = q.weightShape();
        String y = node("Conv", path, in, convAttrs(q.spec(), ws[2], ws[3]));
        return q.outputParams() == null ? y : qdq(y, q.outputParams(), path + ".output");
    }

    private String emitQLinear(QLinear q, String path, String x) {
        String xdq = qdq(x, q.inputParams(), path + ".input");
        String[] wb = weightAndBias(path, q.weightInt8(), new int[] {q.outFeatures(), q.inFeatures()}, q.weightParams(), q.biasInt32(), q.inputParams());
        List<String> in = new ArrayList<>(List.of(xdq, wb[0]));
        if (wb[1] != null) in.add(wb[1]);
        String y = node("Gemm", path, in, OnnxAttribute.ofInt("transB", 1));
        return q.outputParams() == null ? y : qdq(y, q.outputParams(), path + ".output");
    }
}
