package org.goldenstick.compress;

import org.goldenstick.qat.slb.SlbConfig;

/**
 * SLB low-bit weight search. When the config leaves {@code epoch_size} unset, {@link GoldenStick#compress} sets it to
 * the fine-tuning epochs (and {@code has_trained_epoch} to 0).
 *
 * <pre>{@code
 * new SlbModifier(SlbConfig.defaults().withWeightQuantDtype(QuantDtype.INT2))
 * }</pre>
 */
public record SlbModifier(SlbConfig config) implements Modifier {
    public SlbModifier {
        if (config == null) throw new IllegalArgumentException("SlbModifier: config is null");
    }

    @Override
    public String recipeName() {
        return "SLBModifier";
    }
}
