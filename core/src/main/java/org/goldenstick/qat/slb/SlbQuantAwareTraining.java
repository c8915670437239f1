package org.goldenstick.qat.slb;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.goldenstick.data.Batch;
import org.goldenstick.graph.ModelGraph;
import org.goldenstick.graph.Node;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Dropout;
import org.goldenstick.nn.Flatten;
import org.goldenstick.nn.Identity;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.MaxPool2d;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.ReLU;
import org.goldenstick.qat.LinearQuant;
import org.goldenstick.qat.QuantCell;
import org.goldenstick.qat.SimQATConfig;
import org.goldenstick.quant.DeployIO;
import org.goldenstick.quant.FakeQuantize;
import org.goldenstick.quant.OnnxQdqExporter;
import org.goldenstick.quant.QuantDtype;
import org.goldenstick.quant.QuantParams;
import org.goldenstick.rewrite.ApplyOptions;
import org.goldenstick.rewrite.CompAlgo;
import org.goldenstick.rewrite.LayerFilter;
import org.goldenstick.rewrite.RewriteReport;
import org.goldenstick.rewrite.RewriteRules;
import org.goldenstick.rewrite.Rewriter;
import org.goldenstick.train.TrainCallback;

/**
 * SLB, searching for low-bit weights (upstream {@code SlbQuantAwareTraining}, spec §6): every {@code Conv2d}
 * (exact class, as upstream) becomes a {@link Conv2dSlbQuant} and every hidden {@code Linear} a {@link LinearSlbQuant},
 * whose weights are a learned categorical distribution over 2, 4 or 16 levels; a {@link TemperatureScheduler} sharpens
 * it epoch by epoch and switches to the hard argmax at {@code t_end}; optional {@link BnCalibration}. The classifier
 * (the last Linear layer) gets int8 fake quantization ({@link LinearQuant}) unless {@code classifier_quant_dtype} asks
 * for low bits. {@link #convert} emits bit-packed {@link PackedConv2d} / {@link PackedLinear} layers and an int8
 * classifier; upstream leaves Linear layers in float.
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
    private Iterable<Batch> calibrationData;
    private long seed;
    private RewriteRules rules;
    private int[] sampleShape;
    private List<String> skipLayers = List.of();

    public SlbQuantAwareTraining() {
        this(SlbConfig.defaults());
    }

    public SlbQuantAwareTraining(SlbConfig config) {
        if (config == null) throw new IllegalArgumentException("SlbQuantAwareTraining: config is null");
        this.config = config;
    }

    /** {@code slb-w<bits>a8} with 8-bit activations, {@code slb-w<bits>a32} with float ones; {@code -c<bits>} for a non-int8 classifier. */
    @Override
    public String deployTag() {
        int c = config.classifierQuantDtype().bits();
        return "slb-w" + config.weightBits() + (config.enableActQuant() ? "a8" : "a32") + (c == 8 ? "" : "-c" + c);
    }

    /** From an upstream-style dict ({@link SlbConfig#fromMap}). */
    public SlbQuantAwareTraining(Map<String, ?> config) {
        this(SlbConfig.fromMap(config));
    }

    public SlbConfig config() { return config; }

    public void setWeightQuantDtype(QuantDtype d) { config = config.withWeightQuantDtype(d); }

    public void setActQuantDtype(QuantDtype d) { config = config.withActQuantDtype(d); }

    /** INT8 (default: int8 fake quantization, deployed as an int8 layer) or INT1/INT2/INT4 (the SLB search) for the classifier. */
    public void setClassifierQuantDtype(QuantDtype d) { config = config.withClassifierQuantDtype(d); }

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

    /**
     * Layers left in floating point: regular expressions searched in the dotted layer path ({@link LayerFilter}'s
     * ignore, as SimQAT's {@code skip_layers}); a bad pattern is an error now. Upstream SLB has no such option.
     */
    public void setSkipLayers(List<String> regexes) {
        LayerFilter.ignoring("SlbQuantAwareTraining", "skip_layers", regexes == null ? List.of() : regexes);
        this.skipLayers = List.copyOf(regexes);
    }

    public List<String> skipLayers() { return skipLayers; }

    /** Seed of the He-normal logits when not initialising from weights. */
    public void setSeed(long seed) { this.seed = seed; }

    /** The training set for BN calibration (upstream passes the dataset to {@code callbacks}); null = last epoch's batches. */
    public void setCalibrationData(Iterable<Batch> data) { this.calibrationData = data; }

    @Override
    public String applySummary() {
        return report == null ? null : report.table();
    }

    /** The summary of the last {@link #apply}. */
    public RewriteReport report() { return report; }

    /**
     * The rewrite rules: Conv2d → {@link Conv2dSlbQuant}; Linear → {@link LinearSlbQuant}, except the layer at
     * {@code classifierPath}, which becomes an int8 {@link LinearQuant} unless {@code classifier_quant_dtype} is low-bit.
     * With activation quantization a layer whose producer (looking through ReLU, max-pool, flatten, reshape, identity,
     * which keep values on their input's grid) is wrapped gets no input quantizer: each edge is quantized once.
     */
    public RewriteRules rules(String classifierPath) {
        Random rng = new Random(seed);
        SimQATConfig int8 = SimQATConfig.defaults();
        boolean act = config.enableActQuant();
        return RewriteRules.builder()
                .transparent(ReLU.class).transparent(MaxPool2d.class).transparent(Flatten.class).transparent(Identity.class).transparent(Dropout.class)
                .transparentOp("reshape").transparentOp("relu")
                .wrap(Conv2d.class, (RewriteRules.Policy) (m, site) -> new Conv2dSlbQuant((Conv2d) m, config, !site.producerWrapped(), rng))
                .wrap(Linear.class, (RewriteRules.Policy) (m, site) -> !site.path().equals(classifierPath)
                        ? new LinearSlbQuant((Linear) m, config, config.weightBits(), !site.producerWrapped(), rng)
                        : config.classifierBits() == 8 ? new LinearQuant((Linear) m, int8, !(act && site.producerWrapped()))
                        : new LinearSlbQuant((Linear) m, config, config.classifierBits(), !site.producerWrapped(), rng))
                .skipAll(skipLayers)
                .build();
    }

    /**
     * The classifier: the Linear layer whose output is the network's output (looking back through ops and layers without
     * weights, such as dropout or flatten), or null.
     */
    static String classifierPath(ModelGraph g) {
        Node n = g.output();
        while (n.inputs().size() == 1 && (n.kind() == Node.Kind.OP || n.isLayer() && n.layer().namedParameters().isEmpty())) n = g.node(n.inputs().get(0));
        return n.isLayer() && n.layer().getClass() == Linear.class ? n.path() : null;
    }

    @Override
    public Module apply(Module network, ApplyOptions options) {
        if (network == null) throw new IllegalArgumentException("SlbQuantAwareTraining.apply: network is null");
        for (Module m : network.namedModules().values()) {
            if (m instanceof SlbQuantCell || m instanceof QuantCell) {
                throw new IllegalArgumentException("SlbQuantAwareTraining.apply: the network is already quantization-aware (contains " + m.getClass().getSimpleName() + ")");
            }
        }
        ModelGraph graph = trace(network, options);
        sampleShape = graph.sampleShape();
        rules = rules(classifierPath(graph));
        report = Rewriter.rewrite(network, graph, rules);
        if (report.wrapped().isEmpty()) throw new IllegalArgumentException("SlbQuantAwareTraining.apply: no Conv2d or Linear layer found in " + network.getClass().getSimpleName());
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

    /**
     * Replaces, in place, every {@link SlbQuantCell} by its bit-packed deploy module and the int8 classifier by its
     * int8 layer; returns the network in eval mode.
     */
    @Override
    public Module convert(Module network) {
        int[] shape = sampleShape != null ? sampleShape : network.exampleInputShape();
        if (shape == null) throw new IllegalStateException("SlbQuantAwareTraining.convert: no input shape known for " + network.getClass().getSimpleName() + "; call apply first");
        ModelGraph graph = ModelGraph.trace(network, shape);
        RewriteRules r = rules != null ? rules : rules((String) null);
        Map<String, Module> deploy = new LinkedHashMap<>();
        for (var e : graph.layerCalls().entrySet()) {
            Node n = e.getValue().get(0);
            Module d = switch (n.layer()) {
                case SlbQuantCell q -> {
                    PackedLayer p = q.toDeploy();
                    // the input is on the producer's output grid already; naming it lets the layer run as its integer form
                    if (p.inputGrid() == null && p.outputGrid() != null) p.withActivationGrids(producerGrid(graph, n, r), p.outputGrid());
                    yield p;
                }
                case QuantCell q -> q.toDeploy(q.inputQuantizer() != null ? q.inputQuantizer().quantParams() : producerGrid(graph, n, r));
                default -> null;
            };
            if (d == null) continue;
            if (e.getKey().isEmpty()) throw new IllegalArgumentException("SlbQuantAwareTraining.convert: the root module is a quantized layer; wrap it in a container");
            deploy.put(e.getKey(), d);
        }
        for (var e : network.namedModules().entrySet()) {
            if ((e.getValue() instanceof SlbQuantCell || e.getValue() instanceof QuantCell) && !graph.layerCalls().containsKey(e.getKey())) {
                throw new IllegalStateException("SlbQuantAwareTraining.convert: quantized layer '" + e.getKey() + "' is never called by the traced forward");
            }
        }
        if (deploy.isEmpty()) throw new IllegalArgumentException("SlbQuantAwareTraining.convert: no SLB layer found; call apply (and train) before convert");
        deploy.forEach(network::replaceChild);
        network.eval();
        return network;
    }

    /** The output grid of the quantized layer producing node {@code n}'s input. */
    private static QuantParams producerGrid(ModelGraph g, Node n, RewriteRules r) {
        Node p = g.producerThrough(n.id(), 0, r::keepsGrid);
        FakeQuantize out = !p.isLayer() ? null : p.layer() instanceof SlbQuantCell s ? s.outputQuantizer() : p.layer() instanceof QuantCell c ? c.outputQuantizer() : null;
        if (out == null) throw new IllegalStateException("SlbQuantAwareTraining.convert: '" + n.path() + "' has no input quantizer and its producer " + p.name() + " quantizes no output");
        return out.quantParams();
    }

    /**
     * Writes {@code <prefix>.safetensors} (packed weights, {@link DeployIO} container) and {@code <prefix>.onnx}, whose
     * packed layers hold their real low-bit weights as INT8 (1/2 bits) or INT4 (4 bits) initializers behind
     * DequantizeLinear ({@link SlbOnnxExport}).
     */
    @Override
    public List<Path> exportDeployModel(Module deploy, Path prefix, int[] sampleShape) throws IOException {
        Path st = Path.of(prefix + ".safetensors"), onnx = Path.of(prefix + ".onnx");
        DeployIO.save(deploy, st, Map.of("gstick.algorithm", "SLB", "gstick.weight_bits", Integer.toString(config.weightBits()),
                "gstick.classifier_bits", Integer.toString(config.classifierBits()), "gstick.network", deploy.getClass().getSimpleName()));
        OnnxQdqExporter.export(deploy, sampleShape, onnx, new SlbOnnxExport());
        return List.of(st, onnx);
    }

    @Override
    public String toString() {
        return "SlbQuantAwareTraining<weight_quant_dtype=" + config.weightQuantDtype() + ", act_quant_dtype=" + config.actQuantDtype()
                + ", enable_act_quant=" + config.enableActQuant() + ", enable_bn_calibration=" + config.enableBnCalibration() + ", epoch_size="
                + config.epochSize() + ", has_trained_epoch=" + config.hasTrainedEpoch() + ", t_start_val=" + config.tStartVal() + ", t_start_time="
                + config.tStartTime() + ", t_end_time=" + config.tEndTime() + ", t_factor=" + config.tFactor() + ">";
    }
}
