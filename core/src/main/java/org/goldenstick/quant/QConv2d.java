package org.goldenstick.quant;

import java.util.Map;
import org.goldenstick.formats.safetensors.SafetensorsFile;
import org.goldenstick.formats.safetensors.SafetensorsWriter;
import org.goldenstick.nn.Layer;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Conv2dSpec;
import org.goldenstick.tensor.OpTrace;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.Parallel;
import org.goldenstick.tensor.kernel.Requantize;

/**
 * An int8 2-D convolution over {@code [N, C, H, W]}: the input codes (the producer's, when it was a deploy layer on the
 * same grid, else the input quantized per tensor) are convolved with int8 weights {@code [out, in/groups, kH, kW]}
 * with int32 accumulation, padding counting as the input zero point, image by image ({@code Int8Conv}); while each
 * image's accumulators are in cache the int32 bias is added and the result requantized to the output grid (or
 * dequantized when there is no output quantizer), and the output codes are kept for the next deploy layer.
 * {@link #convIntegerRows} (im2col of the whole batch and {@link Int8Ops#gemm}) is the plain reference it equals.
 *
 * <pre>{@code
 * QConv2d q = QConv2d.quantize(w, b, spec, weightParams, inputParams, outputParams);
 * Tensor y = q.forward(x);   // values on the output grid
 * }</pre>
 */
public final class QConv2d extends Layer implements DeployLayer, CodeProducer {
    private final int outChannels, inPerGroup, kH, kW;
    private final Conv2dSpec spec;
    private byte[] weight;
    private int[] bias;
    private QuantParams weightParams, inputParams, outputParams;
    private volatile Int8Conv.Weights prepared;

    public QConv2d(int[] weightShape, Conv2dSpec spec, byte[] weight, QuantParams weightParams, int[] bias, QuantParams inputParams,
                   QuantParams outputParams) {
        if (weightShape.length != 4) throw new IllegalArgumentException("QConv2d: weight shape must be [out, in/groups, kH, kW], got " + java.util.Arrays.toString(weightShape));
        this.outChannels = weightShape[0];
        this.inPerGroup = weightShape[1];
        this.kH = weightShape[2];
        this.kW = weightShape[3];
        if (weight.length != outChannels * inPerGroup * kH * kW) throw new IllegalArgumentException("QConv2d: weight has " + weight.length + " values for shape " + java.util.Arrays.toString(weightShape));
        if (bias != null && bias.length != outChannels) throw new IllegalArgumentException("QConv2d: bias has " + bias.length + " values for " + outChannels + " channels");
        if (weightParams.perChannel() && (weightParams.axis() != 0 || weightParams.channels() != outChannels)) {
            throw new IllegalArgumentException("QConv2d: per-channel weight parameters must be on axis 0 with " + outChannels + " channels, got " + weightParams);
        }
        if (!weightParams.signed() || weightParams.bits() != 8) throw new IllegalArgumentException("QConv2d: weights must be int8, got " + weightParams);
        if (inputParams.perChannel() || inputParams.bits() != 8) throw new IllegalArgumentException("QConv2d: input must be 8-bit per tensor, got " + inputParams);
        if (outChannels % spec.groups() != 0) throw new IllegalArgumentException("QConv2d: groups " + spec.groups() + " must divide " + outChannels);
        this.spec = spec;
        this.weight = weight;
        this.weightParams = weightParams;
        this.bias = bias;
        this.inputParams = inputParams;
        this.outputParams = outputParams;
    }

    public static QConv2d quantize(Tensor w, Tensor b, Conv2dSpec spec, QuantParams weightParams, QuantParams inputParams, QuantParams outputParams) {
        byte[] q = QuantMath.quantizeInt8(w.data(), w.shape(), weightParams);
        int[] bq = b == null ? null : QuantMath.quantizeBias(b.data(), QLinear.biasScale(inputParams, weightParams, w.dim(0)));
        return new QConv2d(w.shape(), spec, q, weightParams, bq, inputParams, outputParams);
    }

