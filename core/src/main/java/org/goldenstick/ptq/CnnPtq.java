package org.goldenstick.ptq;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.BiConsumer;
import org.goldenstick.data.Batch;
import org.goldenstick.graph.ModelGraph;
import org.goldenstick.graph.Node;
import org.goldenstick.nn.BatchNorm2d;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.progress.ProgressListener;
import org.goldenstick.progress.ProgressTask;
import org.goldenstick.qat.QuantCell;
import org.goldenstick.qat.SimQAT;
import org.goldenstick.qat.SimQATConfig;
import org.goldenstick.quant.DeployIO;
import org.goldenstick.quant.FakeQuantize;
import org.goldenstick.quant.HistogramObserver;
import org.goldenstick.quant.MinMaxObserver;
import org.goldenstick.quant.MovingAverageMinMaxObserver;
import org.goldenstick.quant.Observer;
import org.goldenstick.quant.OnnxQdqExporter;
import org.goldenstick.quant.PerChannelMinMaxObserver;
import org.goldenstick.quant.QuantMath;
import org.goldenstick.quant.QuantSpec;
import org.goldenstick.rewrite.ApplyOptions;
import org.goldenstick.rewrite.CompAlgo;
import org.goldenstick.rewrite.RewriteRules;
import org.goldenstick.rewrite.Rewriter;
import org.goldenstick.tensor.GradMode;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.train.Metrics;

/**
 * Static int8 post-training quantization of a CNN from calibration images, no training: the same fake-quant placement
 * as {@link SimQAT} (one quantizer per activation edge, found on the traced {@link ModelGraph}, so any network of
 * supported layers works), calibrated instead of trained, then the same int8 deploy network and QDQ ONNX export.
 *
 * <ol>
 *   <li>{@link #apply}: every Conv2d → BatchNorm2d pair of the graph is folded into one Conv2d
 *       ({@code W·γ/σ, β + (b − μ)·γ/σ}); convs and linears get their own copy of weight and bias (a zero bias when
 *       they had none), so calibration never writes into the caller's tensors; then SimQAT's rewrite wraps them and the
 *       activations. Weight ranges are set per output channel, symmetric, from the weights.</li>
 *   <li>{@link #calibrate}: with every quantizer bypassed (float activations), each activation quantizer's range comes from
 *       its observer ({@link ActCalibration}); then, with bias correction on, layer after layer in graph order, the mean
 *       of its output per channel in the quantized network is matched to the float network's by its bias.</li>
 *   <li>{@link #convert} gives the int8 network; {@link #exportDeployModel} writes safetensors and QDQ ONNX.</li>
 * </ol>
 * {@link #layerSqnr} measures each quantized layer's output against float; {@link #rankLayers} orders layers by how much
 * keeping each in float helps (for accuracy control, see {@link CnnPtqWorkflow}). The network is rewritten in place.
 *
 * <pre>{@code
 * CnnPtq ptq = new CnnPtq(CnnPtqConfig.defaults().withCalibration(ActCalibration.ENTROPY));
 * Module q = ptq.apply(net, ApplyOptions.of(Map.of("input_shape", new int[] {1, 28, 28})));
 * ptq.calibrate(q, calibrationImages, ProgressListener.SILENT);
 * Module int8 = ptq.convert(q);
 * ptq.exportDeployModel(int8, Path.of("out/lenet-int8"), new int[] {1, 28, 28});
 * }</pre>
 */
public final class CnnPtq extends CompAlgo {
    private final CnnPtqConfig config;
    private final SimQAT placement;
    private int[] sampleShape;
    private int foldedBatchNorms;
    /** Bias tensors bias correction changed: {before, after}. */
    private final Map<Tensor, float[][]> corrected = new java.util.IdentityHashMap<>();

    public CnnPtq(CnnPtqConfig config) {
        if (config == null) throw new IllegalArgumentException("CnnPtq: config is null");
        this.config = config;
        this.placement = new SimQAT(SimQATConfig.defaults().withSkipLayers(config.skipLayers()));
    }

    public CnnPtqConfig config() {
        return config;
    }

    /** {@code ptq-w8a8}. */
    @Override
    public String deployTag() {
        return "ptq-w8a8";
    }

