package org.goldenstick.compress;

import java.util.List;
import org.goldenstick.ptq.WeightMethod;
import org.goldenstick.ptq.WeightScheme;

/**
 * GPTQ weight-only quantization (calibrated, layer by layer, see {@link org.goldenstick.ptq.Gptq}); {@code ignore} names
 * linears left in floating point. Recipe name {@code GPTQModifier}, as llm-compressor's. After an {@link AwqModifier}
 * with the same scheme, {@link GoldenStick#compress} runs the two as one pass: AWQ's scales, then GPTQ on the scaled
 * weights.
 *
 * <pre>{@code
 * new GptqModifier(WeightScheme.of(4, 128, true), WeightMethod.Gptq.defaults(), List.of("lm_head"))
 * }</pre>
 */
public record GptqModifier(WeightScheme scheme, WeightMethod.Gptq method, List<String> ignore) implements WeightOnlyModifier {
    public GptqModifier {
        if (method == null) throw new IllegalArgumentException("GptqModifier: method is null");
        ignore = WeightOnlyModifier.validated("GptqModifier", scheme, ignore);
    }

    @Override
    public String recipeName() {
        return "GPTQModifier";
    }
}
