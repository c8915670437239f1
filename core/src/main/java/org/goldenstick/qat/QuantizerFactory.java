package org.goldenstick.qat;

import org.goldenstick.quant.FakeQuantize;

/** Creates SimQAT's fake quantizers from a config (EMA is never enabled, as upstream). */
final class QuantizerFactory {
    private QuantizerFactory() {}

    static FakeQuantize activation(SimQATConfig cfg) {
        return FakeQuantize.perTensor(cfg.actSpec(), cfg.actQuantDelay());
    }

    static FakeQuantize weight(SimQATConfig cfg, int outChannels) {
        return cfg.weightPerChannel() ? FakeQuantize.perChannel(cfg.weightSpec(), 0, outChannels, cfg.weightQuantDelay())
                : FakeQuantize.perTensor(cfg.weightSpec(), cfg.weightQuantDelay());
    }
}
