package org.goldenstick.llm;

import java.util.Random;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;

/**
 * The SwiGLU feed-forward block {@code down_proj(silu(gate_proj(x)) · up_proj(x))}; the three projections are
 * replaceable {@link Linear} children called through {@link Module#forward(Tensor)}.
 */
public final class LlamaMlp extends Module {
    public LlamaMlp(LlamaConfig c, Random rng) {
        registerChild("gate_proj", new Linear(c.hiddenSize(), c.intermediateSize(), false, rng));
        registerChild("up_proj", new Linear(c.hiddenSize(), c.intermediateSize(), false, rng));
        registerChild("down_proj", new Linear(c.intermediateSize(), c.hiddenSize(), false, rng));
    }

    /** The (possibly replaced) projection module named {@code gate_proj}, {@code up_proj} or {@code down_proj}. */
    public Module proj(String name) {
        return children().get(name);
    }

    @Override
    public Tensor forward(Tensor x) {
        return proj("down_proj").forward(Functional.silu(proj("gate_proj").forward(x)).mul(proj("up_proj").forward(x)));
    }
}
