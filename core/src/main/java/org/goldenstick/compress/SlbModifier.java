package org.goldenstick.compress;

import java.util.List;
import org.goldenstick.qat.slb.SlbConfig;
import org.goldenstick.rewrite.LayerFilter;

/**
 * SLB low-bit weight search. When the config leaves {@code epoch_size} unset, {@link GoldenStick#compress} sets it to
 * the fine-tuning epochs (and {@code has_trained_epoch} to 0). {@code ignore} (regexes on the dotted layer path) leaves
 * layers in floating point.
 *
 * <pre>{@code
 * new SlbModifier(SlbConfig.defaults().withWeightQuantDtype(QuantDtype.INT2))
 * }</pre>
 */
public record SlbModifier(SlbConfig config, List<String> ignore) implements Modifier {
    public SlbModifier {
        if (config == null) throw new IllegalArgumentException("SlbModifier: config is null");
        ignore = List.copyOf(ignore);
        LayerFilter.ignoring("SLBModifier", "ignore", ignore); // validates the patterns now
    }

    /** Every convolution and linear layer is searched. */
    public SlbModifier(SlbConfig config) {
        this(config, List.of());
    }

    @Override
    public String recipeName() {
        return "SLBModifier";
    }
}