    public byte[] weightInt8() { return weight; }
    public int[] biasInt32() { return bias; }
    public int[] weightShape() { return new int[] {outChannels, inPerGroup, kH, kW}; }
    public Conv2dSpec spec() { return spec; }
    public QuantParams weightParams() { return weightParams; }
    public QuantParams inputParams() { return inputParams; }
    public QuantParams outputParams() { return outputParams; }

    @Override
    protected Tensor compute(Tensor x) {
        if (x.rank() != 4 || x.dim(1) != inPerGroup * spec.groups()) {
            throw new IllegalArgumentException("QConv2d: expected input [N, " + inPerGroup * spec.groups() + ", H, W], got " + java.util.Arrays.toString(x.shape()));
        }
        byte[] xq = GridCodes.codesOrQuantize(x, inputParams);
        int[] os = outputShape(x.shape(), weightShape(), spec);
        int hw = os[2] * os[3];
        Int8Conv.Weights w = prepared();
        boolean xUnsigned = !inputParams.signed();
        int zx = inputParams.zeroPoint()[0], oh = os[2], ow = os[3];
        int[] corr = Int8Conv.zeroPointCorrection(w, xUnsigned, zx); // the input zero point's share, folded into the bias
        int[] add = new int[outChannels];
        for (int o = 0; o < outChannels; o++) add[o] = corr[o] + (bias == null ? 0 : bias[o]);
        float[] accScale = QLinear.biasScale(inputParams, weightParams, outChannels);
        if (outputParams == null) {
            float[] y = new float[os[0] * outChannels * hw];
            Int8Conv.run(xq, xUnsigned, zx, x.shape(), w, spec, (img, acc, ld, pitch) -> {
                for (int o = 0; o < outChannels; o++) {
                    int b = bias == null ? 0 : bias[o], co = corr[o];
                    double s = accScale[o];
                    for (int oy = 0; oy < oh; oy++) {
                        int src = o * ld + oy * pitch, dst = (img * outChannels + o) * hw + oy * ow;
                        for (int i = 0; i < ow; i++) y[dst + i] = (float) (((long) (acc[src + i] + co) + b) * s);
                    }
                }
            });
            return Tensor.of(y, os);
        }
        // Int8Ops.finish's epilogue per image while its accumulators are in cache: + bias, requantize, dequantize
        float so = outputParams.scale()[0];
        int zo = outputParams.zeroPoint()[0], minCode = outputParams.qmin(), planes = outChannels * hw;
        boolean unsigned = !outputParams.signed();
        float[] mult = new float[outChannels];
        for (int o = 0; o < outChannels; o++) mult[o] = accScale[o] / so;
        byte[] yq = new byte[os[0] * planes];
        float[] y = floatsOnDemand && !OpTrace.active() ? null : new float[yq.length]; // null: codes only, floats on demand
        CodeActivation f = OpTrace.active() ? null : fused; // a trace records the conv and the activation as two layers
        int[] clamp = f == null ? null : f.sameGridClamp(outputParams); // ReLU on the conv's grid: a clamp while requantizing
        byte[] table = f == null || clamp != null ? null : f.codeTable(outputParams);
        int lo = clamp != null ? clamp[0] : unsigned ? 0 : -128, hi = clamp != null ? clamp[1] : unsigned ? 255 : 127;
        Int8Conv.run(xq, xUnsigned, zx, x.shape(), w, spec, (img, acc, ld, pitch) -> {
            int start = img * planes;
            for (int o = 0; o < outChannels; o++) { // in order: a row's spill past its end is overwritten by the next one
                int dst = start + o * hw;
                Requantize.requantizeRows(acc, o * ld, pitch, oh, ow, add[o], mult[o], zo, unsigned, lo, hi, minCode, so, yq, dst, table == null ? y : null,
                        dst, planes - o * hw);
            }
            if (table != null) { // the activation's code table and its grid's values, while the image is in cache
                Int8Ops.mapCodes(yq, table, yq, start, start + planes);
                if (y != null) Int8Ops.dequantize(yq, f.outputGrid(outputParams), y, start, start + planes);
            }
        });
        return GridCodes.output(y, yq, f != null ? f.outputGrid(outputParams) : outputParams, f, os);
    }

    private volatile boolean floatsOnDemand;

