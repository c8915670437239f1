package org.goldenstick.quant;

import java.util.Map;
import org.goldenstick.formats.safetensors.SafetensorsFile;
import org.goldenstick.formats.safetensors.SafetensorsWriter;
import org.goldenstick.nn.Layer;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;

/**
 * A deploy-time activation quantization point: optionally applies a float activation (ReLU, ...), then rounds
 * the result onto a per-tensor 8-bit grid and returns the dequantized values (ONNX QuantizeLinear followed by
 * DequantizeLinear). What a converted activation-quant cell becomes.
 *
 * <pre>{@code
 * Module q = new QuantDequant(new ReLU(), reluOutParams);
 * }</pre>
 */
public final class QuantDequant extends Layer implements DeployLayer {
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
        Module act = activation();
        Tensor a = act == null ? x : act.forward(x);
        return Tensor.of(Int8Ops.dequantizeActivations(Int8Ops.quantizeActivations(a.data(), params), params), a.shape());
    }

    @Override
    public void save(String prefix, SafetensorsWriter w, Map<String, String> meta) {
        QuantParamsIO.write(prefix + "output_quant", params, w, meta);
    }

    @Override
    public void load(String prefix, SafetensorsFile f) {
        params = QuantParamsIO.read(prefix + "output_quant", f);
    }

    @Override
    public String describe() {
        return "QuantDequant(" + (activation() == null ? "" : activation().describe() + ", ") + (params.signed() ? "int8" : "uint8") + ")";
    }
}
