package org.goldenstick.qat.slb;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.goldenstick.data.Batch;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Dropout;
import org.goldenstick.nn.Flatten;
import org.goldenstick.nn.Identity;
import org.goldenstick.nn.MaxPool2d;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.models.LeNet5;
import org.goldenstick.nn.models.ResNet;
import org.goldenstick.quant.DeployIO;
import org.goldenstick.quant.OnnxQdqExporter;
import org.goldenstick.quant.QuantDtype;
import org.goldenstick.rewrite.ApplyOptions;
import org.goldenstick.rewrite.CompAlgo;
import org.goldenstick.rewrite.RewriteReport;
import org.goldenstick.rewrite.RewriteRules;
import org.goldenstick.rewrite.Rewriter;
import org.goldenstick.tensor.GradMode;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.train.TrainCallback;

/**
 * SLB, searching for low-bit weights (upstream {@code SlbQuantAwareTraining}, spec §6): every {@code Conv2d}
 * (exact class, as upstream) becomes a {@link Conv2dSlbQuant} whose weights are a learned categorical distribution
 * over 2, 4 or 16 levels; a {@link TemperatureScheduler} sharpens it epoch by epoch and switches to the hard argmax
 * at {@code t_end}; optional {@link BnCalibration}; {@link #convert} emits bit-packed {@link PackedConv2d} layers.
 *
 * <pre>{@code
 * var slb = new SlbQuantAwareTraining();
 * slb.setWeightQuantDtype(QuantDtype.INT2);
 * slb.setEpochSize(10);
 * slb.setHasTrainedEpoch(0);
 * Module qnet = slb.apply(net);
 * Trainer.Builder b = Trainer.builder(qnet, opt).epochs(10);
 * slb.callbacks().forEach(b::callback);
 * b.build().fit(loader);
 * Module deploy = slb.convert(qnet);
 * }</pre>
 */
public final class SlbQuantAwareTraining extends CompAlgo {
    private SlbConfig config;
    private RewriteReport report;
    private PrintStream log = System.err;
    private Iterable<Batch> calibrationData;
    private long seed;

    public SlbQuantAwareTraining() {
        this(SlbConfig.defaults());
    }

    public SlbQuantAwareTraining(SlbConfig config) {
        if (config == null) throw new IllegalArgumentException("SlbQuantAwareTraining: config is null");
        this.config = config;
    }

    /** From an upstream-style dict ({@link SlbConfig#fromMap}). */
    public SlbQuantAwareTraining(Map<String, ?> config) {
        this(SlbConfig.fromMap(config));
    }

    public SlbConfig config() { return config; }

    public void setWeightQuantDtype(QuantDtype d) { config = config.withWeightQuantDtype(d); }

    public void setActQuantDtype(QuantDtype d) { config = config.withActQuantDtype(d); }

    public void setEnableActQuant(boolean on) { config = config.withEnableActQuant(on); }

    public void setEnableBnCalibration(boolean on) { config = config.withEnableBnCalibration(on); }

    /** Total epochs of the schedule (> 0). */
    public void setEpochSize(int epochs) { config = config.withEpochSize(epochs); }

    /** Epochs already trained before this run (≥ 0), for resuming. */
    public void setHasTrainedEpoch(int epochs) { config = config.withHasTrainedEpoch(epochs); }

    public void setTStartVal(double v) { config = config.withTStartVal(v); }

    public void setTStartTime(double v) { config = config.withTStartTime(v); }

    public void setTEndTime(double v) { config = config.withTEndTime(v); }

    public void setTFactor(double v) { config = config.withTFactor(v); }

    /** Ours: initialise the logits from the trained float weights (default) or He-normal as upstream. */
    public void setInitFromWeights(boolean on) { config = config.withInitFromWeights(on); }

    /** Seed of the He-normal logits when not initialising from weights. */
    public void setSeed(long seed) { this.seed = seed; }

    /** The training set for BN calibration (upstream passes the dataset to {@code callbacks}); null = last epoch's batches. */
    public void setCalibrationData(Iterable<Batch> data) { this.calibrationData = data; }

    public SlbQuantAwareTraining log(PrintStream out) {
        this.log = out;
        return this;
    }

    public RewriteReport report() { return report; }

    public RewriteRules rules() {
        Random rng = new Random(seed);
        return RewriteRules.builder()
                .chainContainer(LeNet5.class).chainContainer(ResNet.class)
                .transparent(MaxPool2d.class).transparent(Flatten.class).transparent(Identity.class).transparent(Dropout.class)
                .wrap(Conv2d.class, m -> new Conv2dSlbQuant((Conv2d) m, config, rng))
                .build();
    }

    @Override
    public Module apply(Module network, ApplyOptions options) {
        if (network == null) throw new IllegalArgumentException("SlbQuantAwareTraining.apply: network is null");
        for (Module m : network.namedModules().values()) {
            if (m instanceof Conv2dSlbQuant) throw new IllegalArgumentException("SlbQuantAwareTraining.apply: the network already contains Conv2dSlbQuant");
        }
        report = Rewriter.rewrite(network, rules());
        if (report.wrapped().isEmpty()) throw new IllegalArgumentException("SlbQuantAwareTraining.apply: no Conv2d found in " + network.getClass().getSimpleName());
        if (log != null) log.print("SLB W" + config.weightBits() + (config.enableActQuant() ? "A8" : "") + ": " + network.getClass().getSimpleName() + "\n" + report.table());
        return network;
    }

