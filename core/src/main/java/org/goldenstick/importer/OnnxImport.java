package org.goldenstick.importer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.goldenstick.formats.onnx.OnnxAttribute;
import org.goldenstick.formats.onnx.OnnxAutoPad;
import org.goldenstick.formats.onnx.OnnxDataType;
import org.goldenstick.formats.onnx.OnnxModel;
import org.goldenstick.formats.onnx.OnnxModelReader;
import org.goldenstick.formats.onnx.OnnxNode;
import org.goldenstick.formats.onnx.OnnxTensor;
import org.goldenstick.formats.onnx.OnnxValueInfo;
import org.goldenstick.nn.AdaptiveAvgPool2d;
import org.goldenstick.nn.Add;
import org.goldenstick.nn.AvgPool2d;
import org.goldenstick.nn.BatchNorm2d;
import org.goldenstick.nn.Clip;
import org.goldenstick.nn.ConstantPad;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Dropout;
import org.goldenstick.nn.Flatten;
import org.goldenstick.nn.HardSigmoid;
import org.goldenstick.nn.HardSwish;
import org.goldenstick.nn.Layer;
import org.goldenstick.nn.LeakyReLU;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.MaxPool2d;
import org.goldenstick.nn.Permute;
import org.goldenstick.nn.ReLU;
import org.goldenstick.nn.ReLU6;
import org.goldenstick.nn.Sigmoid;
import org.goldenstick.nn.Softmax;
import org.goldenstick.nn.Tanh;
import org.goldenstick.tensor.GradMode;
import org.goldenstick.tensor.Tensor;

/**
 * Imports a float ONNX network (a CNN exported by PyTorch, TensorFlow or this project) as an engine {@link OnnxNetwork}
 * with trainable weights: <b>the entry point is {@link #load(Path)} → {@link ImportedNetwork}</b> (module, one sample's
 * input shape, input and output names).
 *
 * <p>Each ONNX node becomes an engine layer or tensor op: Conv → {@code Conv2d} (groups, depthwise, dilation; explicit,
 * {@code SAME_UPPER}/{@code SAME_LOWER} and {@code VALID} padding, asymmetric padding through a {@code ConstantPad}), Gemm
 * and MatMul by a constant → {@code Linear} (transA/transB, alpha/beta folded), BatchNormalization → {@code BatchNorm2d}
 * (running statistics kept), Relu/Clip/LeakyRelu/Sigmoid/HardSigmoid/HardSwish/Tanh/Softmax → activation layers (Clip
 * to [0, 6] is {@code ReLU6}), MaxPool/AveragePool/GlobalAveragePool → pooling layers, Flatten (axis 1) → {@code Flatten},
 * Transpose → {@code Permute}, Pad (constant) → {@code ConstantPad}, Dropout → {@code Dropout}; Add/Sub/Mul/Div (NumPy
 * broadcasting), Concat, MatMul of two computed values, Reshape/Squeeze/Unsqueeze/other Flatten axes → tensor ops;
 * Identity is dropped. Constant, Shape, Gather, Cast, ConstantOfShape and any node whose inputs are all constant are
 * evaluated at import time, so PyTorch's {@code Shape → Gather → Unsqueeze → Concat → Reshape} flatten becomes one
 * reshape (the batch axis stays free). Opsets 11 to 21 are the target; the attribute forms of older opsets (Clip min/max, Pad
 * pads/value, Squeeze/Unsqueeze axes, Dropout ratio, legacy broadcast, BatchNormalization is_test) are read too; an
 * attribute of an old opset not listed is an error like any unknown attribute.
 *
 * <p>Anything else is an {@link OnnxImportException} naming the node, the op type and the attribute: an op outside the
 * list, an unknown attribute, an attribute value the engine has no form for (pooling dilations, ceil mode is fine), a
 * weight computed in the graph instead of stored, a graph with several inputs or outputs. A damaged file is an
 * {@code OnnxFormatException} from the reader naming the file and the byte offset.
 *
 * <pre>{@code
 * ImportedNetwork imp = OnnxImport.load(Path.of("mobilenet_v2.onnx"));
 * OnnxNetwork net = imp.module();                      // train it, SimQAT it, prune it with SCOP, export it
 * ModelGraph g = ModelGraph.trace(net, imp.inputShape());
 * }</pre>
 */
public final class OnnxImport {
    /** The newest default-domain opset read. */
    public static final long MAX_OPSET = 21;
    /** The oldest default-domain opset read (11 to 21 is the target; older attribute forms are read where listed). */
    public static final long MIN_OPSET = 1;

    /** Op types imported, with the attributes each accepts. */
    private static final Map<String, Set<String>> OPS = new LinkedHashMap<>();

