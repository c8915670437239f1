package org.goldenstick.ptq;

import java.util.ArrayList;
import java.util.List;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.rewrite.ApplyOptions;
import org.goldenstick.rewrite.CompAlgo;

/**
 * The post-training quantization algorithms, as {@link CompAlgo}s like every other algorithm: {@link #apply} prepares
 * the network — in QUANTIZE mode it calibrates and transforms the float weights (SmoothQuant, GPTQ, AWQ) or only
 * selects the layers (RTN); in DEPLOY mode it installs placeholder layers to be filled from a quantized checkpoint —
 * and {@link #convert} replaces the selected float linears by their quantized deploy layers. There is no training
 * step, so {@link #callbacks()} and {@link #loss} stay the base ones.
 *
 * <p>What PTQ needs besides the network comes as {@link ApplyOptions}: {@value #HELPER} (a {@link NetworkHelper} that
 * runs a sample forward) and {@value #CALIBRATION} (a {@code List<int[]>} of token samples). The three-argument
 * {@link #apply(Module, NetworkHelper, List)} is the same call with typed arguments.
 *
 * <pre>{@code
 * CompAlgo algo = PtqAlgorithm.of(PTQConfig.smoothQuant());
 * algo.apply(model, ApplyOptions.of(Map.of(PtqAlgorithm.HELPER, helper, PtqAlgorithm.CALIBRATION, samples)));
 * algo.convert(model);                  // nn.Linear -> W8A8Linear
 * }</pre>
 */
public abstract sealed class PtqAlgorithm extends CompAlgo permits RoundToNearest, SmoothQuant, CalibratedWeightOnly {
    /** The apply option holding the {@link NetworkHelper}. */
    public static final String HELPER = "network_helper";
    /** The apply option holding the calibration samples ({@code List<int[]>}). */
    public static final String CALIBRATION = "calibration";

    public abstract PTQConfig config();

    /** Calibrates / transforms (QUANTIZE) or installs placeholders (DEPLOY); returns the same network. */
    public abstract Module apply(Module network, NetworkHelper helper, List<int[]> calibration);

    /** {@link #apply(Module, NetworkHelper, List)} with the helper and samples taken from {@code options}. */
    @Override
    public final Module apply(Module network, ApplyOptions options) {
        NetworkHelper helper = options.get(HELPER, NetworkHelper.class);
        List<?> raw = options.get(CALIBRATION, List.class);
        List<int[]> samples = new ArrayList<>();
        if (raw != null) {
            for (int i = 0; i < raw.size(); i++) {
                if (!(raw.get(i) instanceof int[] s)) {
                    throw new IllegalArgumentException("apply option '" + CALIBRATION + "'[" + i + "] must be an int[] of token ids, got "
                            + (raw.get(i) == null ? "null" : raw.get(i).getClass().getSimpleName()));
                }
                samples.add(s);
            }
        }
        return apply(network, helper, samples);
    }

    /** Replaces the selected float linear layers by quantized layers; returns the same network. */
    @Override
    public abstract Module convert(Module network);

    /** {@code rtn-w8a16}, {@code smoothquant-w8a8}, {@code gptq-w4a16}…: the method and its widths, for file names. */
    @Override
    public String deployTag() {
        return config().methodName() + "-w" + config().weights().bits() + (config().quantizesActivations() ? "a8" : "a16");
    }

    /** The algorithm a configuration describes: RTN for weight-only, SmoothQuant (or naive W8A8) for W8A8. */
    public static PtqAlgorithm of(PTQConfig config) {
        return config.quantizesActivations() ? new SmoothQuant(config) : new RoundToNearest(config);
    }

    /**
     * The linear layers (exact class {@link Linear}, as upstream matches by exact class) that the config does not skip,
     * in model order.
     */
    public static List<String> targets(Module network, PTQConfig config) {
        List<String> out = new ArrayList<>();
        for (var e : network.namedModules().entrySet()) {
            if (e.getValue().getClass() == Linear.class && !config.skips(e.getKey())) out.add(e.getKey());
        }
        return out;
    }

    /**
     * Refuses an in-memory model whose head a config quantizes ({@link PTQConfig#head()}) but which has no
     * {@code lm_head} layer (tied to the embeddings): the caller unties it first, so the embedding stays float.
     */
    static void requireHeadLayer(Module network, PTQConfig config) {
        if (config.head() != null && network instanceof org.goldenstick.llm.LlamaModel m && m.lmHead() == null) {
            throw new IllegalArgumentException("the config quantizes lm_head but the model's head is tied to its embeddings: quantize model.withUntiedHead() "
                    + "(the head gets its own copy, the embedding stays float; gstick quantize does this)");
        }
    }

    /** Linear layers the config skips. */
    public static List<String> skipped(Module network, PTQConfig config) {
        List<String> out = new ArrayList<>();
        for (var e : network.namedModules().entrySet()) {
            if (e.getValue().getClass() == Linear.class && config.skips(e.getKey())) out.add(e.getKey());
        }
        return out;
    }
}