    @Override
    public boolean floatsOnDemand() {
        return floatsOnDemand;
    }

    @Override
    public void floatsOnDemand(boolean onDemand) {
        floatsOnDemand = onDemand;
    }

    /** The activation layer applied in this layer's epilogue, or null. */
    private volatile CodeActivation fused;

    /** The activation layer this layer applies in its epilogue ({@link #fuseActivation}), or null. */
    public CodeActivation fusedActivation() {
        return fused;
    }

    /**
     * Applies {@code activation} (the deploy layer that alone consumes this layer's output, on this layer's output grid)
     * in this layer's epilogue: the output is then {@code activation}'s, which passes it through unchanged. Outside a
     * trace only; exports and traces still see the two layers. For {@code SimQAT.convert}.
     *
     * @return false (and nothing changes) when the activation is not a function of the code on a grid the codes can travel on
     */
    public boolean fuseActivation(CodeActivation activation) {
        if (outputParams == null || activation.codeTable(outputParams) == null || !GridCodes.carries(activation.outputGrid(outputParams))) return false;
        fused = activation;
        return true;
    }

    /** The weights as the integer kernel reads them, prepared once (again after {@link #load}). */
    private Int8Conv.Weights prepared() {
        Int8Conv.Weights p = prepared;
        if (p == null) prepared = p = Int8Conv.Weights.of(weight, false, weightParams.zeroPoint(), weightShape(), spec.groups());
        return p;
    }

    /**
     * The layer's output by the plain reference: quantize, {@link #convIntegerRows} (im2col and {@link Int8Ops#gemm}),
     * {@link Int8Ops#finish}. What {@link #forward} must equal bit for bit; for tests.
     */
    Tensor referenceForward(Tensor x) {
        byte[] xq = Int8Ops.quantizeActivations(x.data(), inputParams);
        int[] os = outputShape(x.shape(), weightShape(), spec);
        int n = os[0], hw = os[2] * os[3], pixels = n * hw;
        int[] acc = convIntegerRows(xq, !inputParams.signed(), inputParams.zeroPoint()[0], x.shape(), weight, false, weightParams.zeroPoint(),
                weightShape(), spec);
        float[] rows = Int8Ops.finish(acc, 1, outChannels, pixels, bias, QLinear.biasScale(inputParams, weightParams, outChannels), outputParams);
        float[] y = new float[rows.length];
        for (int c = 0; c < outChannels; c++) {
            for (int img = 0; img < n; img++) System.arraycopy(rows, c * pixels + img * hw, y, (img * outChannels + c) * hw, hw);
        }
        return Tensor.of(y, os);
    }

    /** {@code [N, out, OH, OW]} for an input shape, weight shape and geometry. */
    public static int[] outputShape(int[] xShape, int[] wShape, Conv2dSpec spec) {
        int oh = (xShape[2] + spec.padTop() + spec.padBottom() - spec.dilationH() * (wShape[2] - 1) - 1) / spec.strideH() + 1;
        int ow = (xShape[3] + spec.padLeft() + spec.padRight() - spec.dilationW() * (wShape[3] - 1) - 1) / spec.strideW() + 1;
        return new int[] {xShape[0], wShape[0], oh, ow};
    }

    /**
     * The integer core (ONNX ConvInteger): {@code acc[n,o,y,x] = Σ (x_q − zx)·(w_q − zw[o])} over the receptive field,
     * padding counting as the zero point; int32 result {@code [N, out, OH, OW]}.
     *
     * @param zw one weight zero point, or one per output channel
     */
    public static int[] convInteger(byte[] xq, boolean xUnsigned, int zx, int[] xShape, byte[] w, boolean wUnsigned, int[] zw, int[] wShape,
                                    Conv2dSpec spec) {
        int[] os = outputShape(xShape, wShape, spec);
        int[] rows = convIntegerRows(xq, xUnsigned, zx, xShape, w, wUnsigned, zw, wShape, spec);
        int n = os[0], c = os[1], hw = os[2] * os[3], pixels = n * hw;
        int[] out = new int[rows.length];
        for (int ch = 0; ch < c; ch++) {
            for (int img = 0; img < n; img++) System.arraycopy(rows, ch * pixels + img * hw, out, (img * c + ch) * hw, hw);
        }
        return out;
    }

