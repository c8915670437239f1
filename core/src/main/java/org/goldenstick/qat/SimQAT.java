package org.goldenstick.qat;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.goldenstick.nn.BatchNorm2d;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Dropout;
import org.goldenstick.nn.Flatten;
import org.goldenstick.nn.Identity;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.MaxPool2d;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.ReLU;
import org.goldenstick.nn.ReLU6;
import org.goldenstick.nn.models.BasicBlock;
import org.goldenstick.nn.models.LeNet5;
import org.goldenstick.nn.models.ResNet;
import org.goldenstick.quant.DeployIO;
import org.goldenstick.quant.FakeQuantize;
import org.goldenstick.quant.OnnxQdqExporter;
import org.goldenstick.quant.QuantParams;
import org.goldenstick.rewrite.ApplyOptions;
import org.goldenstick.rewrite.CompAlgo;
import org.goldenstick.rewrite.RewriteReport;
import org.goldenstick.rewrite.RewriteRules;
import org.goldenstick.rewrite.Rewriter;

/**
 * Simulated quantization-aware training (upstream {@code SimulatedQuantizationAwareTraining}, spec §5): int8
 * fake quantization of weights and activations during training, then conversion to a real int8 network.
 *
 * <p><b>apply</b> rewrites the network in place and returns it: with {@code enable_fusion}, Conv2d→BatchNorm2d
 * chains (consecutive children of sequential containers, and ResNet BasicBlock's conv1/bn1, conv2/bn2) become one
 * {@link Conv2dBn} that keeps the trained weights; then by exact class Conv2d → {@link Conv2dQuant}, Conv2dBn →
 * {@link Conv2dBnWithoutFoldQuant} / {@link Conv2dBnFoldQuantOneConv} / {@link Conv2dBnFoldQuant} (by {@code bn_fold},
 * {@code one_conv_fold}), Linear → {@link LinearQuant}, ReLU/ReLU6 → {@link ActQuant}. A layer whose producer (the
 * previous layer, looking through max-pool/flatten/identity which keep the grid) is wrapped gets no input
 * quantizer. BasicBlock's ReLU is applied at two points, so it stays float (and is listed). Layers matching
 * {@code skip_layers} and layers without a policy stay FP32 and are listed in the summary, printed to stderr.
 *
 * <p><b>convert</b> replaces every quant cell, in place, by its int8 deploy module (weights int8 per channel, BN
 * folded, int32 bias, requantized outputs); no fake quantizer is left. Upstream keeps float weights and only
 * annotates them; this port emits the integer network. {@link #exportDeployModel} writes
 * {@code <prefix>.safetensors} ({@link DeployIO}) and {@code <prefix>.onnx} ({@link OnnxQdqExporter}).
 *
 * <p>Quirks of upstream handled here (see the cells): fusion keeps weights; per-quantizer delay counters; EMA never
 * enabled; BN momentum kept as the user set it; the without-fold BN is the trained one and is folded in the integer
 * domain at deploy; BN-fold cells deploy as folded weight + folded bias (v0.3.0 form).
 *
 * <pre>{@code
 * SimQAT algo = new SimQAT(SimQATConfig.defaults());
 * Module qnet = algo.apply(new LeNet5(1, 8, 10, rng));
 * // ... train qnet ...
 * Module deploy = algo.convert(qnet);
 * }</pre>
 */
public final class SimQAT extends CompAlgo {
    private final SimQATConfig config;
    private RewriteRules rules;
    private RewriteReport report;
    private PrintStream log = System.err;

    public SimQAT(SimQATConfig config) {
        this.config = config;
    }

    /** From an upstream-style dict (see {@link SimQATConfig#fromMap}); also reads {@code save_deploy_model(_path)}. */
    public SimQAT(Map<String, ?> config) {
        this(SimQATConfig.fromMap(config));
        Map<String, ?> m = config == null ? Map.of() : config;
        Object save = m.containsKey("save_deploy_model") ? m.get("save_deploy_model") : m.get("save_mindir");
        if (save != null) {
            setSaveDeployModel(SimQATConfig.V.bool("save_deploy_model", save));
            if (saveDeployModel()) {
                Object p = m.containsKey("save_deploy_model_path") ? m.get("save_deploy_model_path") : m.get("save_mindir_path");
                if (p != null) {
                    if (!(p instanceof String s) || s.isBlank()) throw SimQATConfig.V.valueError("save_deploy_model_path", p, "must be a non-empty path string");
                    setSaveDeployModelPath(Path.of(s));
                }
            }
        }
    }

    public SimQATConfig config() {
        return config;
    }

    /** Where the apply summary is printed (default stderr; null for silence). */
    public SimQAT log(PrintStream out) {
        this.log = out;
        return this;
    }

    /** The summary of the last {@link #apply}. */
    public RewriteReport report() {
        return report;
    }

