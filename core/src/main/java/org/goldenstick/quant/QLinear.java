package org.goldenstick.quant;

import java.util.Arrays;
import java.util.Map;
import org.goldenstick.formats.safetensors.SafetensorsFile;
import org.goldenstick.formats.safetensors.SafetensorsWriter;
import org.goldenstick.nn.Layer;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;

/**
 * An int8 fully connected layer: the input is quantized per tensor (uint8 or int8), multiplied with int8
 * weights {@code [out, in]} (per-channel or per-tensor scales) by {@link Int8Ops#gemm} with int32 accumulation,
 * an int32 bias (scale {@code s_x·s_w}) is added, and the result is requantized to the output grid (or
 * dequantized to float when there is no output quantizer). Float tensors flow between layers, holding values
 * that sit exactly on the producer's grid, so the network is numerically the ONNX QDQ graph it exports to.
 *
 * <pre>{@code
 * QLinear q = QLinear.quantize(linear.weight(), linear.bias(), weightParams, inputParams, outputParams);
 * Tensor y = q.forward(x);
 * }</pre>
 */
public final class QLinear extends Layer implements DeployLayer, CodeProducer {
    private final int in, out;
    private byte[] weight;
    private int[] bias;
    private QuantParams weightParams, inputParams, outputParams;

    public QLinear(int in, int out, byte[] weight, QuantParams weightParams, int[] bias, QuantParams inputParams, QuantParams outputParams) {
        if (weight.length != in * out) throw new IllegalArgumentException("QLinear: weight has " + weight.length + " values for [" + out + ", " + in + "]");
        if (bias != null && bias.length != out) throw new IllegalArgumentException("QLinear: bias has " + bias.length + " values for " + out + " outputs");
        if (weightParams.perChannel() && (weightParams.axis() != 0 || weightParams.channels() != out)) {
            throw new IllegalArgumentException("QLinear: per-channel weight parameters must be on axis 0 with " + out + " channels, got " + weightParams);
        }
        if (!weightParams.signed() || weightParams.bits() != 8) throw new IllegalArgumentException("QLinear: weights must be int8, got " + weightParams);
        if (inputParams.perChannel() || inputParams.bits() != 8) throw new IllegalArgumentException("QLinear: input must be 8-bit per tensor, got " + inputParams);
        this.in = in;
        this.out = out;
        this.weight = weight;
        this.weightParams = weightParams;
        this.bias = bias;
        this.inputParams = inputParams;
        this.outputParams = outputParams;
    }

    /** Quantizes float weights/bias with the given parameters (bias to int32 with scale {@code s_x·s_w}). */
    public static QLinear quantize(Tensor w, Tensor b, QuantParams weightParams, QuantParams inputParams, QuantParams outputParams) {
        int out = w.dim(0), in = w.dim(1);
        byte[] q = QuantMath.quantizeInt8(w.data(), w.shape(), weightParams);
        int[] bq = b == null ? null : QuantMath.quantizeBias(b.data(), biasScale(inputParams, weightParams, out));
        return new QLinear(in, out, q, weightParams, bq, inputParams, outputParams);
    }

    static float[] biasScale(QuantParams input, QuantParams weight, int channels) {
        float[] s = new float[channels];
        for (int c = 0; c < channels; c++) s[c] = input.scale()[0] * weight.scale()[weight.perChannel() ? c : 0];
        return s;
    }

    public byte[] weightInt8() { return weight; }
    public int[] biasInt32() { return bias; }
    public QuantParams weightParams() { return weightParams; }
    public QuantParams inputParams() { return inputParams; }
    /** Output grid, or null for a float output. */
    public QuantParams outputParams() { return outputParams; }
    public int inFeatures() { return in; }
    public int outFeatures() { return out; }

    @Override
    protected Tensor compute(Tensor x) {
        int[] shape = x.shape();
        if (shape[shape.length - 1] != in) throw new IllegalArgumentException("QLinear: input last dim " + shape[shape.length - 1] + ", expected " + in);
        int m = x.numel() / in;
        byte[] xq = GridCodes.codesOrQuantize(x, inputParams); // the producer's codes when it was a deploy layer on this grid
        int[] acc = new int[m * out];
        Int8Ops.gemm(m, out, in, xq, !inputParams.signed(), new int[] {inputParams.zeroPoint()[0]}, weight, true, false, weightParams.zeroPoint(), acc);
        byte[] yq = outputParams == null ? null : new byte[acc.length];
        boolean codesOnly = yq != null && floatsOnDemand && !org.goldenstick.tensor.OpTrace.active();
        float[] y = Int8Ops.finish(acc, m, out, 1, bias, biasScale(inputParams, weightParams, out), outputParams, yq, !codesOnly);
        int[] os = shape.clone();
        os[os.length - 1] = out;
        return yq == null ? Tensor.of(y, os) : GridCodes.output(y, yq, outputParams, null, os);
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

    @Override
    public void save(String prefix, SafetensorsWriter w, Map<String, String> meta) {
        new QuantParamsIO.Int8Layer(weight, bias, weightParams, inputParams, outputParams).write(prefix, w, meta, out, in);
    }

    @Override
    public void load(String prefix, SafetensorsFile f) {
        QuantParamsIO.Int8Layer l = QuantParamsIO.Int8Layer.read(prefix, f);
        weight = l.weight(); bias = l.bias(); weightParams = l.weightParams(); inputParams = l.inputParams(); outputParams = l.outputParams();
    }

    @Override
    public String describe() {
        return "QLinear(" + in + " -> " + out + ", int8 weights " + (weightParams.perChannel() ? "per-channel" : "per-tensor")
                + ", input " + (inputParams.signed() ? "int8" : "uint8") + (outputParams == null ? ", float out" : "") + ")";
    }

    @Override
    public String toString() {
        return describe() + " w[0..4]=" + Arrays.toString(Arrays.copyOf(weight, Math.min(4, weight.length)));
    }
}
