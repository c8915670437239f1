package org.goldenstick.quant;

import java.util.Map;
import org.goldenstick.formats.safetensors.SafetensorsFile;
import org.goldenstick.formats.safetensors.SafetensorsWriter;
import org.goldenstick.nn.Layer;
import org.goldenstick.nn.LeakyReLU;
import org.goldenstick.nn.ReLU;
import org.goldenstick.nn.ReLU6;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.OpTrace;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.Requantize;

/**
 * A deploy-time activation quantization point: optionally applies a float activation (ReLU, ...), then rounds
 * the result onto a per-tensor 8-bit grid and returns the dequantized values (ONNX QuantizeLinear followed by
 * DequantizeLinear). What a converted activation-quant cell becomes.
 *
 * <pre>{@code
 * Module q = new QuantDequant(new ReLU(), reluOutParams);
 * }</pre>
 */
public final class QuantDequant extends Layer implements DeployLayer, CodeActivation, CodeProducer {
    private QuantParams params;

    /** @param activation applied before quantizing, or null */
    public QuantDequant(Module activation, QuantParams params) {
        if (params.perChannel()) throw new IllegalArgumentException("QuantDequant: per-tensor parameters expected, got " + params);
        if (activation != null) registerChild("act", activation);
        this.params = params;
    }

    /** The activation, or null. */
    public Module activation() {
        return children().get("act");
    }

    public QuantParams params() {
        return params;
    }

    @Override
    protected Tensor compute(Tensor x) {
        if (!OpTrace.active() && GridCodes.doneFor(x, this)) return x; // the producing conv applied this layer already
        Module act = activation();
        var in = GridCodes.lookup(x); // a trace must see the activation's own call, so it takes the float path
        if (in != null && codeMappable(act) && !OpTrace.active()) {
            // the input's codes are known: activation and requantization are one function of the code, a 256-entry table
            return mapCodes(in.getValue(), table(in.getKey()).codes, params, x.shape(), !floatsOnDemand);
        }
        int[] bounds = OpTrace.active() ? null : codeBounds(act, params);
        if (bounds != null) {
            // a monotone activation commutes with quantization: quantize, clamp the codes, dequantize, in one pass
            float[] xd = x.data(), y = floatsOnDemand ? null : new float[xd.length];
            byte[] codes = new byte[xd.length];
            float s = params.scale()[0];
            int z = params.zeroPoint()[0];
            Int8Ops.chunks(xd.length, (from, to) ->
                    Requantize.quantizeRow(xd, from, to - from, s, z, !params.signed(), bounds[0], bounds[1], params.qmin(), codes, from, y, from));
            return GridCodes.output(y, codes, params, null, x.shape());
        }
        Tensor a = act == null ? x : act.forward(x);
        byte[] codes = Int8Ops.quantizeActivations(a.data(), params);
        return GridCodes.output(Int8Ops.dequantizeActivations(codes, params), codes, params, null, a.shape());
    }

    /**
     * {@code table[src]} as codes on {@code grid}, with their values: a code-to-code function (an activation and
     * requantization) applied to codes that are known, the result's codes kept for the next deploy layer.
     */
    static Tensor mapCodes(byte[] src, byte[] table, QuantParams grid, int[] shape, boolean values) {
        byte[] codes = new byte[src.length];
        float[] y = values ? new float[src.length] : null;
        Int8Ops.chunks(src.length, (from, to) -> {
            Int8Ops.mapCodes(src, table, codes, from, to);
            if (y != null) Int8Ops.dequantize(codes, grid, y, from, to);
        });
        return GridCodes.output(y, codes, grid, null, shape);
    }

    /**
     * The code range {@code [lo, hi]} that quantizing {@code act}'s output onto {@code p} gives, when {@code act} is none,
     * ReLU or ReLU6 (monotone, so {@code quantize(act(x)) = clamp(quantize(x), quantize(act's bounds))}); null otherwise.
     */
    static int[] codeBounds(Module act, QuantParams p) {
        if (p.bits() != 8 || p.perChannel()) return null;
        int lo = p.qmin(), hi = p.signed() ? 127 : 255, z = p.zeroPoint()[0];
        if (act == null) return new int[] {lo, hi};
        if (act.getClass() == ReLU.class || act instanceof CodeReLU) return new int[] {Math.max(lo, z), hi};
        if (act.getClass() == ReLU6.class) {
            return new int[] {Math.max(lo, z), Math.min(hi, Requantize.quantize(6f, p.scale()[0], z, !p.signed()))};
        }
        return null;
    }

    @Override
    public QuantParams outputGrid(QuantParams input) {
        return params;
    }

    @Override
    public int[] sameGridClamp(QuantParams input) {
        return input.equals(params) ? codeBounds(activation(), params) : null;
    }

    @Override
    public byte[] codeTable(QuantParams input) {
        if (!codeMappable(activation()) || !GridCodes.carries(input)) return null;
        return table(input).codes;
    }

    /** Activations computed exactly per element (so a table built from 256 values gives what the tensor op gives). */
    private static boolean codeMappable(Module act) {
        return act == null || act.getClass() == ReLU.class || act instanceof CodeReLU || act.getClass() == ReLU6.class || act.getClass() == LeakyReLU.class;
    }

    private record CodeTable(QuantParams input, byte[] codes) {}

    private volatile CodeTable table;

    /** Output code and value for each input code on {@code input}: the activation's own forward on the 256 values. */
    private CodeTable table(QuantParams input) {
        CodeTable t = table;
        if (t != null && t.input().equals(input)) return t;
        float[] in = Int8Ops.dequantTable(input);
        Module act = activation();
        float[] a = act == null ? in : act.forward(Tensor.of(in, 256)).data();
        t = new CodeTable(input, Int8Ops.quantizeActivations(a, params));
        table = t;
        return t;
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
        QuantParamsIO.write(prefix + "output_quant", params, w, meta);
    }

    @Override
    public void load(String prefix, SafetensorsFile f) {
        params = QuantParamsIO.read(prefix + "output_quant", f);
        table = null;
    }

    @Override
    public String describe() {
        return "QuantDequant(" + (activation() == null ? "" : activation().describe() + ", ") + (params.signed() ? "int8" : "uint8") + ")";
    }
}