    /** The rewrite rules SimQAT uses for this config. */
    public RewriteRules rules() {
        RewriteRules.Builder b = RewriteRules.builder()
                .chainContainer(LeNet5.class)
                .chainContainer(ResNet.class)
                .namedChain(BasicBlock.class, "conv1", "bn1")
                .namedChain(BasicBlock.class, "conv2", "bn2")
                .leave(BasicBlock.class, "relu", "one ReLU instance applied at two points of the block: kept in FP32")
                .transparent(MaxPool2d.class).transparent(Flatten.class).transparent(Identity.class).transparent(Dropout.class)
                .skipAll(config.skipLayers());
        if (config.enableFusion()) {
            b.fuse("Conv2d+BatchNorm2d", List.of(Conv2d.class, BatchNorm2d.class), ms -> new Conv2dBn((Conv2d) ms.get(0), (BatchNorm2d) ms.get(1)));
        }
        b.wrap(Conv2d.class, (RewriteRules.Policy) (m, site) -> new Conv2dQuant((Conv2d) m, config, !site.producerWrapped()));
        b.wrap(Conv2dBn.class, (RewriteRules.Policy) (m, site) -> {
            Conv2dBn f = (Conv2dBn) m;
            boolean in = !site.producerWrapped();
            if (!config.bnFold()) return new Conv2dBnWithoutFoldQuant(f, config, in);
            return config.oneConvFold() ? new Conv2dBnFoldQuantOneConv(f, config, in) : new Conv2dBnFoldQuant(f, config, in);
        });
        b.wrap(Linear.class, (RewriteRules.Policy) (m, site) -> new LinearQuant((Linear) m, config, !site.producerWrapped()));
        b.wrap(ReLU.class, (RewriteRules.Policy) (m, site) -> new ActQuant(m, config, !site.producerWrapped()));
        b.wrap(ReLU6.class, (RewriteRules.Policy) (m, site) -> new ActQuant(m, config, !site.producerWrapped()));
        return b.build();
    }

    @Override
    public Module apply(Module network, ApplyOptions options) {
        if (network == null) throw new IllegalArgumentException("SimQAT.apply: network is null");
        for (Module m : network.namedModules().values()) {
            if (m instanceof QuantCell) throw new IllegalArgumentException("SimQAT.apply: the network is already quantization-aware (contains " + m.getClass().getSimpleName() + ")");
        }
        rules = rules();
        report = Rewriter.rewrite(network, rules);
        if (log != null) log.print("SimQAT: " + network.getClass().getSimpleName() + "\n" + report.table());
        return network;
    }

    /**
     * Converts the quantization-aware network in place into the int8 deploy network and returns it. Each cell's input
     * grid is its own input quantizer, or its producer's output quantizer.
     */
    @Override
    public Module convert(Module network) {
        RewriteRules r = rules != null ? rules : rules();
        Map<String, Module> modules = network.namedModules();
        Map<String, QuantParams> producerGrid = new HashMap<>();
        for (Rewriter.Edge e : Rewriter.edges(network, r, m -> m instanceof QuantCell)) {
            FakeQuantize out = ((QuantCell) modules.get(e.producer())).outputQuantizer();
            if (out != null) producerGrid.put(e.consumer(), out.quantParams());
        }
        int converted = 0;
        for (Map.Entry<String, Module> e : modules.entrySet()) {
            if (!(e.getValue() instanceof QuantCell cell)) continue;
            QuantParams in = cell.inputQuantizer() != null ? cell.inputQuantizer().quantParams() : producerGrid.get(e.getKey());
            if (in == null) throw new IllegalStateException("SimQAT.convert: '" + e.getKey() + "' has no input quantizer and no quantized producer");
            Module deploy = cell.toDeploy(in);
            if (e.getKey().isEmpty()) throw new IllegalArgumentException("SimQAT.convert: the root module itself is a quant cell; wrap it in a container");
            network.replaceChild(e.getKey(), deploy);
            converted++;
        }
        if (converted == 0) throw new IllegalArgumentException("SimQAT.convert: no quant cell found; call apply (and train) before convert");
        for (var e : network.namedModules().entrySet()) {
            if (e.getValue() instanceof FakeQuantize) throw new IllegalStateException("SimQAT.convert: fake quantizer left at " + e.getKey());
        }
        network.eval();
        return network;
    }

    /** Writes {@code <prefix>.safetensors} (int8 deploy file, {@link DeployIO}) and {@code <prefix>.onnx} (QDQ); returns both. */
    @Override
    public List<Path> exportDeployModel(Module deploy, Path prefix, int[] sampleShape) throws IOException {
        int numOutputs = numOutputs(deploy, sampleShape);
        Path st = Path.of(prefix + ".safetensors"), onnx = Path.of(prefix + ".onnx");
        DeployIO.save(deploy, st, Map.of("gstick.algorithm", "SimQAT", "gstick.network", deploy.getClass().getSimpleName()));
        RewriteRules r = rules != null ? rules : rules();
        OnnxQdqExporter.export(deploy, r::isChainContainer, sampleShape, numOutputs, onnx);
        return List.of(st, onnx);
    }

    private static int numOutputs(Module deploy, int[] sampleShape) {
        int[] s = new int[sampleShape.length + 1];
        s[0] = 1;
        System.arraycopy(sampleShape, 0, s, 1, sampleShape.length);
        try (var ignored = org.goldenstick.tensor.GradMode.off()) {
            return deploy.forward(org.goldenstick.tensor.Tensor.zeros(s)).dim(1);
        }
    }

    @Override
    public String toString() {
        return "SimQAT" + config.toMap();
    }

}