    /** Conv2d → BatchNorm2d pairs folded by the last {@link #apply}. */
    public int foldedBatchNorms() {
        return foldedBatchNorms;
    }

    @Override
    public String applySummary() {
        return placement.report() == null ? null : "folded " + foldedBatchNorms + " BatchNorm2d into convolutions\n" + placement.report().table();
    }

    /** Folds BN, gives convs and linears their own tensors, wraps them as SimQAT does, and sets the weight ranges. */
    @Override
    public Module apply(Module network, ApplyOptions options) {
        if (network == null) throw new IllegalArgumentException("CnnPtq.apply: network is null");
        for (Module m : network.namedModules().values()) {
            if (m instanceof QuantCell) throw new IllegalArgumentException("CnnPtq.apply: the network is already quantized (contains " + m.getClass().getSimpleName() + ")");
        }
        ModelGraph graph = trace(network, options);
        sampleShape = graph.sampleShape();
        Set<Module> folded = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        RewriteRules own = RewriteRules.builder()
                .fuse("Conv2d+BatchNorm2d", List.of(Conv2d.class, BatchNorm2d.class), ms -> {
                    Conv2d conv = (Conv2d) ms.get(0);
                    BatchNorm2d bn = (BatchNorm2d) ms.get(1);
                    float[][] f = QuantMath.foldBatchNorm(conv.weight().data(), conv.outChannels(), conv.hasBias() ? conv.bias().data() : null,
                            bn.weight().data(), bn.bias().data(), bn.runningMean().data(), bn.runningVar().data(), (float) bn.eps());
                    Conv2d c = copyConv(conv, f[0], f[1]);
                    folded.add(c);
                    return c;
                })
                // a folded conv is already a copy; any other conv or linear gets one
                .wrap(Conv2d.class, (RewriteRules.Policy) (m, site) -> folded.contains(m) ? m : copyConv((Conv2d) m, ((Conv2d) m).weight().data(),
                        ((Conv2d) m).hasBias() ? ((Conv2d) m).bias().data() : null))
                .wrap(Linear.class, (RewriteRules.Policy) (m, site) -> copyLinear((Linear) m))
                .build();
        try {
            Rewriter.rewrite(network, graph, own);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("CnnPtq.apply: " + e.getMessage(), e);
        }
        foldedBatchNorms = folded.size();
        placement.apply(network, ApplyOptions.of(Map.of("input_shape", sampleShape)));
        for (QuantCell c : weightedCells(network).values()) {
            Tensor w = c.parameter("weight");
            PerChannelMinMaxObserver obs = new PerChannelMinMaxObserver(0, w.dim(0));
            obs.forward(w);
            c.weightQuantizer().setRange(obs.mins(), obs.maxs());
        }
        return network;
    }

    /** A plain Conv2d with the geometry of {@code g} and its own weight and bias ({@code w}, {@code b}; a zero bias for null). */
    private static Conv2d copyConv(Conv2d g, float[] w, float[] b) {
        Conv2d c = new Conv2d(g.inChannels(), g.outChannels(), g.kernelH(), g.kernelW(), g.strideH(), g.strideW(), g.paddingH(), g.paddingW(),
                g.dilationH(), g.dilationW(), g.groups(), true, new Random(0));
        System.arraycopy(w, 0, c.weight().data(), 0, w.length);
        float[] cb = c.bias().data();
        if (b == null) Arrays.fill(cb, 0f);
        else System.arraycopy(b, 0, cb, 0, cb.length);
        return c;
    }

    private static Linear copyLinear(Linear l) {
        Linear c = new Linear(l.inFeatures(), l.outFeatures(), true, new Random(0));
        System.arraycopy(l.weight().data(), 0, c.weight().data(), 0, l.weight().numel());
        if (l.bias() != null) System.arraycopy(l.bias().data(), 0, c.bias().data(), 0, l.outFeatures());
        else Arrays.fill(c.bias().data(), 0f);
        return c;
    }

    /** The quant cells with weights (conv, linear) of a network {@link #apply} returned, by dotted path. */
    public static Map<String, QuantCell> weightedCells(Module network) {
        Map<String, QuantCell> out = new LinkedHashMap<>();
        for (var e : network.namedModules().entrySet()) {
            if (e.getValue() instanceof QuantCell c && c.weightQuantizer() != null) out.put(e.getKey(), c);
        }
        return out;
    }