    /**
     * {@link #convInteger} laid out {@code [out, N·OH·OW]}: per group, the weights {@code [out/groups, in/groups·kH·kW]}
     * times one column matrix (im2col of all images at once) in a single int8 GEMM, so the long pixel dimension is
     * the GEMM's N.
     */
    public static int[] convIntegerRows(byte[] xq, boolean xUnsigned, int zx, int[] xShape, byte[] w, boolean wUnsigned, int[] zw,
                                        int[] wShape, Conv2dSpec spec) {
        int n = xShape[0], c = xShape[1], h = xShape[2], wd = xShape[3];
        int outChannels = wShape[0], inPerGroup = wShape[1], kH = wShape[2], kW = wShape[3];
        if (c != inPerGroup * spec.groups()) throw new IllegalArgumentException("convInteger: input has " + c + " channels, weight expects " + inPerGroup * spec.groups());
        int[] os = outputShape(xShape, wShape, spec);
        int oh = os[2], ow = os[3];
        int groups = spec.groups(), ocg = outChannels / groups, k = inPerGroup * kH * kW, hw = oh * ow, pixels = n * hw;
        int[] acc = new int[outChannels * pixels];
        byte pad = (byte) zx;
        for (int g = 0; g < groups; g++) {
            final int gg = g;
            byte[] cols = new byte[k * pixels];
            Parallel.forEach(inPerGroup * kH * kW, row -> {
                int ci = row / (kH * kW), ky = (row / kW) % kH, kx = row % kW;
                int base = row * pixels;
                for (int img = 0; img < n; img++) {
                    int inBase = (img * c + gg * inPerGroup + ci) * h * wd;
                    for (int oy = 0; oy < oh; oy++) {
                        int iy = oy * spec.strideH() - spec.padTop() + ky * spec.dilationH();
                        int at = base + img * hw + oy * ow;
                        if (iy < 0 || iy >= h) {
                            java.util.Arrays.fill(cols, at, at + ow, pad);
                            continue;
                        }
                        int rowBase = inBase + iy * wd;
                        for (int ox = 0; ox < ow; ox++) {
                            int ix = ox * spec.strideW() - spec.padLeft() + kx * spec.dilationW();
                            cols[at + ox] = (ix < 0 || ix >= wd) ? pad : xq[rowBase + ix];
                        }
                    }
                }
            });
            byte[] wg = groups == 1 ? w : java.util.Arrays.copyOfRange(w, g * ocg * k, (g + 1) * ocg * k);
            int[] zwg = zw.length == 1 ? zw : java.util.Arrays.copyOfRange(zw, g * ocg, (g + 1) * ocg);
            int[] cg = groups == 1 ? acc : new int[ocg * pixels];
            Int8Ops.gemm(ocg, pixels, k, wg, wUnsigned, zwg, cols, false, xUnsigned, new int[] {zx}, cg);
            if (groups > 1) System.arraycopy(cg, 0, acc, g * ocg * pixels, ocg * pixels);
        }
        return acc;
    }

    @Override
    public void save(String prefix, SafetensorsWriter w, Map<String, String> meta) {
        new QuantParamsIO.Int8Layer(weight, bias, weightParams, inputParams, outputParams).write(prefix, w, meta, outChannels, inPerGroup, kH, kW);
    }

    @Override
    public void load(String prefix, SafetensorsFile f) {
        QuantParamsIO.Int8Layer l = QuantParamsIO.Int8Layer.read(prefix, f);
        weight = l.weight(); bias = l.bias(); prepared = null; weightParams = l.weightParams(); inputParams = l.inputParams(); outputParams = l.outputParams();
    }

    @Override
    public String describe() {
        return "QConv2d(" + inPerGroup * spec.groups() + " -> " + outChannels + ", kernel=" + kH + "x" + kW + ", int8 weights "
                + (weightParams.perChannel() ? "per-channel" : "per-tensor") + (outputParams == null ? ", float out" : "") + ")";
    }
}
