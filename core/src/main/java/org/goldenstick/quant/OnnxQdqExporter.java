package org.goldenstick.quant;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.goldenstick.formats.onnx.OnnxAttribute;
import org.goldenstick.formats.onnx.OnnxDataType;
import org.goldenstick.formats.onnx.OnnxModelWriter;
import org.goldenstick.nn.AdaptiveAvgPool2d;
import org.goldenstick.nn.AvgPool2d;
import org.goldenstick.nn.BatchNorm2d;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Dropout;
import org.goldenstick.nn.Flatten;
import org.goldenstick.nn.Identity;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.MaxPool2d;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.ReLU;
import org.goldenstick.nn.ReLU6;
import org.goldenstick.nn.Sequential;
import org.goldenstick.nn.models.BasicBlock;
import org.goldenstick.tensor.Conv2dSpec;

/**
 * Exports a deploy network as an ONNX model (IR 10, opset 21) in QDQ form: every int8 layer becomes
 * {@code QuantizeLinear → DequantizeLinear} on its input, int8 weights behind a per-channel
 * {@code DequantizeLinear(axis=0)}, an int32 bias behind {@code DequantizeLinear} with scale {@code s_x·s_w}, the float
 * {@code Conv}/{@code Gemm}, and {@code QuantizeLinear → DequantizeLinear} on its output. Runtimes such as ONNX
 * Runtime fuse these into integer kernels. A Q/DQ pair is not repeated when the value already sits on the same grid.
 *
 * <p>Supported modules: {@link QConv2d}, {@link QLinear}, {@link QuantDequant}, float Conv2d/Linear/BatchNorm2d,
 * ReLU, ReLU6, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d(1), Flatten, Identity/Dropout, containers that run their
 * children in order, and ResNet's BasicBlock. Anything else is an error naming the layer.
 *
 * <pre>{@code
 * OnnxQdqExporter.export(deployNet, m -> m instanceof Sequential || m instanceof LeNet5, new int[] {1, 8, 8}, Path.of("lenet.onnx"));
 * }</pre>
 */
public final class OnnxQdqExporter implements OnnxLayerExport.Emitter {
    private final OnnxModelWriter w;
    private final Predicate<Module> chain;
    private OnnxLayerExport extra = (m, path, x, out) -> null;
    private int counter;
    /** The grid the current value sits on (after a DequantizeLinear), or null. */
    private QuantParams grid;

    private OnnxQdqExporter(String name, Predicate<Module> chain) {
        this.w = new OnnxModelWriter(name);
        this.chain = m -> m instanceof Sequential || chain.test(m);
    }

    /**
     * @param inputShape the per-sample input shape (e.g. {@code {1, 28, 28}}); the batch dimension is symbolic "N"
     * @param numOutputs the width of the network output {@code [N, numOutputs]}
     */
    public static void export(Module net, Predicate<Module> chainContainer, int[] inputShape, int numOutputs, Path file) throws IOException {
        export(net, chainContainer, inputShape, numOutputs, file, null);
    }

    /** As {@link #export(Module, Predicate, int[], int, Path)}, with {@code extra} asked first for every module (null: none). */
    public static void export(Module net, Predicate<Module> chainContainer, int[] inputShape, int numOutputs, Path file, OnnxLayerExport extra) throws IOException {
        OnnxQdqExporter e = new OnnxQdqExporter(net.getClass().getSimpleName(), chainContainer);
        if (extra != null) e.extra = extra;
        Object[] dims = new Object[inputShape.length + 1];
        dims[0] = "N";
        for (int i = 0; i < inputShape.length; i++) dims[i + 1] = inputShape[i];
        e.w.addInput("input", OnnxDataType.FLOAT, dims);
        String out = e.emit(net, "", "input");
        e.w.addNode("Identity", List.of(out), List.of("output"));
        e.w.addOutput("output", OnnxDataType.FLOAT, "N", numOutputs);
        e.w.write(file);
    }

    @Override
    public OnnxModelWriter writer() {
        return w;
    }

    @Override
    public String fresh(String base) {
        return base.replace('.', '_') + "_" + (counter++);
    }