    static {
        op("Conv", "auto_pad", "dilations", "group", "kernel_shape", "pads", "strides");
        op("Gemm", "alpha", "beta", "transA", "transB", "broadcast");
        op("MatMul");
        for (String b : List.of("Add", "Sub", "Mul", "Div")) op(b, "broadcast", "axis");
        op("Relu");
        op("Clip", "min", "max");
        op("LeakyRelu", "alpha");
        op("Sigmoid");
        op("HardSigmoid", "alpha", "beta");
        op("HardSwish");
        op("Tanh");
        op("BatchNormalization", "epsilon", "momentum", "training_mode", "is_test", "spatial");
        op("MaxPool", "auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides");
        op("AveragePool", "auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "strides");
        op("GlobalAveragePool");
        op("Flatten", "axis");
        op("Reshape", "allowzero");
        op("Concat", "axis");
        op("Transpose", "perm");
        op("Squeeze", "axes");
        op("Unsqueeze", "axes");
        op("Identity");
        op("Dropout", "ratio", "seed", "is_test");
        op("Pad", "mode", "pads", "value");
        op("Softmax", "axis");
        op("Constant", "value", "value_float", "value_floats", "value_int", "value_ints");
        op("Shape", "start", "end");
        op("Gather", "axis");
        op("Cast", "to", "saturate");
        op("ConstantOfShape", "value");
    }

    private static void op(String type, String... attrs) {
        OPS.put(type, Set.of(attrs));
    }

    private OnnxImport() {}

    /** The op types {@link #load} accepts. */
    public static Set<String> supportedOps() {
        return new TreeSet<>(OPS.keySet());
    }

    /**
     * Reads {@code file} and imports it. The graph must have one float input whose dimensions other than the first (the
     * batch, fixed or symbolic) are fixed, and one output.
     */
    public static ImportedNetwork load(Path file) throws IOException {
        return load(file, null);
    }

    /**
     * As {@link #load(Path)}, with one sample's shape (no batch axis) given, for graphs whose input has symbolic
     * dimensions besides the batch; null takes it from the file.
     */
    public static ImportedNetwork load(Path file, int[] sampleShape) throws IOException {
        OnnxModel model = OnnxModelReader.read(file);
        int[] example = null;
        if (sampleShape != null) {
            example = new int[sampleShape.length + 1];
            example[0] = 1;
            System.arraycopy(sampleShape, 0, example, 1, sampleShape.length);
        }
        return fromModel(model, file.toString(), Map.of(), example);
    }

    /**
     * Imports a parsed model. {@code constants} gives values for graph inputs that are to be treated as constants (e.g.
     * the weights of an ONNX backend test, which are graph inputs there); the one remaining input is the network's.
     * {@code exampleShape} is the full input shape used to resolve shapes at import time (batch axis included; null: the
     * declared shape, a symbolic batch taken as 1).
     */
    public static ImportedNetwork fromModel(OnnxModel model, String source, Map<String, OnnxTensor> constants, int[] exampleShape) {
        return new Builder(model, source, constants).build(exampleShape);
    }

    // ================================================================ import-time values

    /** A value of the ONNX graph at import time: computed at run time (with its example) or a constant. */
    private sealed interface Value permits Dyn, Const {}

    /** A value computed by the forward, stored in {@code slot}; {@code batched}: axis 0 is the batch axis. */
    private record Dyn(int slot, Tensor example, boolean batched) implements Value {}

    /** A constant (integers held as floats: shapes and indices are small). */
    private record Const(Tensor value) implements Value {}

    private static final class Builder {
        final OnnxModel model;
        final String source;
        final Map<String, OnnxTensor> bound;
        final long opset;
        final OnnxNetwork net;
        final Map<String, Value> values = new HashMap<>();
        final IdentityHashMap<Const, Integer> constSlots = new IdentityHashMap<>();
        final Set<String> names = new HashSet<>();
        final Random rng = new Random(0);
        OnnxNode node;
        int nodeIndex;

        Builder(OnnxModel model, String source, Map<String, OnnxTensor> bound) {
            this.model = model;
            this.source = source;
            this.bound = bound;
            this.opset = model.opset("");
            this.net = new OnnxNetwork(source);
        }

        ImportedNetwork build(int[] exampleShape) {
            if (opset > MAX_OPSET || opset < MIN_OPSET) {
                throw new OnnxImportException(source + ": default-domain opset " + opset + " is not supported (opsets " + MIN_OPSET + " to " + MAX_OPSET + " are read)");
            }
            var g = model.graph();
            for (OnnxTensor t : g.initializers()) values.put(t.name(), new Const(t.toTensor()));
            List<OnnxValueInfo> feeds = new ArrayList<>();
            for (OnnxValueInfo v : g.inputs()) {
                if (values.containsKey(v.name())) continue;
                OnnxTensor b = bound.get(v.name());
                if (b != null) values.put(v.name(), new Const(b.toTensor()));
                else feeds.add(v);
            }
            if (feeds.size() != 1) {
                throw new OnnxImportException(source + ": the graph has " + feeds.size() + " inputs that are not initializers " + feeds.stream().map(OnnxValueInfo::name).toList()
                        + "; one (the image batch) is imported");
            }
            OnnxValueInfo in = feeds.get(0);
            if (in.elemType() != OnnxDataType.FLOAT) throw new OnnxImportException(source + ": input '" + in.name() + "' is " + in.elemType() + "; a float input is imported");
            int[] shape = exampleShape != null ? exampleShape.clone() : declaredShape(in);
            values.put(in.name(), new Dyn(0, Tensor.zeros(shape), true));
            if (g.outputs().size() != 1) {
                throw new OnnxImportException(source + ": the graph has " + g.outputs().size() + " outputs " + g.outputs().stream().map(OnnxValueInfo::name).toList()
                        + "; a network with one output is imported");
            }
            try (var off = GradMode.off()) {
                for (nodeIndex = 0; nodeIndex < g.nodes().size(); nodeIndex++) {
                    node = g.nodes().get(nodeIndex);
                    importNode();
                }
            }
            String outName = g.outputs().get(0).name();
            Value out = values.get(outName);
            if (out == null) throw new OnnxImportException(source + ": output '" + outName + "' is not computed by any node");
            if (!(out instanceof Dyn d)) throw new OnnxImportException(source + ": output '" + outName + "' does not depend on the input '" + in.name() + "' (it is a constant)");
            net.finish(d.slot(), Arrays.copyOfRange(shape, 1, shape.length), d.example().shape());
            return new ImportedNetwork(net, Arrays.copyOfRange(shape, 1, shape.length), in.name(), outName, opset);
        }

        private int[] declaredShape(OnnxValueInfo in) {
            if (in.shape() == null || in.shape().isEmpty()) throw new OnnxImportException(source + ": input '" + in.name() + "' has no declared shape; give the sample shape");
            int[] s = new int[in.shape().size()];
            for (int i = 0; i < s.length; i++) {
                OnnxValueInfo.Dim d = in.shape().get(i);
                if (d instanceof OnnxValueInfo.Fixed f && f.value() > 0) s[i] = (int) f.value();
                else if (i == 0) s[i] = 1;
                else throw new OnnxImportException(source + ": input '" + in.name() + "' dimension " + i + " is " + d + "; only the batch axis may be symbolic (give the sample shape)");
            }
            return s;
        }

        // ------------------------------------------------------------ errors and attributes

        private String where() {
            String name = node.name().isEmpty() ? "#" + nodeIndex : "'" + node.name() + "'";
            return source + ": node " + name + " (" + node.opType() + ")";
        }

        private OnnxImportException fail(String what) {
            return new OnnxImportException(where() + ": " + what);
        }

        private OnnxImportException failAttr(String attr, String what) {
            return new OnnxImportException(where() + ": attribute '" + attr + "' " + what);
        }

        private long[] ints(String attr, long[] dflt) {
            return node.intsAttr(attr, dflt);
        }

        // ------------------------------------------------------------ inputs

        private Value input(int i) {
            if (i >= node.inputs().size() || node.inputs().get(i).isEmpty()) return null;
            String name = node.inputs().get(i);
            Value v = values.get(name);
            if (v == null) throw fail("input '" + name + "' is not computed by an earlier node, an initializer or the graph input");
            return v;
        }

        private Value required(int i, String what) {
            Value v = input(i);
            if (v == null) throw fail("input " + i + " (" + what + ") is missing");
            return v;
        }

        private Tensor constant(int i, String what) {
            Value v = input(i);
            if (v == null) return null;
            if (v instanceof Const c) return c.value();
            throw fail("input " + i + " (" + what + ", '" + node.inputs().get(i) + "') is computed in the graph; only a constant " + what + " is imported");
        }

        private Dyn dynamic(int i, String what) {
            Value v = required(i, what);
            if (v instanceof Dyn d) return d;
            throw fail("input " + i + " (" + what + ") is a constant");  // folded by the caller when every input is constant
        }

        private void output(Value v) {
            for (int k = 1; k < node.outputs().size(); k++) {
                if (!node.outputs().get(k).isEmpty()) throw fail("output " + k + " ('" + node.outputs().get(k) + "') is not supported; only the first output is imported");
            }
            if (node.outputs().isEmpty()) throw fail("the node has no output");
            values.put(node.outputs().get(0), v);
        }

        private String childName(String suffix) {
            String base = node.name().isEmpty() ? node.opType().toLowerCase() + "_" + nodeIndex : node.name();
            base = base.replaceAll("[^A-Za-z0-9_]", "_") + suffix;
            if (base.isEmpty() || Character.isDigit(base.charAt(0))) base = "n" + base;
            String n = base;
            for (int k = 2; !names.add(n); k++) n = base + "_" + k;
            return n;
        }

        // ------------------------------------------------------------ emitting

        /** Applies {@code layer} to {@code x}: a child and a step for a computed value, evaluated now for a constant. */
        private Value layer(Value x, Layer layer, String suffix) {
            if (x instanceof Const c) return new Const(layer.inEvalMode(() -> layer.forward(c.value())));
            Dyn d = (Dyn) x;
            Tensor y = layer.inEvalMode(() -> layer.forward(d.example()));
            int slot = net.newSlot();
            net.addLayer(childName(suffix), layer, d.slot(), slot);
            return new Dyn(slot, y, d.batched());
        }

        /**
         * A tensor op over values: evaluated now when every argument is constant; otherwise constant arguments become
         * buffers. {@code batched}: whether the result's axis 0 is the batch axis (null: it is when a batched argument's
         * axis 0 is kept).
         */
        private Value apply(String op, List<Value> args, OnnxNetwork.Op fn, Boolean batched) {
            Tensor[] ex = new Tensor[args.size()];
            boolean allConst = true;
            for (int i = 0; i < ex.length; i++) {
                Value v = args.get(i);
                ex[i] = v instanceof Const c ? c.value() : ((Dyn) v).example();
                allConst &= v instanceof Const;
            }
            Tensor y;
            try {
                y = fn.apply(ex);
            } catch (RuntimeException e) {
                throw fail(e.getMessage());
            }
            if (allConst) return new Const(y);
            int[] slots = new int[args.size()];
            boolean b = false;
            for (int i = 0; i < slots.length; i++) {
                Value v = args.get(i);
                if (v instanceof Dyn d) {
                    slots[i] = d.slot();
                    b |= d.batched() && d.example().rank() > 0 && y.rank() > 0 && d.example().dim(0) == y.dim(0) && d.example().rank() == y.rank();
                } else {
                    slots[i] = constSlot((Const) v);
                }
            }
            int slot = net.newSlot();
            net.addOp(op, slots, slot, fn);
            return new Dyn(slot, y, batched != null ? batched : b);
        }

        private int constSlot(Const c) {
            Integer s = constSlots.get(c);
            if (s != null) return s;
            int slot = net.newSlot();
            net.addConstant(childName("_const"), c.value().copy(), slot);
            constSlots.put(c, slot);
            return slot;
        }

        // ------------------------------------------------------------ nodes

        private void importNode() {
            if (!node.domain().isEmpty() && !node.domain().equals("ai.onnx")) throw fail("domain '" + node.domain() + "' is not supported (only the default ONNX domain)");
            Set<String> allowed = OPS.get(node.opType());
            if (allowed == null) throw fail("op type '" + node.opType() + "' is not supported; supported op types: " + supportedOps());
            for (String a : node.attributes().keySet()) if (!allowed.contains(a)) throw failAttr(a, "is not supported for " + node.opType() + " (known: " + new TreeSet<>(allowed) + ")");
            output(switch (node.opType()) {
                case "Conv" -> conv();
                case "Gemm" -> gemm();
                case "MatMul" -> matmul();
                case "Add", "Sub", "Mul", "Div" -> binary();
                case "Relu" -> unaryLayer(new ReLU());
                case "Clip" -> clip();
                case "LeakyRelu" -> unaryLayer(new LeakyReLU(node.floatAttr("alpha", 0.01f)));
                case "Sigmoid" -> unaryLayer(new Sigmoid());
                case "HardSigmoid" -> unaryLayer(new HardSigmoid(node.floatAttr("alpha", 0.2f), node.floatAttr("beta", 0.5f)));
                case "HardSwish" -> unaryLayer(new HardSwish());
                case "Tanh" -> unaryLayer(new Tanh());
                case "BatchNormalization" -> batchNorm();
                case "MaxPool", "AveragePool" -> pool();
                case "GlobalAveragePool" -> globalAveragePool();
                case "Flatten" -> flatten();
                case "Reshape" -> reshape();
                case "Concat" -> concat();
                case "Transpose" -> transpose();
                case "Squeeze" -> squeeze();
                case "Unsqueeze" -> unsqueeze();
                case "Identity" -> required(0, "input");
                case "Dropout" -> dropout();
                case "Pad" -> pad();
                case "Softmax" -> softmax();
                case "Constant" -> constantNode();
                case "Shape" -> shape();
                case "Gather" -> gather();
                case "Cast" -> cast();
                case "ConstantOfShape" -> constantOfShape();
                default -> throw new IllegalStateException(node.opType());
            });
        }

        private Value unaryLayer(Layer l) {
            return layer(required(0, "input"), l, "");
        }

        private static int[] toInts(long[] v) {
            int[] r = new int[v.length];
            for (int i = 0; i < v.length; i++) r[i] = Math.toIntExact(v[i]);
            return r;
        }

        private static long[] longs(Tensor t) {
            float[] d = t.data();
            long[] r = new long[d.length];
            for (int i = 0; i < d.length; i++) r[i] = (long) d[i];
            return r;
        }

        private int rank4(Value x, String what) {
            int[] s = x instanceof Dyn d ? d.example().shape() : ((Const) x).value().shape();
            if (s.length != 4) throw fail(what + " on a rank-" + s.length + " input " + Arrays.toString(s) + " is not supported (only 2-D: [N, C, H, W])");
            return s[1];
        }

        private static int[] shapeOf(Value v) {
            return v instanceof Dyn d ? d.example().shape() : ((Const) v).value().shape();
        }

        /** Begin/end pads for the two spatial axes of a conv or pool: {top, left, bottom, right}. */
        private int[] spatialPads(int[] in, int[] k, int[] s, int[] d) {
            String autoPad = node.stringAttr("auto_pad", "NOTSET");
            int[] p = new int[4];
            switch (autoPad) {
                case "NOTSET" -> {
                    long[] pads = ints("pads", new long[4]);
                    if (pads.length != 4) throw failAttr("pads", "= " + Arrays.toString(pads) + " must have 4 values for a 2-D " + node.opType());
                    p = toInts(pads);
                    for (int v : p) if (v < 0) throw failAttr("pads", "= " + Arrays.toString(pads) + " has a negative value");
                }
                case "VALID" -> { }
                case "SAME_UPPER", "SAME_LOWER" -> p = OnnxAutoPad.same(autoPad.equals("SAME_UPPER"), in, k, s, d);
                default -> throw failAttr("auto_pad", "= '" + autoPad + "' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER");
            }
            return p;
        }

        private int[] pair(String attr, int dflt) {
            long[] v = ints(attr, new long[] {dflt, dflt});
            if (v.length != 2) throw failAttr(attr, "= " + Arrays.toString(v) + " must have 2 values for a 2-D " + node.opType());
            int[] r = toInts(v);
            for (int x : r) if (x < 1) throw failAttr(attr, "= " + Arrays.toString(v) + " must be positive");
            return r;
        }

        private Value conv() {
            Value x = required(0, "X");
            int c = rank4(x, "Conv");
            Tensor w = constant(1, "weight");
            if (w == null) throw fail("input 1 (weight) is missing");
            Tensor b = constant(2, "bias");
            if (w.rank() != 4) throw fail("weight " + Arrays.toString(w.shape()) + " is not 4-D [out, in/group, kH, kW]");
            int group = Math.toIntExact(node.intAttr("group", 1));
            int out = w.dim(0), kH = w.dim(2), kW = w.dim(3);
            if (group < 1 || w.dim(1) * group != c || out % group != 0) {
                throw failAttr("group", "= " + group + " does not fit input channels " + c + " and weight " + Arrays.toString(w.shape()));
            }
            long[] ks = ints("kernel_shape", null);
            if (ks != null && (ks.length != 2 || ks[0] != kH || ks[1] != kW)) throw failAttr("kernel_shape", "= " + Arrays.toString(ks) + " does not match weight " + Arrays.toString(w.shape()));
            if (b != null && (b.numel() != out)) throw fail("bias " + Arrays.toString(b.shape()) + " does not have " + out + " values");
            int[] s = pair("strides", 1), d = pair("dilations", 1);
            int[] in = shapeOf(x);
            int[] p = spatialPads(new int[] {in[2], in[3]}, new int[] {kH, kW}, s, d);
            boolean symmetric = p[0] == p[2] && p[1] == p[3];
            if (!symmetric) x = layer(x, new ConstantPad(new int[] {0, 0, p[0], p[1], 0, 0, p[2], p[3]}, 0f), "_pad");
            int ph = symmetric ? p[0] : 0, pw = symmetric ? p[1] : 0;
            Conv2d conv = new Conv2d(c, out, kH, kW, s[0], s[1], ph, pw, d[0], d[1], group, b != null, rng);
            System.arraycopy(w.data(), 0, conv.weight().data(), 0, w.numel());
            if (b != null) System.arraycopy(b.data(), 0, conv.bias().data(), 0, out);
            return layer(x, conv, "");
        }

        private Value gemm() {
            Value a = required(0, "A");
            Tensor bw = constant(1, "B (weights)");
            if (bw == null) throw fail("input 1 (B) is missing");
            Value cv = input(2);
            Tensor c = cv instanceof Const cc ? cc.value() : null;
            float alpha = node.floatAttr("alpha", 1f), beta = node.floatAttr("beta", 1f);
            boolean transA = node.intAttr("transA", 0) != 0, transB = node.intAttr("transB", 0) != 0;
            if (shapeOf(a).length != 2) throw fail("A " + Arrays.toString(shapeOf(a)) + " is not 2-D");
            if (bw.rank() != 2) throw fail("B " + Arrays.toString(bw.shape()) + " is not 2-D");
            if (transA) a = layer(a, new Permute(1, 0), "_transA");
            int k = transB ? bw.dim(1) : bw.dim(0), n = transB ? bw.dim(0) : bw.dim(1);
            if (shapeOf(a)[1] != k) throw fail("A " + Arrays.toString(shapeOf(a)) + (transA ? " (transposed)" : "") + " does not match B " + Arrays.toString(bw.shape()) + (transB ? " (transposed)" : ""));
            boolean vectorBias = c != null && (c.numel() == n && (c.rank() == 1 || c.dim(0) == 1) || c.numel() == 1);
            Linear lin = new Linear(k, n, vectorBias, rng);
            float[] wd = lin.weight().data(), bd = bw.data();
            for (int o = 0; o < n; o++) for (int i = 0; i < k; i++) wd[o * k + i] = alpha * (transB ? bd[o * k + i] : bd[i * n + o]);
            if (vectorBias) {
                float[] lb = lin.bias().data();
                for (int o = 0; o < n; o++) lb[o] = beta * c.data()[c.numel() == 1 ? 0 : o];
            }
            Value y = layer(a, lin, "");
            if (c != null && !vectorBias) {  // a matrix bias [M, N] or [M, 1]: an add after the Linear
                Tensor cb = c.mul(beta);
                y = apply("add", List.of(y, new Const(cb)), t -> t[0].add(t[1]), null);
            }
            if (cv instanceof Dyn) {  // a computed C: added after the Linear
                Value cs = beta == 1f ? cv : apply("mul", List.of(cv, new Const(Tensor.scalar(beta))), t -> t[0].mul(t[1]), null);
                y = apply("add", List.of(y, cs), t -> t[0].add(t[1]), null);
            }
            return y;
        }

        private Value matmul() {
            Value a = required(0, "A"), b = required(1, "B");
            if (a instanceof Dyn && b instanceof Const c && c.value().rank() == 2 && shapeOf(a).length >= 2) {
                Tensor bw = c.value();
                int k = bw.dim(0), n = bw.dim(1);
                if (shapeOf(a)[shapeOf(a).length - 1] != k) throw fail("A " + Arrays.toString(shapeOf(a)) + " does not match B " + Arrays.toString(bw.shape()));
                Linear lin = new Linear(k, n, false, rng);
                float[] wd = lin.weight().data(), bd = bw.data();
                for (int o = 0; o < n; o++) for (int i = 0; i < k; i++) wd[o * k + i] = bd[i * n + o];
                return layer(a, lin, "");
            }
            return apply("matmul", List.of(a, b), t -> t[0].matmul(t[1]), null);
        }

        private Value binary() {
            Value a = required(0, "A"), b = required(1, "B");
            if (node.intAttr("broadcast", 0) != 0 && node.has("axis")) {  // opsets before 7: B aligned at `axis` of A
                int ra = shapeOf(a).length;
                int axis = Math.toIntExact(node.intAttr("axis", 0));
                if (axis < 0) axis += ra;
                int[] sb = shapeOf(b);
                if (axis + sb.length != ra) {
                    if (!(b instanceof Const cb)) throw failAttr("axis", "= " + axis + " (legacy broadcast) on a computed B is not supported");
                    int[] s = new int[ra - axis];
                    Arrays.fill(s, 1);
                    System.arraycopy(sb, 0, s, 0, sb.length);
                    b = new Const(cb.value().reshape(s));
                }
            }
            String op = node.opType().toLowerCase();
            if (op.equals("add") && a instanceof Dyn da && b instanceof Dyn db && Arrays.equals(da.example().shape(), db.example().shape())) {
                Add add = new Add(); // a sum of two computed tensors (a residual connection): a module that int8 deploy can run on codes
                net.addModule(childName(""), add);
                return apply(op, List.of(a, b), t -> add.forward(t[0], t[1]), null);
            }
            OnnxNetwork.Op fn = switch (op) {
                case "add" -> t -> t[0].add(t[1]);
                case "sub" -> t -> t[0].sub(t[1]);
                case "mul" -> t -> t[0].mul(t[1]);
                default -> t -> t[0].div(t[1]);
            };
            return apply(op, List.of(a, b), fn, null);
        }

        private Value clip() {
            float lo, hi;
            if (opset < 11) {
                lo = node.floatAttr("min", Float.NEGATIVE_INFINITY);
                hi = node.floatAttr("max", Float.POSITIVE_INFINITY);
            } else {
                for (String a : List.of("min", "max")) if (node.has(a)) throw failAttr(a, "is an attribute only before opset 11 (this model is opset " + opset + ")");
                Tensor mn = constant(1, "min"), mx = constant(2, "max");
                lo = mn == null ? Float.NEGATIVE_INFINITY : mn.data()[0];
                hi = mx == null ? Float.POSITIVE_INFINITY : mx.data()[0];
            }
            Layer l = lo == 0f && hi == 6f ? new ReLU6() : lo == 0f && hi == Float.POSITIVE_INFINITY ? new ReLU() : new Clip(lo, hi);
            return layer(required(0, "input"), l, "");
        }

        private Value batchNorm() {
            if (node.intAttr("training_mode", 0) != 0) throw failAttr("training_mode", "= 1 is not supported (inference-mode BatchNormalization only)");
            if (node.intAttr("spatial", 1) != 1) throw failAttr("spatial", "= 0 is not supported");
            Value x = required(0, "X");
            int c = rank4(x, "BatchNormalization");
            Tensor[] p = new Tensor[4];
            String[] what = {"scale", "B", "mean", "var"};
            for (int i = 0; i < 4; i++) {
                p[i] = constant(i + 1, what[i]);
                if (p[i] == null || p[i].numel() != c) throw fail("input " + (i + 1) + " (" + what[i] + ") must be a constant of " + c + " values");
            }
            double momentum = node.floatAttr("momentum", 0.9f);
            if (momentum < 0 || momentum > 1) throw failAttr("momentum", "= " + momentum + " is outside [0, 1]");
            float eps = node.floatAttr("epsilon", 1e-5f);
            if (!(eps > 0)) throw failAttr("epsilon", "= " + eps + " must be positive");
            // ONNX's momentum weighs the running estimate; PyTorch's (ours) weighs the batch statistic
            BatchNorm2d bn = new BatchNorm2d(c, 1 - momentum, eps);
            System.arraycopy(p[0].data(), 0, bn.weight().data(), 0, c);
            System.arraycopy(p[1].data(), 0, bn.bias().data(), 0, c);
            System.arraycopy(p[2].data(), 0, bn.runningMean().data(), 0, c);
            System.arraycopy(p[3].data(), 0, bn.runningVar().data(), 0, c);
            return layer(x, bn, "");
        }

        private Value pool() {
            boolean max = node.opType().equals("MaxPool");
            Value x = required(0, "X");
            rank4(x, node.opType());
            long[] ksl = ints("kernel_shape", null);
            if (ksl == null || ksl.length != 2) throw failAttr("kernel_shape", ksl == null ? "is missing" : "= " + Arrays.toString(ksl) + " must have 2 values (2-D pooling)");
            int[] k = toInts(ksl);
            int[] s = pair("strides", 1), d = pair("dilations", 1);
            if (d[0] != 1 || d[1] != 1) throw failAttr("dilations", "= " + Arrays.toString(d) + " is not supported (pooling without dilation only)");
            int[] in = shapeOf(x);
            int[] hw = {in[2], in[3]};
            int[] p = spatialPads(hw, k, s, d);
            boolean ceil = node.intAttr("ceil_mode", 0) != 0;
            int[] extra = new int[2];
            int[] outSize = new int[2];
            for (int a = 0; a < 2; a++) {
                int span = hw[a] + p[a] + p[a + 2] - k[a];
                if (span < 0) throw fail("kernel " + k[a] + " is larger than the padded input " + (hw[a] + p[a] + p[a + 2]));
                outSize[a] = (ceil ? (span + s[a] - 1) / s[a] : span / s[a]) + 1;
                if (ceil && (outSize[a] - 1) * s[a] >= hw[a] + p[a]) outSize[a]--;  // no window may start in the end padding
                extra[a] = Math.max(0, (outSize[a] - 1) * s[a] + k[a] - (hw[a] + p[a] + p[a + 2]));
            }
            boolean cip = node.intAttr("count_include_pad", 0) != 0;
            boolean plain = p[0] == p[2] && p[1] == p[3] && 2 * p[0] <= k[0] && 2 * p[1] <= k[1] && extra[0] == 0 && extra[1] == 0;
            if (plain) return layer(x, max ? new MaxPool2d(k[0], k[1], s[0], s[1], p[0], p[1]) : new AvgPool2d(k[0], k[1], s[0], s[1], p[0], p[1], cip), "");
            int[] pads = {0, 0, p[0], p[1], 0, 0, p[2] + extra[0], p[3] + extra[1]};
            x = layer(x, new ConstantPad(pads, max ? Float.NEGATIVE_INFINITY : 0f), "_pad");
            if (max) return layer(x, new MaxPool2d(k[0], k[1], s[0], s[1], 0, 0), "");
            Value y = layer(x, new AvgPool2d(k[0], k[1], s[0], s[1], 0, 0, true), "");
            // the padded average divides by k·k everywhere; ONNX divides by the window's cells inside the input
            // (count_include_pad = 0) or inside input + explicit pads (= 1), never counting the ceil-mode overhang
            float[] corr = new float[outSize[0] * outSize[1]];
            boolean needed = false;
            for (int oh = 0; oh < outSize[0]; oh++) {
                for (int ow = 0; ow < outSize[1]; ow++) {
                    int rows = cells(oh * s[0] - p[0], k[0], cip ? -p[0] : 0, cip ? hw[0] + p[2] : hw[0]);
                    int cols = cells(ow * s[1] - p[1], k[1], cip ? -p[1] : 0, cip ? hw[1] + p[3] : hw[1]);
                    corr[oh * outSize[1] + ow] = (float) (k[0] * k[1]) / (rows * cols);
                    needed |= rows * cols != k[0] * k[1];
                }
            }
            if (!needed) return y;
            return apply("mul", List.of(y, new Const(Tensor.of(corr, 1, 1, outSize[0], outSize[1]))), t -> t[0].mul(t[1]), null);
        }

        private static int cells(int start, int k, int lo, int hi) {
            return Math.max(1, Math.min(start + k, hi) - Math.max(start, lo));
        }

        private Value globalAveragePool() {
            Value x = required(0, "X");
            rank4(x, "GlobalAveragePool");
            return layer(x, new AdaptiveAvgPool2d(1), "");
        }

        private Value flatten() {
            Value x = required(0, "input");
            int[] s = shapeOf(x);
            int axis = Math.toIntExact(node.intAttr("axis", 1));
            if (axis < 0) axis += s.length;
            if (axis < 0 || axis > s.length) throw failAttr("axis", "= " + node.intAttr("axis", 1) + " is out of range for rank " + s.length);
            if (axis == 1 && s.length >= 2 && x instanceof Dyn d && d.batched()) return layer(x, new Flatten(1), "");
            int outer = 1;
            for (int i = 0; i < axis; i++) outer *= s[i];
            int[] target = {outer, outer == 0 ? 0 : Arrays.stream(s).reduce(1, (p, q) -> p * q) / outer};
            return apply("reshape", List.of(x), t -> t[0].reshape(target), false);
        }

        private Value reshape() {
            Value x = required(0, "data");
            Tensor shapeT = constant(1, "shape");
            if (shapeT == null) {  // opset 1-4 kept it in an attribute; not read
                throw fail("input 1 (shape) is missing");
            }
            long[] target = longs(shapeT);
            int[] in = shapeOf(x);
            boolean allowZero = node.intAttr("allowzero", 0) != 0;
            int[] out = new int[target.length];
            int infer = -1;
            long known = 1;
            for (int i = 0; i < target.length; i++) {
                if (target[i] == 0 && !allowZero) {
                    if (i >= in.length) throw fail("shape " + Arrays.toString(target) + " copies axis " + i + " that input " + Arrays.toString(in) + " does not have");
                    out[i] = in[i];
                } else if (target[i] == -1) {
                    if (infer >= 0) throw fail("shape " + Arrays.toString(target) + " has two -1");
                    infer = i;
                    continue;
                } else if (target[i] < 0) {
                    throw fail("shape " + Arrays.toString(target) + " has a negative size");
                } else {
                    out[i] = Math.toIntExact(target[i]);
                }
                known *= out[i];
            }
            long total = 1;
            for (int v : in) total *= v;
            if (infer >= 0) {
                if (known == 0 || total % known != 0) throw fail("cannot reshape " + Arrays.toString(in) + " to " + Arrays.toString(target));
                out[infer] = (int) (total / known);
            }
            boolean batchKept = x instanceof Dyn d && d.batched() && out.length >= 1 && in.length >= 1 && out[0] == in[0];
            if (batchKept && out.length == 2) {  // a flatten: the feature count follows the input (pruned channels)
                return apply("reshape", List.of(x), t -> t[0].reshape(t[0].dim(0), -1), true);
            }
            if (batchKept) {
                int[] rest = out.clone();
                return apply("reshape", List.of(x), t -> {
                    rest[0] = t[0].dim(0);
                    return t[0].reshape(rest.clone());
                }, true);
            }
            return apply("reshape", List.of(x), t -> t[0].reshape(out), false);
        }

        private Value concat() {
            if (!node.has("axis")) throw failAttr("axis", "is missing");
            int axis = Math.toIntExact(node.intAttr("axis", 0));
            List<Value> args = new ArrayList<>();
            for (int i = 0; i < node.inputs().size(); i++) args.add(required(i, "input " + i));
            if (args.isEmpty()) throw fail("no inputs");
            int rank = shapeOf(args.get(0)).length;
            int ax = axis < 0 ? axis + rank : axis;
            if (ax < 0 || ax >= rank) throw failAttr("axis", "= " + axis + " is out of range for rank " + rank);
            return apply("concat", args, t -> Tensor.concat(ax, t), ax == 0 ? Boolean.FALSE : null);
        }

        private Value transpose() {
            Value x = required(0, "data");
            int r = shapeOf(x).length;
            long[] perm = ints("perm", null);
            int[] p = new int[r];
            if (perm == null) {
                for (int i = 0; i < r; i++) p[i] = r - 1 - i;
            } else {
                if (perm.length != r) throw failAttr("perm", "= " + Arrays.toString(perm) + " does not have " + r + " entries");
                p = toInts(perm);
            }
            Value y = layer(x, new Permute(p), "");
            return y instanceof Dyn d ? new Dyn(d.slot(), d.example(), d.batched() && p[0] == 0) : y;
        }

        private long[] axesArg(boolean required) {
            long[] axes = ints("axes", null);
            if (axes != null && opset >= 13) throw failAttr("axes", "is an input from opset 13 (this model is opset " + opset + ")");
            if (axes == null && input(1) != null) axes = longs(constant(1, "axes"));
            if (axes == null && required) throw fail("axes are missing");
            return axes;
        }

        private Value squeeze() {
            Value x = required(0, "data");
            int[] s = shapeOf(x);
            long[] axes = axesArg(false);
            boolean[] drop = new boolean[s.length];
            if (axes == null) {
                for (int i = 0; i < s.length; i++) drop[i] = s[i] == 1;
            } else {
                for (long a : axes) {
                    int ax = (int) (a < 0 ? a + s.length : a);
                    if (ax < 0 || ax >= s.length || s[ax] != 1) throw fail("cannot squeeze axis " + a + " of " + Arrays.toString(s));
                    drop[ax] = true;
                }
            }
            boolean batched = x instanceof Dyn d && d.batched() && !drop[0];
            return apply("reshape", List.of(x), t -> {
                int[] sh = t[0].shape();
                int[] o = new int[sh.length];
                int n = 0;
                for (int i = 0; i < sh.length; i++) if (!drop[i]) o[n++] = sh[i];
                return t[0].reshape(Arrays.copyOf(o, n));
            }, batched);
        }

        private Value unsqueeze() {
            Value x = required(0, "data");
            int[] s = shapeOf(x);
            long[] axes = axesArg(true);
            int r = s.length + axes.length;
            boolean[] insert = new boolean[r];
            for (long a : axes) {
                int ax = (int) (a < 0 ? a + r : a);
                if (ax < 0 || ax >= r || insert[ax]) throw fail("bad unsqueeze axes " + Arrays.toString(axes) + " for rank " + s.length);
                insert[ax] = true;
            }
            boolean batched = x instanceof Dyn d && d.batched() && !insert[0];
            return apply("reshape", List.of(x), t -> {
                int[] sh = t[0].shape();
                int[] o = new int[r];
                for (int i = 0, j = 0; i < r; i++) o[i] = insert[i] ? 1 : sh[j++];
                return t[0].reshape(o);
            }, batched);
        }

        private Value dropout() {
            Value x = required(0, "data");
            float ratio = node.floatAttr("ratio", 0.5f);
            if (opset >= 12) {
                if (node.has("ratio")) throw failAttr("ratio", "is an input from opset 12 (this model is opset " + opset + ")");
                Tensor r = constant(1, "ratio");
                ratio = r == null ? 0.5f : r.data()[0];
                Tensor training = constant(2, "training_mode");
                if (training != null && training.data()[0] != 0) throw fail("input 2 (training_mode) is true; only an inference-mode Dropout is imported");
            }
            if (!(ratio >= 0 && ratio < 1)) throw fail("ratio " + ratio + " is outside [0, 1)");
            return layer(x, new Dropout(ratio, new Random(node.intAttr("seed", 0))), "");
        }

        private Value pad() {
            Value x = required(0, "data");
            String mode = node.stringAttr("mode", "constant");
            if (!mode.equals("constant")) throw failAttr("mode", "= '" + mode + "' is not supported (constant padding only)");
            int r = shapeOf(x).length;
            long[] pads;
            float value;
            if (opset < 11) {
                pads = ints("pads", null);
                if (pads == null) throw failAttr("pads", "is missing");
                value = node.floatAttr("value", 0f);
            } else {
                for (String a : List.of("pads", "value")) if (node.has(a)) throw failAttr(a, "is an input from opset 11 (this model is opset " + opset + ")");
                Tensor p = constant(1, "pads");
                if (p == null) throw fail("input 1 (pads) is missing");
                pads = longs(p);
                Tensor v = constant(2, "constant_value");
                value = v == null ? 0f : v.data()[0];
                Tensor axesT = constant(3, "axes");
                if (axesT != null) {  // opset 18: pads for the listed axes only
                    long[] axes = longs(axesT);
                    if (pads.length != 2 * axes.length) throw fail("pads " + Arrays.toString(pads) + " do not match axes " + Arrays.toString(axes));
                    long[] full = new long[2 * r];
                    for (int i = 0; i < axes.length; i++) {
                        int a = (int) (axes[i] < 0 ? axes[i] + r : axes[i]);
                        full[a] = pads[i];
                        full[a + r] = pads[i + axes.length];
                    }
                    pads = full;
                }
            }
            if (pads.length != 2 * r) throw fail("pads " + Arrays.toString(pads) + " do not have 2 × " + r + " values for input rank " + r);
            return layer(x, new ConstantPad(toInts(pads), value), "");
        }

        private Value softmax() {
            Value x = required(0, "input");
            int axis = Math.toIntExact(node.intAttr("axis", opset >= 13 ? -1 : 1));
            int r = shapeOf(x).length;
            if (axis < -r || axis >= r) throw failAttr("axis", "= " + axis + " is out of range for rank " + r);
            return layer(x, opset >= 13 ? new Softmax(axis) : Softmax.coerced(axis), "");
        }

        private Value constantNode() {
            for (var e : node.attributes().entrySet()) {
                OnnxAttribute a = e.getValue();
                return new Const(switch (e.getKey()) {
                    case "value" -> node.tensorAttr("value").toTensor();
                    case "value_float" -> Tensor.scalar(node.floatAttr("value_float", 0f));
                    case "value_floats" -> Tensor.of(node.floatsAttr("value_floats", null), node.floatsAttr("value_floats", null).length);
                    case "value_int" -> Tensor.scalar((float) node.intAttr("value_int", 0));
                    case "value_ints" -> {
                        long[] v = node.intsAttr("value_ints", null);
                        float[] f = new float[v.length];
                        for (int i = 0; i < v.length; i++) f[i] = v[i];
                        yield Tensor.of(f, v.length);
                    }
                    default -> throw failAttr(e.getKey(), "(" + a.getClass().getSimpleName() + ") is not supported");
                });
            }
            throw fail("no value attribute");
        }

        private Value shape() {
            int[] s = shapeOf(required(0, "data"));
            int r = s.length;
            int start = (int) node.intAttr("start", 0), end = (int) node.intAttr("end", r);
            if (start < 0) start += r;
            if (end < 0) end += r;
            start = Math.max(0, Math.min(r, start));
            end = Math.max(start, Math.min(r, end));
            float[] f = new float[end - start];
            for (int i = start; i < end; i++) f[i - start] = s[i];
            return new Const(Tensor.of(f, f.length));
        }

        private Value gather() {
            Value data = required(0, "data");
            if (!(data instanceof Const c)) throw fail("Gather on a computed tensor is not supported (only on constants, e.g. a shape)");
            Tensor idx = constant(1, "indices");
            if (idx == null) throw fail("input 1 (indices) is missing");
            Tensor d = c.value();
            int r = d.rank();
            int axis = Math.toIntExact(node.intAttr("axis", 0));
            if (axis < 0) axis += r;
            if (axis < 0 || axis >= r) throw failAttr("axis", "= " + node.intAttr("axis", 0) + " is out of range for rank " + r);
            int[] ds = d.shape(), is = idx.shape();
            int outer = 1, inner = 1;
            for (int i = 0; i < axis; i++) outer *= ds[i];
            for (int i = axis + 1; i < r; i++) inner *= ds[i];
            int n = idx.numel(), len = ds[axis];
            float[] out = new float[outer * n * inner];
            for (int o = 0; o < outer; o++) {
                for (int j = 0; j < n; j++) {
                    int k = (int) idx.data()[j];
                    if (k < 0) k += len;
                    if (k < 0 || k >= len) throw fail("index " + (int) idx.data()[j] + " is out of range for axis " + axis + " of size " + len);
                    System.arraycopy(d.data(), (o * len + k) * inner, out, (o * n + j) * inner, inner);
                }
            }
            int[] os = new int[r - 1 + is.length];
            System.arraycopy(ds, 0, os, 0, axis);
            System.arraycopy(is, 0, os, axis, is.length);
            System.arraycopy(ds, axis + 1, os, axis + is.length, r - axis - 1);
            return new Const(os.length == 0 ? Tensor.scalar(out[0]) : Tensor.of(out, os));
        }

        private Value cast() {
            Value x = required(0, "input");
            OnnxDataType to = OnnxDataType.fromCodeOrNull((int) node.intAttr("to", 0));
            if (to == null) throw failAttr("to", "= " + node.intAttr("to", 0) + " is not a known data type");
            if (x instanceof Const c) {
                boolean integer = to != OnnxDataType.FLOAT && to != OnnxDataType.DOUBLE && to != OnnxDataType.FLOAT16 && to != OnnxDataType.BFLOAT16;
                if (!integer) return c;
                float[] f = c.value().data().clone();
                for (int i = 0; i < f.length; i++) f[i] = to == OnnxDataType.BOOL ? (f[i] != 0 ? 1 : 0) : (float) (long) f[i];
                return new Const(c.value().rank() == 0 ? Tensor.scalar(f[0]) : Tensor.of(f, c.value().shape()));
            }
            if (to != OnnxDataType.FLOAT) throw failAttr("to", "= " + to + " on a computed value is not supported (float only)");
            return x;
        }

        private Value constantOfShape() {
            Tensor s = constant(0, "shape");
            if (s == null) throw fail("input 0 (shape) is missing");
            OnnxTensor v = node.tensorAttr("value");
            float fill = v == null ? 0f : v.toFloats()[0];
            int[] shape = toInts(longs(s));
            return new Const(shape.length == 0 ? Tensor.scalar(fill) : Tensor.full(fill, shape));
        }
    }
}