    /** An activation quantizer, and whether it sits on the network's input or output (those keep their min/max range). */
    private record ActQuantizer(FakeQuantize fq, boolean boundary) {}

    private List<ActQuantizer> activationQuantizers(Module network) {
        ModelGraph g = ModelGraph.trace(network, shape(network));
        RewriteRules r = placement.rules();
        Node last = g.output();
        while (!(last.isLayer() && last.layer() instanceof QuantCell) && last.inputs().size() == 1 && r.keepsGrid(last)) last = g.node(last.inputs().get(0));
        List<ActQuantizer> out = new ArrayList<>();
        Set<FakeQuantize> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (Node n : g.nodes()) {
            if (!(n.isLayer() && n.layer() instanceof QuantCell c)) continue;
            if (c.inputQuantizer() != null && seen.add(c.inputQuantizer())) {
                boolean fromInput = g.producerThrough(n.id(), 0, r::keepsGrid).kind() == Node.Kind.INPUT;
                out.add(new ActQuantizer(c.inputQuantizer(), fromInput));
            }
            if (c.outputQuantizer() != null && seen.add(c.outputQuantizer())) out.add(new ActQuantizer(c.outputQuantizer(), n == last));
        }
        return out;
    }

    /** Cells in call order, from a trace on this algorithm's sample shape. */
    private Map<String, QuantCell> orderedCells(Module network) {
        Map<String, QuantCell> out = new LinkedHashMap<>();
        ModelGraph g = ModelGraph.trace(network, shape(network));
        for (Node n : g.nodes()) {
            if (n.isLayer() && n.layer() instanceof QuantCell c && !out.containsKey(n.path())) out.put(n.path(), c);
        }
        return out;
    }

    private Map<String, QuantCell> orderedWeightedCells(Module network) {
        Map<String, QuantCell> out = new LinkedHashMap<>();
        orderedCells(network).forEach((k, c) -> {
            if (c.weightQuantizer() != null) out.put(k, c);
        });
        return out;
    }

    private int[] shape(Module network) {
        int[] s = sampleShape != null ? sampleShape : network.exampleInputShape();
        if (s == null) throw new IllegalStateException("CnnPtq: no input shape known for " + network.getClass().getSimpleName() + "; call apply first");
        return s;
    }

    private static void bypassAll(Module network, boolean on) {
        for (Module m : network.namedModules().values()) if (m instanceof FakeQuantize fq) fq.setBypass(on);
    }

    /**
     * Switches the calibrated network between float (every quantizer bypassed, the biases as before bias correction: the
     * folded float network) and quantized. The SQNR table and the layer ranking compare against this float network.
     */
    public void floatMode(Module network, boolean on) {
        bypassAll(network, on);
        for (var e : corrected.entrySet()) {
            float[] bias = e.getKey().data(), v = on ? e.getValue()[0] : e.getValue()[1];
            System.arraycopy(v, 0, bias, 0, bias.length);
        }
    }

    private static void clearTaps(Module network) {
        for (Module m : network.namedModules().values()) if (m instanceof FakeQuantize fq) fq.setTap(null);
    }

    /** The first {@code n} samples of {@code x} in batches of {@code batch}. */
    static List<Tensor> batches(Tensor x, int n, int batch) {
        int total = Math.min(n, x.dim(0)), per = x.numel() / x.dim(0);
        List<Tensor> out = new ArrayList<>();
        for (int s = 0; s < total; s += batch) {
            int e = Math.min(total, s + batch);
            int[] shape = x.shape();
            shape[0] = e - s;
            out.add(Tensor.of(Arrays.copyOfRange(x.data(), s * per, e * per), shape));
        }
        return out;
    }

    /** Thrown by a tap to end a forward early (bias correction needs a network only up to the layer it corrects). */
    private static final class StopForward extends RuntimeException {
        StopForward() {
            super(null, null, false, false);
        }
    }

