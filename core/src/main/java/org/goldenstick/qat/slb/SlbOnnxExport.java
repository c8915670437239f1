package org.goldenstick.qat.slb;

import java.util.ArrayList;
import java.util.List;
import org.goldenstick.formats.onnx.OnnxAttribute;
import org.goldenstick.nn.Layer;
import org.goldenstick.nn.Module;
import org.goldenstick.quant.OnnxLayerExport;
import org.goldenstick.quant.OnnxQdqExporter;

/**
 * Writes SLB's bit-packed layers into an ONNX graph with their real low-bit weights (opset 21): the level indices
 * become integer initializers behind a per-channel {@code DequantizeLinear(axis=0)}, feeding a float {@code Conv} or
 * {@code Gemm}, with the layer's input/output activation grids as QuantizeLinear → DequantizeLinear. Levels are {@code linspace(−1, 1, 2^b)} ({@code {−1, +1}} at 1 bit), so
 * <ul>
 *   <li>1 and 2 bits: INT8 {@code q = 2k − (2^b − 1)} ∈ {−1, 1} or {−3, −1, 1, 3}, scale {@code s / (2^b − 1)}: exact;</li>
 *   <li>4 bits: INT4 {@code q = k − 8} ∈ [−8, 7]; the level is {@code (2q + 1)/15}, so the weight is
 *   {@code DequantizeLinear(q, 2s/15) + s/15} (an {@code Add} of one value per output channel): the 16 levels have
 *   no zero, and ONNX zero points are integers.</li>
 * </ul>
 * A 1- or 2-bit layer with 8-bit input and output grids is written as the int8 layer it computes as
 * ({@link PackedLayer#integerForm()}: the same INT8 codes and scales, plus the bias as INT32 behind DequantizeLinear),
 * the QDQ form a runtime fuses into an integer convolution or GEMM.
 * The deploy file keeps the packed form; this is how a runtime that knows only ONNX's integer types reads it.
 *
 * <pre>{@code
 * OnnxQdqExporter.export(deploy, chain, new int[] {1, 8, 8}, 10, Path.of("lenet-slb.onnx"), new SlbOnnxExport());
 * }</pre>
 */
public final class SlbOnnxExport implements OnnxLayerExport {
    @Override
    public String emit(Module m, String path, String x, OnnxLayerExport.Emitter out) {
        if (!(m instanceof PackedLayer p)) return null;
        Layer integer = p.integerForm();
        if (integer != null) return out.integerLayer(integer, path, x);
        String in = p.inputGrid() == null ? x : out.qdq(x, p.inputGrid(), path + ".input");
        String y = switch (p) {
            case PackedConv2d c -> {
                int[] shape = {c.outChannels(), c.cols() / (c.kernelH() * c.kernelW()), c.kernelH(), c.kernelW()};
                yield out.node("Conv", path, inputs(c, path, in, shape, out), OnnxQdqExporter.convAttrs(c.spec(), c.kernelH(), c.kernelW()));
            }
            case PackedLinear l -> out.node("Gemm", path, inputs(l, path, in, new int[] {l.outFeatures(), l.inFeatures()}, out), OnnxAttribute.ofInt("transB", 1));
        };
        return p.outputGrid() == null ? y : out.qdq(y, p.outputGrid(), path + ".output");
    }

    /** {x, dequantized weight, bias?}. */
    private static List<String> inputs(PackedLayer p, String path, String x, int[] shape, OnnxLayerExport.Emitter out) {
        List<String> in = new ArrayList<>(List.of(x, weight(p, path, shape, out)));
        float[] b = p.biasValues();
        if (b != null) {
            String bn = out.fresh(path + ".bias");
            out.writer().addInitializer(bn, b, b.length);
            in.add(bn);
        }
        return in;
    }

    private static String weight(PackedLayer p, String path, int[] shape, OnnxLayerExport.Emitter out) {
        int bits = p.bits(), n = 1 << bits, oc = p.outChannels();
        float[] s = p.scales();
        if (!p.linspaceLevels()) throw new IllegalArgumentException("ONNX export: " + path + ": levels are not linspace(-1, 1, " + n + ")");
        long[] dims = new long[shape.length];
        for (int i = 0; i < shape.length; i++) dims[i] = shape[i];
        float[] scale;
        String q = out.fresh(path + ".weight_q"), sc = out.fresh(path + ".weight_scale");
        if (bits <= 2) {
            scale = p.int8Scales();
            out.writer().addInitializer(q, p.int8Codes(), dims);
        } else {
            int[] idx = p.levelIndex();
            int[] v = new int[idx.length];
            for (int i = 0; i < idx.length; i++) v[i] = idx[i] - n / 2;
            scale = new float[oc];
            for (int o = 0; o < oc; o++) scale[o] = 2 * s[o] / (n - 1);
            out.writer().addInitializerInt4(q, v, dims);
        }
        out.writer().addInitializer(sc, scale, oc);
        String w = out.node("DequantizeLinear", path + ".weight", List.of(q, sc), OnnxAttribute.ofInt("axis", 0));
        if (bits <= 2) return w;
        float[] offset = new float[oc];
        for (int o = 0; o < oc; o++) offset[o] = s[o] / (n - 1);
        long[] odims = new long[shape.length];
        java.util.Arrays.fill(odims, 1);
        odims[0] = oc;
        String off = out.fresh(path + ".weight_offset");
        out.writer().addInitializer(off, offset, odims);
        return out.node("Add", path + ".weight_shift", List.of(w, off));
    }
}