    /**
     * The schedule callback, then BN calibration if enabled, then the base callbacks. Checks upstream's preconditions
     * in upstream's order.
     */
    @Override
    public List<TrainCallback> callbacks() {
        if (config.epochSize() == -1) throw new IllegalStateException("SlbQuantAwareTraining: 'epoch_size' needs to be initialized (setEpochSize)");
        if (config.hasTrainedEpoch() == -1) throw new IllegalStateException("SlbQuantAwareTraining: 'has_trained_epoch' needs to be initialized (setHasTrainedEpoch)");
        if (config.epochSize() <= config.hasTrainedEpoch()) {
            throw new IllegalArgumentException("SlbQuantAwareTraining: 'epoch_size' = " + config.epochSize() + " should be greater than 'has_trained_epoch' = " + config.hasTrainedEpoch());
        }
        if (config.tEndTime() < config.tStartTime()) {
            throw new IllegalArgumentException("SlbQuantAwareTraining: 't_end_time' = " + config.tEndTime() + " should not be less than 't_start_time' = " + config.tStartTime());
        }
        List<TrainCallback> out = new ArrayList<>();
        out.add(new TemperatureScheduler(config));
        if (config.enableBnCalibration()) out.add(new BnCalibration(config, calibrationData));
        out.addAll(super.callbacks());
        return out;
    }

    /** Replaces, in place, every {@link Conv2dSlbQuant} by its bit-packed deploy module; returns the network in eval mode. */
    @Override
    public Module convert(Module network) {
        int n = 0;
        for (var e : network.namedModules().entrySet()) {
            if (!(e.getValue() instanceof Conv2dSlbQuant q)) continue;
            if (e.getKey().isEmpty()) throw new IllegalArgumentException("SlbQuantAwareTraining.convert: the root module is a Conv2dSlbQuant; wrap it in a container");
            network.replaceChild(e.getKey(), q.toDeploy());
            n++;
        }
        if (n == 0) throw new IllegalArgumentException("SlbQuantAwareTraining.convert: no Conv2dSlbQuant found; call apply (and train) before convert");
        network.eval();
        return network;
    }

    /**
     * Writes {@code <prefix>.safetensors} (packed weights, {@link DeployIO} container) and {@code <prefix>.onnx}: ONNX has
     * no 1/2/4-bit tensor type, so its Conv nodes carry the dequantized float weights (scale · level); the packed
     * artifact is the safetensors file beside it.
     */
    @Override
    public List<Path> exportDeployModel(Module deploy, Path prefix, int[] sampleShape) throws IOException {
        Path st = Path.of(prefix + ".safetensors"), onnx = Path.of(prefix + ".onnx");
        DeployIO.save(deploy, st, Map.of("gstick.algorithm", "SLB", "gstick.weight_bits", Integer.toString(config.weightBits()),
                "gstick.network", deploy.getClass().getSimpleName()));
        Map<String, PackedConv2d> packed = new LinkedHashMap<>();
        for (var e : deploy.namedModules().entrySet()) if (e.getValue() instanceof PackedConv2d p) packed.put(e.getKey(), p);
        int numOutputs;
        try {
            for (var e : packed.entrySet()) deploy.replaceChild(e.getKey(), floatConv(e.getValue()));
            int[] s = new int[sampleShape.length + 1];
            s[0] = 1;
            System.arraycopy(sampleShape, 0, s, 1, sampleShape.length);
            try (var ignored = GradMode.off()) {
                numOutputs = deploy.forward(Tensor.zeros(s)).dim(1);
            }
            RewriteRules r = rules();
            OnnxQdqExporter.export(deploy, r::isChainContainer, sampleShape, numOutputs, onnx);
        } finally {
            for (var e : packed.entrySet()) deploy.replaceChild(e.getKey(), e.getValue());
            deploy.eval();
        }
        return List.of(st, onnx);
    }

    /** A float Conv2d holding the dequantized weights of a packed layer (for ONNX). */
    static Conv2d floatConv(PackedConv2d p) {
        Tensor w = p.dequantizedWeight();
        var s = p.spec();
        Conv2d c = new Conv2d(w.dim(1) * s.groups(), w.dim(0), w.dim(2), w.dim(3), s.strideH(), s.strideW(), s.padTop(), s.padLeft(),
                s.dilationH(), s.dilationW(), s.groups(), p.biasValues() != null, new Random(0));
        System.arraycopy(w.data(), 0, c.weight().data(), 0, w.numel());
        if (p.biasValues() != null) System.arraycopy(p.biasValues(), 0, c.bias().data(), 0, w.dim(0));
        c.eval();
        return c;
    }

    @Override
    public String toString() {
        return "SlbQuantAwareTraining<weight_quant_dtype=" + config.weightQuantDtype() + ", act_quant_dtype=" + config.actQuantDtype()
                + ", enable_act_quant=" + config.enableActQuant() + ", enable_bn_calibration=" + config.enableBnCalibration() + ", epoch_size="
                + config.epochSize() + ", has_trained_epoch=" + config.hasTrainedEpoch() + ", t_start_val=" + config.tStartVal() + ", t_start_time="
                + config.tStartTime() + ", t_end_time=" + config.tEndTime() + ", t_factor=" + config.tFactor() + ">";
    }
}
