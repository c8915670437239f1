package org.goldenstick.compress;

import java.util.List;
import org.goldenstick.ptq.WeightScheme;

/**
 * Round-to-nearest weight-only quantization (W8A16 per channel, or group-wise W4A16/W8A16); {@code ignore} names linears
 * left in floating point. Recipe name {@code QuantizationModifier}, as llm-compressor's data-free weight-only scheme.
 *
 * <pre>{@code
 * new RtnModifier(WeightScheme.of(4, 128, true), List.of("lm_head"))
 * }</pre>
 */
public record RtnModifier(WeightScheme scheme, List<String> ignore) implements WeightOnlyModifier {
    public RtnModifier {
        ignore = WeightOnlyModifier.validated("RtnModifier", scheme, ignore);
    }

    @Override
    public String recipeName() {
        return "QuantizationModifier";
    }
}
