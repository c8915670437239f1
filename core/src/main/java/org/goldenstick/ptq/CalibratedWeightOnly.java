package org.goldenstick.ptq;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.nn.Module;
import org.goldenstick.progress.ProgressListener;
import org.goldenstick.tensor.kernel.PackedIntWeights;

/**
 * Calibrated weight-only quantization as a {@link org.goldenstick.rewrite.CompAlgo}: GPTQ, or AWQ followed by RTN or
 * GPTQ ({@link WeightMethod}), layer by layer on calibration samples. {@link #apply} runs the calibration and keeps the
 * packed weights (the float weights are replaced by their dequantized values as GPTQ proceeds); {@link #convert} swaps
 * the targeted {@code nn.Linear}s for {@link WNA16Linear}s. Data-free RTN is {@link RoundToNearest}.
 *
 * <pre>{@code
 * var gptq = new CalibratedWeightOnly(PTQConfig.rtn(WeightScheme.of(4, 128, true)), WeightMethod.Gptq.defaults());
 * gptq.apply(llama, helper, helper.calibrationSamples(Path.of("calib.txt"), 64));
 * gptq.convert(llama);
 * }</pre>
 */
public final class CalibratedWeightOnly extends PtqAlgorithm {
    private final PTQConfig config;
    private final WeightMethod method;
    private ProgressListener progress = ProgressListener.SILENT;
    private Map<String, PackedIntWeights> packed;
    private final Awq.Applied awqApplied = Awq.Applied.empty();

    /** @param config a weight-only config (its {@link PTQConfig#weights()} scheme and skip list); {@code method} GPTQ or AWQ */
    public CalibratedWeightOnly(PTQConfig config, WeightMethod method) {
        if (config == null || method == null) throw new IllegalArgumentException("CalibratedWeightOnly: config and method are required");
        if (config.quantizesActivations()) throw new IllegalArgumentException("CalibratedWeightOnly is weight-only but the config quantizes activations (" + config.methodName() + "); use SmoothQuant");
        if (method instanceof WeightMethod.Rtn) throw new IllegalArgumentException("CalibratedWeightOnly runs GPTQ or AWQ; round-to-nearest needs no data: use RoundToNearest");
        this.config = config;
        this.method = method;
    }

    /** Reports per-layer calibration progress to {@code listener}; silent by default. */
    public CalibratedWeightOnly progress(ProgressListener listener) {
        this.progress = ProgressListener.orSilent(listener);
        return this;
    }

    @Override
    public PTQConfig config() {
        return config;
    }

    public WeightMethod method() {
        return method;
    }

    /** AWQ's chosen scales and α per mapping after {@link #apply} (empty for GPTQ). */
    public Awq.Applied awqApplied() {
        return awqApplied;
    }

    @Override
    public String deployTag() {
        return method.name().replace('+', '-') + "-w" + config.weights().bits() + "a16";
    }

    @Override
    public Module apply(Module network, NetworkHelper helper, List<int[]> calibration) {
        if (!(network instanceof LlamaModel model)) {
            throw new IllegalArgumentException(method.name() + ": calibrates a decoder model layer by layer; got " + (network == null ? "null" : network.getClass().getSimpleName()));
        }
        if (config.mode() == PTQMode.DEPLOY) throw new IllegalArgumentException(method.name() + ": DEPLOY mode loads packed weights from a checkpoint (QuantizedCheckpoints.loadInto); nothing to calibrate");
        PtqAlgorithm.requireHeadLayer(model, config);
        Map<String, WeightScheme> plan = WeightOnlyQuantizer.plan(PtqAlgorithm.targets(model, config), config);
        packed = switch (method) {
            case WeightMethod.Gptq g -> WeightOnlyQuantizer.gptq(model, calibration, plan,
                    new Gptq.Settings(config.weights(), g.dampening(), g.blockSize(), g.actOrder()), DType.F32, progress);
            case WeightMethod.Awq a -> WeightOnlyQuantizer.awq(model, calibration, plan, a, DType.F32, awqApplied, progress);
            case WeightMethod.Rtn r -> throw new AssertionError("refused by the constructor");
        };
        return network;
    }

    @Override
    public Module convert(Module network) {
        if (packed == null) throw new IllegalStateException(method.name() + ": convert before apply: run apply with calibration samples first");
        WeightOnlyQuantizer.convert((LlamaModel) network, packed);
        return network;
    }
}