    private static void run(Module network, List<Tensor> batches, ProgressListener progress, String what) {
        long total = 0;
        for (Tensor b : batches) total += b.dim(0);
        ProgressTask task = ProgressTask.start(progress, what, total, "img");
        try (var ignored = GradMode.off()) {
            long done = 0;
            for (Tensor b : batches) {
                try {
                    network.forward(b);
                } catch (StopForward stop) {
                    // the tap saw what it needed
                }
                done += b.dim(0);
                task.advance(done, done, "");
            }
        }
        task.finish("");
    }

    /**
     * Calibrates the network {@link #apply} returned on {@code images} ({@code [N, C, H, W]}, the first
     * {@link CnnPtqConfig#calibrationSamples} used): activation ranges from float activations, then bias correction.
     */
    public void calibrate(Module network, Tensor images, ProgressListener progress) {
        ProgressListener p = ProgressListener.orSilent(progress);
        if (images == null || images.dim(0) == 0) throw new IllegalArgumentException("CnnPtq.calibrate: no calibration images");
        List<Tensor> data = batches(images, config.calibrationSamples(), config.batchSize());
        network.eval();
        floatMode(network, true); // a second calibration starts from the uncorrected biases
        floatMode(network, false);
        corrected.clear();
        List<ActQuantizer> quantizers = activationQuantizers(network);
        List<FakeQuantize> acts = quantizers.stream().map(ActQuantizer::fq).toList();
        try {
            bypassAll(network, true);
            List<Observer> first = new ArrayList<>();
            for (FakeQuantize fq : acts) {
                Observer o = config.calibration() == ActCalibration.MOVING_AVERAGE ? new MovingAverageMinMaxObserver(config.movingAverage()) : new MinMaxObserver();
                first.add(o);
                fq.setTap((in, out) -> o.forward(in));
            }
            run(network, data, p, "calibration: ranges");
            List<float[]> ranges = new ArrayList<>();
            for (int i = 0; i < acts.size(); i++) {
                Observer o = first.get(i);
                if (!o.hasObserved()) throw new IllegalStateException("CnnPtq.calibrate: an activation quantizer saw no data: " + acts.get(i).describe());
                ranges.add(new float[] {o.mins()[0], o.maxs()[0]});
            }
            if (config.calibration().needsHistogram()) {
                List<HistogramObserver> hist = new ArrayList<>();
                for (int i = 0; i < acts.size(); i++) {
                    HistogramObserver h = new HistogramObserver(ranges.get(i)[0], ranges.get(i)[1], 2048);
                    hist.add(h);
                    acts.get(i).setTap((in, out) -> h.forward(in));
                }
                run(network, data, p, "calibration: histograms");
                QuantSpec spec = placement.config().actSpec();
                for (int i = 0; i < acts.size(); i++) {
                    // the network's input (pixels) and output (logits: clipping them makes ties of the top classes) keep min/max
                    if (quantizers.get(i).boundary()) continue;
                    HistogramObserver h = hist.get(i);
                    ranges.set(i, switch (config.calibration()) {
                        case PERCENTILE -> h.percentileRange(config.percentile());
                        case MSE -> h.mseRange(spec);
                        case ENTROPY -> h.entropyRange(spec);
                        default -> throw new AssertionError(config.calibration());
                    });
                }
            }
            for (int i = 0; i < acts.size(); i++) {
                float lo = Math.min(ranges.get(i)[0], 0f), hi = Math.max(ranges.get(i)[1], 0f);
                acts.get(i).setRange(new float[] {lo}, new float[] {hi});
            }
            clearTaps(network);
            if (config.biasCorrection()) correctBiases(network, data, p);
        } finally {
            clearTaps(network);
            bypassAll(network, false);
        }
    }

    /** Per-channel (axis 1) mean accumulator. */
    private static final class ChannelMean implements BiConsumer<Tensor, Tensor> {
        final double[] sum;
        long count;

        ChannelMean(int channels) {
            sum = new double[channels];
        }

        @Override
        public void accept(Tensor in, Tensor out) {
            add(in);
        }

        void add(Tensor x) {
            int n = x.dim(0), c = x.dim(1), inner = x.numel() / (n * c);
            float[] d = x.data();
            for (int i = 0; i < n; i++) {
                for (int ch = 0; ch < c; ch++) {
                    int o = (i * c + ch) * inner;
                    double s = 0;
                    for (int k = 0; k < inner; k++) s += d[o + k];
                    sum[ch] += s;
                }
            }
            count += (long) n * inner;
        }

