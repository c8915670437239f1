package org.goldenstick.qat;

import java.util.ArrayList;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.goldenstick.nn.Add;
import org.goldenstick.nn.BatchNorm2d;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Dropout;
import org.goldenstick.nn.Flatten;
import org.goldenstick.nn.HardSwish;
import org.goldenstick.nn.Identity;
import org.goldenstick.nn.LeakyReLU;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.MaxPool2d;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.ReLU;
import org.goldenstick.nn.ReLU6;
import org.goldenstick.nn.Sigmoid;
import org.goldenstick.graph.ModelGraph;
import org.goldenstick.graph.Node;
import org.goldenstick.quant.CodeActivation;
import org.goldenstick.quant.CodeAdd;
import org.goldenstick.quant.CodeMaxPool2d;
import org.goldenstick.quant.CodeProducer;
import org.goldenstick.quant.CodeReLU;
import org.goldenstick.quant.DeployIO;
import org.goldenstick.quant.FakeQuantize;
import org.goldenstick.quant.OnnxQdqExporter;
import org.goldenstick.quant.QConv2d;
import org.goldenstick.quant.QLinear;
import org.goldenstick.quant.QuantDequant;
import org.goldenstick.quant.QuantParams;
import org.goldenstick.rewrite.ApplyOptions;
import org.goldenstick.rewrite.CompAlgo;
import org.goldenstick.rewrite.FusedInto;
import org.goldenstick.rewrite.RewriteReport;
import org.goldenstick.rewrite.RewriteRules;
import org.goldenstick.rewrite.Rewriter;

