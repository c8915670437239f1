package org.goldenstick.compress;

import org.goldenstick.qat.SimQATConfig;

/**
 * SimQAT (int8 fake-quant training, then a real int8 network); layers to leave in FP32 are the config's
 * {@code skipLayers} (recipe key {@code ignore}).
 *
 * <pre>{@code
 * new SimQatModifier(SimQATConfig.defaults().withEnableFusion(true).withBnFold(true))
 * }</pre>
 */
public record SimQatModifier(SimQATConfig config) implements Modifier {
    public SimQatModifier {
        if (config == null) throw new IllegalArgumentException("SimQatModifier: config is null");
    }

    @Override
    public String recipeName() {
        return "SimQATModifier";
    }
}