        double mean(int ch) {
            return sum[ch] / count;
        }
    }

    /** Empirical bias correction, layer after layer in call order (each sees the corrections before it). */
    private void correctBiases(Module network, List<Tensor> data, ProgressListener p) {
        Map<String, QuantCell> cells = orderedWeightedCells(network);
        Map<String, ChannelMean> floatMeans = new LinkedHashMap<>();
        bypassAll(network, true);
        for (var e : cells.entrySet()) {
            ChannelMean m = new ChannelMean(e.getValue().parameter("weight").dim(0));
            floatMeans.put(e.getKey(), m);
            e.getValue().outputQuantizer().setTap(m);
        }
        run(network, data, p, "bias correction: float means");
        clearTaps(network);
        bypassAll(network, false);
        ProgressTask task = ProgressTask.start(p, "bias correction", cells.size(), "layers");
        int done = 0;
        for (var e : cells.entrySet()) {
            QuantCell c = e.getValue();
            Tensor bias = c.parameter("bias");
            ChannelMean q = new ChannelMean(c.parameter("weight").dim(0));
            c.outputQuantizer().setTap((in, out) -> {
                q.add(in);
                throw new StopForward();
            });
            try (var ignored = GradMode.off()) {
                for (Tensor b : data) {
                    try {
                        network.forward(b);
                    } catch (StopForward stop) {
                        // enough of the forward
                    }
                }
            }
            c.outputQuantizer().setTap(null);
            ChannelMean f = floatMeans.get(e.getKey());
            if (bias != null && q.count > 0) {
                float[] bd = bias.data();
                float[] before = bd.clone();
                for (int ch = 0; ch < bd.length; ch++) bd[ch] += (float) (f.mean(ch) - q.mean(ch));
                corrected.put(bias, new float[][] {before, bd.clone()});
            }
            done++;
            task.advance(done, done, e.getKey());
        }
        task.finish("");
    }

    /** One quantized layer's output error against float: {@code 10·log10(Σ f² / Σ (f − q)²)} in dB. */
    public record LayerSqnr(String layer, String kind, double sqnrDb) {}

    /**
     * The output SQNR of each quantized layer (conv, linear) on {@code images}: the output the next layer sees in the
     * quantized network (after its output quantizer) against the same layer's output with every quantizer bypassed.
     */
    public List<LayerSqnr> layerSqnr(Module network, Tensor images, int maxImages) {
        Map<String, QuantCell> cells = orderedWeightedCells(network);
        double[] sig = new double[cells.size()], err = new double[cells.size()];
        List<Tensor> data = batches(images, maxImages, config.batchSize());
        network.eval();
        List<QuantCell> list = new ArrayList<>(cells.values());
        try (var ignored = GradMode.off()) {
            for (Tensor b : data) {
                float[][] ref = new float[list.size()][];
                floatMode(network, true);
                for (int i = 0; i < list.size(); i++) {
                    int k = i;
                    list.get(i).outputQuantizer().setTap((in, out) -> ref[k] = out.data().clone());
                }
                network.forward(b);
                floatMode(network, false);
                for (int i = 0; i < list.size(); i++) {
                    int k = i;
                    list.get(i).outputQuantizer().setTap((in, out) -> {
                        float[] q = out.data(), f = ref[k];
                        for (int j = 0; j < q.length; j++) {
                            double d = (double) f[j] - q[j];
                            sig[k] += (double) f[j] * f[j];
                            err[k] += d * d;
                        }
                    });
                }
                network.forward(b);
            }
        } finally {
            clearTaps(network);
            floatMode(network, false);
        }
        List<LayerSqnr> out = new ArrayList<>();
        int i = 0;
        for (var e : cells.entrySet()) {
            String kind = e.getValue().getClass().getSimpleName().replace("Quant", "");
            out.add(new LayerSqnr(e.getKey(), kind, err[i] == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10(sig[i] / err[i])));
            i++;
        }
        return out;
    }

