package org.goldenstick.llm;

import java.util.Random;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;

/**
 * The gated feed-forward block {@code down_proj(act(gate_proj(x)) · up_proj(x))}: SwiGLU ({@code silu}) for most
 * families, GeGLU with GELU's tanh form for Gemma; Phi-3 fuses gate and up into one {@code gate_up_proj} whose
 * rows are [gate; up]. The projections are replaceable {@link Linear} children called through
 * {@link Module#forward(Tensor)}.
 */
public final class LlamaMlp extends Module {
    private final LlamaConfig config;
    private final boolean gelu;

    public LlamaMlp(LlamaConfig c, Random rng) {
        this(c, LlamaParts.random(rng, 0.02), "mlp");
    }

    /** The block whose projections {@code parts} supplies under {@code prefix} ({@code model.layers.N.mlp}). */
    public LlamaMlp(LlamaConfig c, LlamaParts parts, String prefix) {
        this.config = c;
        this.gelu = !c.activation().equals("silu");
        boolean bias = c.mlpBias();
        String p = prefix + ".";
        if (c.family().fusedGateUp()) {
            registerChild("gate_up_proj", parts.linear(p + "gate_up_proj", c.hiddenSize(), 2 * c.intermediateSize(), bias));
        } else {
            registerChild("gate_proj", parts.linear(p + "gate_proj", c.hiddenSize(), c.intermediateSize(), bias));
            registerChild("up_proj", parts.linear(p + "up_proj", c.hiddenSize(), c.intermediateSize(), bias));
        }
        registerChild("down_proj", parts.linear(p + "down_proj", c.intermediateSize(), c.hiddenSize(), bias));
    }

    /** The (possibly replaced) projection module named {@code gate_proj}, {@code up_proj}, {@code gate_up_proj} or {@code down_proj}. */
    public Module proj(String name) {
        Module m = children().get(name);
        if (m == null) throw new IllegalArgumentException("mlp has no '" + name + "' for model_type '" + config.family().modelType() + "' (children: " + children().keySet() + ")");
        return m;
    }

    /** The gate activation on one value (the inference path's scalar form of {@link #forward}'s). */
    float activate(float g) {
        if (!gelu) return g / (1f + (float) Math.exp(-g));
        double v = g;
        return (float) (0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v))));
    }

    @Override
    public Tensor forward(Tensor x) {
        Tensor gate, up;
        if (config.family().fusedGateUp()) {
            Tensor gu = proj("gate_up_proj").forward(x);
            int last = gu.rank() - 1, inter = config.intermediateSize();
            gate = gu.slice(last, 0, inter);
            up = gu.slice(last, inter, 2 * inter);
        } else {
            gate = proj("gate_proj").forward(x);
            up = proj("up_proj").forward(x);
        }
        return proj("down_proj").forward((gelu ? Functional.geluTanh(gate) : Functional.silu(gate)).mul(up));
    }
}
