package org.goldenstick.ptq;

import java.util.ArrayList;
import java.util.List;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;

/**
 * The common shape of the PTQ algorithms (upstream {@code CompAlgo}): {@link #apply} prepares the network — in
 * QUANTIZE mode it calibrates and transforms the float weights (SmoothQuant) or only selects the layers (RTN);
 * in DEPLOY mode it installs int8 placeholder layers to be filled from a quantized checkpoint — and
 * {@link #convert} replaces the selected float linears by their int8 deploy layers.
 *
 * <pre>{@code
 * PtqAlgorithm algo = PtqAlgorithm.of(PTQConfig.smoothQuant());
 * algo.apply(model, helper, samples);   // calibrate + smooth
 * algo.convert(model);                  // nn.Linear -> W8A8Linear
 * }</pre>
 */
public sealed interface PtqAlgorithm permits RoundToNearest, SmoothQuant {
    PTQConfig config();

    /** Calibrates / transforms (QUANTIZE) or installs placeholders (DEPLOY); returns the same network. */
    Module apply(Module network, NetworkHelper helper, List<int[]> calibration);

    /** Replaces the selected float linear layers by int8 layers; returns the same network. */
    Module convert(Module network);

    /** The algorithm a configuration describes: RTN for W8A16, SmoothQuant (or naive W8A8) for W8A8. */
    static PtqAlgorithm of(PTQConfig config) {
        return config.quantizesActivations() ? new SmoothQuant(config) : new RoundToNearest(config);
    }

    /**
     * The linear layers (exact class {@link Linear}, as upstream matches by exact class) that the config does not skip,
     * in model order.
     */
    static List<String> targets(Module network, PTQConfig config) {
        List<String> out = new ArrayList<>();
        for (var e : network.namedModules().entrySet()) {
            if (e.getValue().getClass() == Linear.class && !config.skips(e.getKey())) out.add(e.getKey());
        }
        return out;
    }

    /** Linear layers the config skips. */
    static List<String> skipped(Module network, PTQConfig config) {
        List<String> out = new ArrayList<>();
        for (var e : network.namedModules().entrySet()) {
            if (e.getValue().getClass() == Linear.class && config.skips(e.getKey())) out.add(e.getKey());
        }
        return out;
    }
}