    /**
     * For each quantized layer (conv, linear, in call order), the cells that go to float with it: itself and the activation
     * cells right after it (through BN positions, pooling, flatten and other grid-keeping steps), so that keeping a layer
     * in float leaves its output edge float too.
     */
    public Map<String, List<String>> floatGroups(Module network) {
        ModelGraph g = ModelGraph.trace(network, shape(network));
        RewriteRules r = placement.rules();
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (Node n : g.nodes()) {
            if (!(n.isLayer() && n.layer() instanceof QuantCell c && c.weightQuantizer() != null) || out.containsKey(n.path())) continue;
            List<String> group = new ArrayList<>(List.of(n.path()));
            Node at = n;
            while (g.consumers(at.id()).size() == 1) {
                Node next = g.node(g.consumers(at.id()).get(0).to());
                boolean act = next.isLayer() && next.layer() instanceof QuantCell nc && nc.weightQuantizer() == null;
                if (!act && !r.keepsGrid(next)) break;
                if (act) group.add(next.path());
                at = next;
            }
            out.put(n.path(), List.copyOf(group));
        }
        return out;
    }

    /**
     * Orders the quantized layers by sensitivity: for each, the quantizers of its {@link #floatGroups float group} are bypassed alone and
     * the mean squared logit error against the float network on {@code images} is measured; the layer whose float
     * version removes most of the error comes first.
     */
    public List<String> rankLayers(Module network, Tensor images, int maxImages) {
        List<Tensor> data = batches(images, maxImages, config.batchSize());
        network.eval();
        floatMode(network, true);
        List<float[]> ref = logits(network, data);
        floatMode(network, false);
        Map<String, Double> score = new LinkedHashMap<>();
        for (var e : floatGroups(network).entrySet()) {
            List<FakeQuantize> own = new ArrayList<>();
            for (String path : e.getValue()) {
                QuantCell c = (QuantCell) network.module(path);
                for (FakeQuantize fq : new FakeQuantize[] {c.weightQuantizer(), c.inputQuantizer(), c.outputQuantizer()}) if (fq != null) own.add(fq);
            }
            own.forEach(fq -> fq.setBypass(true));
            score.put(e.getKey(), mse(ref, logits(network, data)));
            own.forEach(fq -> fq.setBypass(false));
        }
        List<String> order = new ArrayList<>(score.keySet());
        order.sort((a, b) -> Double.compare(score.get(a), score.get(b)));
        return order;
    }

    private static List<float[]> logits(Module network, List<Tensor> data) {
        List<float[]> out = new ArrayList<>();
        try (var ignored = GradMode.off()) {
            for (Tensor b : data) out.add(network.forward(b).data().clone());
        }
        return out;
    }

    private static double mse(List<float[]> a, List<float[]> b) {
        double s = 0;
        long n = 0;
        for (int i = 0; i < a.size(); i++) {
            float[] x = a.get(i), y = b.get(i);
            for (int j = 0; j < x.length; j++) {
                double d = (double) x[j] - y[j];
                s += d * d;
            }
            n += x.length;
        }
        return s / n;
    }

    /** Top-1 accuracy of the (fake-quant or float) network on labelled batches. */
    static double accuracy(Module network, List<Batch> data) {
        network.eval();
        long correct = 0, n = 0;
        try (var ignored = GradMode.off()) {
            for (Batch b : data) {
                correct += Metrics.correct(network.forward(b.inputs()), b.labels());
                n += b.labels().length;
            }
        }
        return n == 0 ? Double.NaN : correct / (double) n;
    }

    /** The int8 deploy network (SimQAT's conversion of the calibrated cells), in place. */
    @Override
    public Module convert(Module network) {
        return placement.convert(network);
    }

    /** Writes {@code <prefix>.safetensors} (int8 deploy file) and {@code <prefix>.onnx} (QDQ); returns both. */
    @Override
    public List<Path> exportDeployModel(Module deploy, Path prefix, int[] sampleShape) throws IOException {
        Path st = Path.of(prefix + ".safetensors"), onnx = Path.of(prefix + ".onnx");
        DeployIO.save(deploy, st, Map.of("gstick.algorithm", "CnnPtq", "gstick.calibration", config.calibration().cliName(),
                "gstick.network", deploy.getClass().getSimpleName()));
        OnnxQdqExporter.export(deploy, sampleShape, onnx);
        return List.of(st, onnx);
    }

    @Override
    public String toString() {
        return "CnnPtq" + config;
    }
}