/**
 * Simulated quantization-aware training (upstream {@code SimulatedQuantizationAwareTraining}, spec §5): int8
 * fake quantization of weights and activations during training, then conversion to a real int8 network.
 *
 * <p><b>apply</b> traces the network ({@link ModelGraph}: one example forward of the network's own code, so any network
 * of supported layers works, whatever its class) and rewrites it in place from the graph: with {@code enable_fusion},
 * each Conv2d → BatchNorm2d pair where the conv feeds only the BN becomes one {@link Conv2dBn} that keeps the trained
 * weights; then by exact class Conv2d (grouped and depthwise too) → {@link Conv2dQuant}, Conv2dBn →
 * {@link Conv2dBnWithoutFoldQuant} / {@link Conv2dBnFoldQuantOneConv} / {@link Conv2dBnFoldQuant} (by {@code bn_fold},
 * {@code one_conv_fold}), Linear → {@link LinearQuant}, ReLU/ReLU6/LeakyReLU/Sigmoid/HardSwish → {@link ActQuant}
 * (output quantizer only). Each activation edge is fake-quantized once: by its producer's output quantizer, or, where
 * the producer is not quantized (the network input, an add, a concat...), by the consuming layer's input quantizer;
 * max-pool, flatten, reshape and identity keep the grid. A layer called at several points (ResNet's block ReLU) stays
 * float and is listed. Layers matching {@code skip_layers} and layers without a policy stay FP32 and are listed in
 * the summary, printed to stderr. An op SimQAT cannot convert or export, or a layer it would wrap that the forward never
 * calls, is an error naming it.
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
    private int[] sampleShape;

    public SimQAT(SimQATConfig config) {
        this.config = config;
    }

    /** {@code simqat-w8a8}: SimQAT quantizes weights and activations to int8. */
    @Override
    public String deployTag() {
        return "simqat-w8a8";
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

    @Override
    public String applySummary() {
        return report == null ? null : report.table();
    }

    /** The summary of the last {@link #apply}. */
    public RewriteReport report() {
        return report;
    }

    /** The ops SimQAT handles between layers (its convert and ONNX export support them). */
    public static final String[] SUPPORTED_OPS = OnnxQdqExporter.SUPPORTED_OPS;

    /** The rewrite rules SimQAT uses for this config: layer types and the Conv2d → BatchNorm2d pattern, nothing per network. */
    public RewriteRules rules() {
        RewriteRules.Builder b = RewriteRules.builder()
                .transparent(MaxPool2d.class).transparent(Flatten.class).transparent(Identity.class).transparent(Dropout.class)
                .transparentOp("reshape")
                .supportedOps(SUPPORTED_OPS)
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
        // an activation quantizes its output only: its input edge is its producer's (quantized there when the producer is a cell)
        for (Class<? extends Module> act : List.of(ReLU.class, ReLU6.class, LeakyReLU.class, Sigmoid.class, HardSwish.class)) {
            b.wrap(act, (RewriteRules.Policy) (m, site) -> new ActQuant(m, config, false));
        }
        return b.build();
    }

    /**
     * Traces the network (see {@link CompAlgo#trace}: option {@code input_shape} or {@code example_input}, else
     * {@link Module#exampleInputShape()}), then rewrites it from the graph; prints and keeps the report (wrapped,
     * fused, left and why).
     */
    @Override
    public Module apply(Module network, ApplyOptions options) {
        if (network == null) throw new IllegalArgumentException("SimQAT.apply: network is null");
        for (Module m : network.namedModules().values()) {
            if (m instanceof QuantCell) throw new IllegalArgumentException("SimQAT.apply: the network is already quantization-aware (contains " + m.getClass().getSimpleName() + ")");
        }
        rules = rules();
        ModelGraph graph = trace(network, options);
        sampleShape = graph.sampleShape();
        try {
            report = Rewriter.rewrite(network, graph, rules);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("SimQAT.apply: " + e.getMessage(), e);
        }
        if (report.wrapped().isEmpty()) throw new IllegalArgumentException("SimQAT.apply: nothing to quantize in " + network.getClass().getSimpleName() + "\n" + report.table());
        return network;
    }

    /**
     * Converts the quantization-aware network in place into the int8 deploy network and returns it. Each cell's input
     * grid is its own input quantizer, or the output quantizer of the cell producing its input in the traced graph.
     */
    @Override
    public Module convert(Module network) {
        List<String> unobserved = new ArrayList<>();
        for (var e : network.namedModules().entrySet()) {
            if (!(e.getValue() instanceof QuantCell cell)) continue;
            if (cell.inputQuantizer() != null && cell.inputQuantizer().neverObserved()) unobserved.add(e.getKey() + " (input)");
            if (cell.outputQuantizer() != null && cell.outputQuantizer().neverObserved()) unobserved.add(e.getKey() + " (output)");
        }
        if (!unobserved.isEmpty()) {
            throw new IllegalStateException("SimQAT.convert: " + unobserved.size() + " activation quantizer(s) never saw data, so every activation scale would be "
                    + "the initial range's 12/255 = 0.047: " + (unobserved.size() > 4 ? unobserved.subList(0, 4) + " ..." : unobserved)
                    + ". Train the network apply returned (or run calibration batches through it in training mode) before convert.");
        }
        RewriteRules r = rules != null ? rules : rules();
        ModelGraph graph = ModelGraph.trace(network, sampleShape(network));
        Map<String, Module> deploy = new LinkedHashMap<>();
        Map<Integer, QuantParams> cellInputs = new java.util.HashMap<>(); // input grid of each quant cell's call, by node id
        for (var e : graph.layerCalls().entrySet()) {
            if (!(e.getValue().get(0).layer() instanceof QuantCell cell)) continue;
            Node n = e.getValue().get(0);
            QuantParams in;
            if (cell.inputQuantizer() != null) {
                in = cell.inputQuantizer().quantParams();
            } else {
                Node p = graph.producerThrough(n.id(), 0, r::keepsGrid);
                if (p.isLayer() && p.layer() instanceof QuantCell pc && pc.outputQuantizer() != null) {
                    in = pc.outputQuantizer().quantParams();
                } else if (cell.weightQuantizer() == null) {
                    in = null; // an activation cell quantizes its output only
                } else {
                    throw new IllegalStateException("SimQAT.convert: '" + e.getKey() + "' has no input quantizer and its producer " + p.name() + " is not a quantized layer");
                }
            }
            if (e.getKey().isEmpty()) throw new IllegalArgumentException("SimQAT.convert: the root module itself is a quant cell; wrap it in a container");
            deploy.put(e.getKey(), cell.toDeploy(in));
            if (in != null) cellInputs.put(n.id(), in);
        }
        for (var e : network.namedModules().entrySet()) {
            if (e.getValue() instanceof QuantCell && !graph.layerCalls().containsKey(e.getKey())) {
                throw new IllegalStateException("SimQAT.convert: quant cell '" + e.getKey() + "' is never called by the traced forward");
            }
        }
        if (deploy.isEmpty()) throw new IllegalArgumentException("SimQAT.convert: no quant cell found; call apply (and train) before convert");
        deploy.forEach(network::replaceChild);
        carryCodes(network, graph, cellInputs);
        residualSums(network, graph, cellInputs);
        floatsOnDemand(network, graph);
        for (var e : network.namedModules().entrySet()) {
            if (e.getValue() instanceof FakeQuantize) throw new IllegalStateException("SimQAT.convert: fake quantizer left at " + e.getKey());
        }
        network.eval();
        return network;
    }

    /**
     * Replaces the float ReLU and MaxPool2d layers left between the int8 layers by forms that carry the 8-bit codes
     * through ({@link CodeReLU}, {@link CodeMaxPool2d}: same outputs), so the next int8 layer need not quantize again. A
     * ReLU whose float input comes from elsewhere (a residual sum) learns the grid its int8 consumers quantize onto, when
     * they agree on one. An int8 conv feeding only an activation layer applies it in its epilogue
     * ({@link QConv2d#fuseActivation}).
     */
    private static void carryCodes(Module network, ModelGraph graph, Map<Integer, QuantParams> cellInputs) {
        Map<String, Module> swap = new LinkedHashMap<>();
        for (var e : graph.layerCalls().entrySet()) {
            Module m = e.getValue().get(0).layer();
            if (e.getKey().isEmpty()) continue;
            if (m.getClass() == MaxPool2d.class) {
                swap.put(e.getKey(), CodeMaxPool2d.of((MaxPool2d) m));
            } else if (m.getClass() == ReLU.class) {
                java.util.Set<QuantParams> grids = new java.util.HashSet<>();
                for (Node call : e.getValue()) {
                    Node p = passThrough(graph, graph.producers(call.id()).get(0));
                    if (p.isLayer() && p.layer() instanceof QuantCell pc && pc.outputQuantizer() != null) continue; // codes come with the input
                    for (var c : graph.consumers(call.id())) {
                        QuantParams g = cellInputs.get(c.to());
                        if (g != null) grids.add(g);
                    }
                }
                swap.put(e.getKey(), new CodeReLU(grids.size() == 1 ? grids.iterator().next() : null));
            }
        }
        swap.forEach(network::replaceChild);
        // an int8 conv whose only consumer is an activation layer on its output grid runs that layer in its epilogue
        for (var e : graph.layerCalls().entrySet()) {
            if (e.getKey().isEmpty() || !(network.module(e.getKey()) instanceof CodeActivation act)) continue;
            for (Node call : e.getValue()) {
                Node p = passThrough(graph, graph.producers(call.id()).get(0));
                if (p.isLayer() && graph.layerCalls(p.path()).size() == 1 && graph.consumers(p.id()).size() == 1
                        && network.module(p.path()) instanceof QConv2d conv) {
                    conv.fuseActivation(act);
                }
            }
        }
    }

    /**
     * Lets each residual sum ({@link Add}) of the deploy network add the codes of its operands ({@link CodeAdd}): it then
     * also applies the activation layer that is its one consumer when it can ({@link CodeAdd#fusable}: a ReLU that
     * quantizes for its consumers, an activation quantization point), or else writes the codes of the grid its int8
     * consumers quantize onto, when they agree on one. An add called at several points gets
     * what all its calls agree on. Same outputs: only where the values come from changes.
     */
    private static void residualSums(Module network, ModelGraph graph, Map<Integer, QuantParams> cellInputs) {
        Map<Add, List<CodeAdd>> plans = new java.util.IdentityHashMap<>();
        for (Node n : graph.ops()) {
            if (!n.isOp("add") || !(n.layer() instanceof Add add)) continue;
            List<org.goldenstick.graph.Edge> consumers = graph.consumers(n.id());
            CodeActivation act = null;
            if (consumers.size() == 1 && n.id() != graph.output().id()) {
                Node c = graph.node(consumers.get(0).to());
                if (c.isLayer() && network.module(c.path()) instanceof CodeActivation a && CodeAdd.fusable(a)) act = a;
            }
            java.util.Set<QuantParams> grids = new java.util.HashSet<>();
            for (var c : consumers) {
                QuantParams g = cellInputs.get(c.to());
                if (g != null) grids.add(g);
            }
            plans.computeIfAbsent(add, k -> new ArrayList<>()).add(new CodeAdd(act, act == null && grids.size() == 1 ? grids.iterator().next() : null));
        }
        plans.forEach((add, calls) -> {
            CodeAdd first = calls.get(0);
            boolean agree = calls.stream().allMatch(c -> c.fusedActivation() == first.fusedActivation() && java.util.Objects.equals(c.consumerGrid(), first.consumerGrid()));
            add.computeWith(agree ? first : new CodeAdd(null, null));
        });
    }

    /**
     * Lets each deploy layer whose output only code-reading layers consume ({@link #readsCodesOnly}) skip writing its
     * float output ({@link CodeProducer#floatsOnDemand}); a layer feeding the network output, a float op (a sum not on
     * codes) or a float layer keeps writing it, while its epilogue has the values in cache.
     */
    private static void floatsOnDemand(Module network, ModelGraph graph) {
        for (var e : graph.layerCalls().entrySet()) {
            if (e.getKey().isEmpty() || !(network.module(e.getKey()) instanceof CodeProducer producer)) continue;
            boolean codesOnly = true;
            for (Node call : e.getValue()) codesOnly &= readsCodesOnly(network, graph, call, network.module(e.getKey()));
            producer.floatsOnDemand(codesOnly);
        }
    }

    /**
     * True when every consumer of {@code node}'s output reads the codes a deploy layer leaves beside it: an int8 conv or
     * linear layer (on any grid: codes map to codes), code pooling, a code activation (a layer applied in
     * {@code producer}'s epilogue, a residual sum on codes ({@link CodeAdd}), and layers that pass their input on, a reshape, flatten, identity or folded BN, count by their own consumers). Only a speed
     * decision: a float read of a deferred output still gets the right values.
     */
    private static boolean readsCodesOnly(Module network, ModelGraph graph, Node node, Module producer) {
        List<org.goldenstick.graph.Edge> consumers = graph.consumers(node.id());
        if (node.id() == graph.output().id() || consumers.isEmpty()) return false;
        for (var edge : consumers) {
            Node c = graph.node(edge.to());
            Module m = c.isLayer() ? network.module(c.path()) : null;
            boolean passesOn = c.isOp("reshape") || m instanceof Flatten || m instanceof Identity || m instanceof FusedInto
                    || m instanceof CodeActivation && producer instanceof QConv2d conv && conv.fusedActivation() == m;
            if (passesOn) {
                if (!readsCodesOnly(network, graph, c, producer)) return false;
                continue;
            }
            boolean reads = m instanceof QConv2d || m instanceof QLinear || m instanceof CodeMaxPool2d || m instanceof CodeReLU
                    || m instanceof QuantDequant q && q.codeTable(q.params()) != null
                    || c.layer() instanceof Add add && add.computation() instanceof CodeAdd;
            if (!reads) return false;
        }
        return true;
    }

    /** The producer behind layers that pass their one input on unchanged to their one consumer (a folded BN, Identity). */
    private static Node passThrough(ModelGraph graph, Node p) {
        while ((p.isLayer(FusedInto.class) || p.isLayer(Identity.class)) && graph.consumers(p.id()).size() == 1) p = graph.producers(p.id()).get(0);
        return p;
    }

    private int[] sampleShape(Module network) {
        int[] s = sampleShape != null ? sampleShape : network.exampleInputShape();
        if (s == null) throw new IllegalStateException("SimQAT.convert: no input shape known for " + network.getClass().getSimpleName() + "; call apply first or override Module.exampleInputShape()");
        return s;
    }

    /** Writes {@code <prefix>.safetensors} (int8 deploy file, {@link DeployIO}) and {@code <prefix>.onnx} (QDQ, from the traced graph); returns both. */
    @Override
    public List<Path> exportDeployModel(Module deploy, Path prefix, int[] sampleShape) throws IOException {
        Path st = Path.of(prefix + ".safetensors"), onnx = Path.of(prefix + ".onnx");
        DeployIO.save(deploy, st, Map.of("gstick.algorithm", "SimQAT", "gstick.network", deploy.getClass().getSimpleName()));
        OnnxQdqExporter.export(deploy, sampleShape, onnx);
        return List.of(st, onnx);
    }

    @Override
    public String toString() {
        return "SimQAT" + config.toMap();
    }

}
