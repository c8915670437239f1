package org.goldenstick.compress;

import java.util.List;
import org.goldenstick.ptq.ActGranularity;
import org.goldenstick.ptq.PTQConfig;
import org.goldenstick.ptq.SmoothingMapping;

/**
 * SmoothQuant W8A8: smoothing over {@code mappings} (norm → linears; null = the model family's,
 * {@link SmoothingMapping#of}) with strength {@code alpha}, then int8 weights
 * and activations. {@code ignore} names linears left in floating point (the library's one skip list,
 * {@link org.goldenstick.rewrite.LayerFilter}).
 *
 * <pre>{@code
 * new SmoothQuantModifier(0.5, SmoothingMapping.LLAMA, PTQConfig.DEFAULT_SKIP_W8A8, ActGranularity.PER_TOKEN)
 * }</pre>
 */
public record SmoothQuantModifier(double alpha, List<SmoothingMapping> mappings, List<String> ignore, ActGranularity activations) implements Modifier {
    public SmoothQuantModifier {
        mappings = mappings == null ? null : List.copyOf(mappings);
        ignore = List.copyOf(ignore);
        config(alpha, ignore, activations); // validates now
    }

    private static PTQConfig config(double alpha, List<String> ignore, ActGranularity activations) {
        return PTQConfig.smoothQuant(alpha).withSkip(ignore).withActGranularity(activations);
    }

    /** The PTQ configuration this modifier runs. */
    public PTQConfig config() {
        return config(alpha, ignore, activations);
    }

    @Override
    public String recipeName() {
        return "SmoothQuantModifier";
    }
}
