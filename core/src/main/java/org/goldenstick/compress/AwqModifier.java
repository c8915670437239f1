package org.goldenstick.compress;

import java.util.List;
import org.goldenstick.ptq.WeightMethod;
import org.goldenstick.ptq.WeightScheme;

/**
 * AWQ weight-only quantization (activation-aware scales folded into the preceding norm or linear, then clipping, then
 * RTN; see {@link org.goldenstick.ptq.Awq}); {@code ignore} names linears left in floating point. Recipe name
 * {@code AWQModifier}, as llm-compressor's. Followed by a {@link GptqModifier} with the same scheme, the weights are
 * rounded by GPTQ instead of RTN.
 *
 * <pre>{@code
 * new AwqModifier(WeightScheme.of(4, 128, true), WeightMethod.Awq.defaults(), List.of("lm_head"))
 * }</pre>
 */
public record AwqModifier(WeightScheme scheme, WeightMethod.Awq method, List<String> ignore) implements WeightOnlyModifier {
    public AwqModifier {
        if (method == null) throw new IllegalArgumentException("AwqModifier: method is null");
        if (!(method.then() instanceof WeightMethod.Rtn)) throw new IllegalArgumentException("AwqModifier: rounds with RTN; for AWQ then GPTQ put a GPTQModifier after it");
        ignore = WeightOnlyModifier.validated("AwqModifier", scheme, ignore);
    }

    @Override
    public String recipeName() {
        return "AWQModifier";
    }
}