    private String emit(Module m, String path, String x) {
        String own = extra.emit(m, path, x, this);
        if (own != null) {
            grid = null;
            return own;
        }
        if (m instanceof QConv2d q) return emitQConv(q, path, x);
        if (m instanceof QLinear q) return emitQLinear(q, path, x);
        if (m instanceof QuantDequant q) {
            String y = q.activation() == null ? x : emit(q.activation(), path + ".act", x);
            return qdq(y, q.params(), path);
        }
        if (m instanceof BasicBlock b) return emitBasicBlock(b, path, x);
        if (m instanceof ReLU) return node("Relu", path, List.of(x));
        if (m instanceof ReLU6) {
            String lo = scalar(path + ".min", 0f), hi = scalar(path + ".max", 6f);
            return node("Clip", path, List.of(x, lo, hi));
        }
        if (m instanceof MaxPool2d p) { // max-pooling keeps values on their grid
            QuantParams keep = grid;
            String y = node("MaxPool", path, List.of(x), OnnxAttribute.ofInts("kernel_shape", p.kernelSize(), p.kernelSize()),
                    OnnxAttribute.ofInts("strides", p.stride(), p.stride()), OnnxAttribute.ofInts("pads", p.padding(), p.padding(), p.padding(), p.padding()));
            grid = keep;
            return y;
        }
        if (m instanceof AvgPool2d p) {
            return node("AveragePool", path, List.of(x), OnnxAttribute.ofInts("kernel_shape", p.kernelSize(), p.kernelSize()),
                    OnnxAttribute.ofInts("strides", p.stride(), p.stride()), OnnxAttribute.ofInts("pads", p.padding(), p.padding(), p.padding(), p.padding()),
                    OnnxAttribute.ofInt("count_include_pad", p.countIncludePad() ? 1 : 0));
        }
        if (m instanceof AdaptiveAvgPool2d p) {
            if (p.outputH() != 1 || p.outputW() != 1) throw new IllegalArgumentException("ONNX export: " + path + ": only AdaptiveAvgPool2d(1) is supported");
            return node("GlobalAveragePool", path, List.of(x));
        }
        if (m instanceof Flatten f) {
            QuantParams keep = grid;
            String y = node("Flatten", path, List.of(x), OnnxAttribute.ofInt("axis", f.startDim()));
            grid = keep;
            return y;
        }
        if (m instanceof Identity || m instanceof Dropout || m.getClass().getSimpleName().equals("FusedInto")) return x;
        if (m instanceof Conv2d c) {
            List<String> in = new ArrayList<>(List.of(x, init(path + ".weight", c.weight().data(), c.weight().shape())));
            if (c.bias() != null) in.add(init(path + ".bias", c.bias().data(), c.bias().shape()));
            return node("Conv", path, in, convAttrs(c.spec(), c.kernelH(), c.kernelW()));
        }
        if (m instanceof Linear l) {
            List<String> in = new ArrayList<>(List.of(x, init(path + ".weight", l.weight().data(), l.weight().shape())));
            if (l.bias() != null) in.add(init(path + ".bias", l.bias().data(), l.bias().shape()));
            return node("Gemm", path, in, OnnxAttribute.ofInt("transB", 1));
        }
        if (m instanceof BatchNorm2d bn) {
            return node("BatchNormalization", path, List.of(x, init(path + ".gamma", bn.weight().data(), bn.weight().shape()),
                    init(path + ".beta", bn.bias().data(), bn.bias().shape()), init(path + ".mean", bn.runningMean().data(), bn.runningMean().shape()),
                    init(path + ".var", bn.runningVar().data(), bn.runningVar().shape())), OnnxAttribute.ofFloat("epsilon", (float) bn.eps()));
        }
        if (chain.test(m)) {
            for (Map.Entry<String, Module> e : m.children().entrySet()) x = emit(e.getValue(), path.isEmpty() ? e.getKey() : path + "." + e.getKey(), x);
            return x;
        }
        throw new IllegalArgumentException("ONNX export: no exporter for " + m.getClass().getSimpleName() + " at '" + path + "'");
    }

    private String emitBasicBlock(BasicBlock b, String path, String x) {
        Map<String, Module> c = b.children();
        QuantParams in = grid;
        String y = emit(c.get("conv1"), path + ".conv1", x);
        y = emit(c.get("bn1"), path + ".bn1", y);
        y = emit(c.get("relu"), path + ".relu", y);
        y = emit(c.get("conv2"), path + ".conv2", y);
        y = emit(c.get("bn2"), path + ".bn2", y);
        grid = in;
        String s = emit(c.get("shortcut"), path + ".shortcut", x);
        String sum = node("Add", path + ".add", List.of(y, s));
        return emit(c.get("relu"), path + ".relu_out", sum);
    }

    @Override
    public String node(String op, String path, List<String> inputs, OnnxAttribute... attrs) {
        String out = fresh(path.isEmpty() ? op : path);
        w.addNode(op, inputs, List.of(out), attrs);
        grid = null;
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

    /** Quantize → dequantize on a per-tensor grid; skipped if the value is already on it. */
    private String qdq(String x, QuantParams p, String path) {
        if (p.equals(grid)) return x;
        String scale = scalar(path + ".scale", p.scale()[0]);
        String zp = fresh(path + ".zero_point");
        if (p.signed()) w.addInitializer(zp, new byte[] {(byte) p.zeroPoint()[0]});
        else w.addInitializerUint8(zp, new byte[] {(byte) p.zeroPoint()[0]});
        String q = fresh(path + ".q");
        w.addNode("QuantizeLinear", List.of(x, scale, zp), List.of(q));
        String dq = fresh(path + ".dq");
        w.addNode("DequantizeLinear", List.of(q, scale, zp), List.of(dq));
        grid = p;
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
