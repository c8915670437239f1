package org.goldenstick.cli.report;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.goldenstick.prune.ModelStats;
import org.goldenstick.prune.PrunerFtCompressAlgo;
import org.goldenstick.prune.ScopWorkflow;
import org.goldenstick.ptq.PtqReport;
import org.goldenstick.qat.QatWorkflow;
import org.goldenstick.qat.slb.SlbConfig;
import org.goldenstick.qat.slb.SlbQuantAwareTraining;
import org.goldenstick.qat.slb.TemperatureScheduler;
import org.goldenstick.train.EpochEvaluation;
import org.goldenstick.train.Recipes;

/**
 * The {@code --report} page of each command, built from what the command measured (nothing is re-run here).
 *
 * <pre>{@code
 * new ReportOption(...).write(Reports.train("lenet", spec, data, outcome, perEpoch));
 * }</pre>
 */
public final class Reports {
    private Reports() {}

    /**
     * train: loss (train and test) and test accuracy per epoch; {@code perEpoch} evaluated the test set after each epoch;
     * {@code model} names the network ({@code --model}, or the {@code --onnx} file's name).
     */
    public static HtmlReport train(String model, Recipes.Spec spec, Recipes.Data data, Recipes.Outcome o, EpochEvaluation perEpoch) {
        Map<String, Object> facts = new LinkedHashMap<>();
        facts.put("model", model + " (" + String.format(Locale.ROOT, "%,d", o.parameters()) + " parameters)");
        facts.put("data set", spec.dataset() + " (" + data.train().size() + " train / " + o.test().count() + " test samples)");
        facts.put("test accuracy", pct(o.testAccuracy()));
        facts.put("recipe", String.format(Locale.ROOT, "%d epochs, batch %d, lr %g, seed %d", spec.epochs(), spec.batchSize(), spec.lr(), spec.seed()));
        facts.put("training time", String.format(Locale.ROOT, "%.1f s (%.0f images/s)", o.trainSeconds(), o.imagesPerSecond()));
        double[] loss = o.training().epochLosses().stream().mapToDouble(Double::doubleValue).toArray();
        List<EpochEvaluation.Entry> h = perEpoch.history();
        double[] epochs = new double[h.size()], acc = new double[h.size()], testLoss = new double[h.size()];
        for (int i = 0; i < h.size(); i++) {
            epochs[i] = h.get(i).epoch();
            acc[i] = 100 * h.get(i).result().accuracy();
            testLoss[i] = h.get(i).result().meanLoss();
        }
        Map<String, double[][]> lossSeries = new LinkedHashMap<>();
        lossSeries.put("train (mean over the epoch)", new double[][] {HtmlReport.oneTo(loss.length), loss});
        lossSeries.put("test", new double[][] {epochs, testLoss});
        return new HtmlReport("gstick train: " + model + " on " + spec.dataset())
                .facts("Result", facts)
                .lineChart("loss", "Loss per epoch", "epoch", "cross-entropy loss", lossSeries)
                .lineChart("accuracy", "Test accuracy per epoch", "epoch", "test accuracy (%)", Map.of("test", new double[][] {epochs, acc}));
    }

    /** qat: accuracy and size before/after; for SLB also the temperature schedule the fine-tune ran. */
    public static HtmlReport qat(String algo, String model, Recipes.Spec spec, QatWorkflow.Result r, int qatEpochs, double onnxRuntimeAccuracy) {
        Map<String, Object> facts = new LinkedHashMap<>();
        facts.put("algorithm", r.algorithm());
        facts.put("model / data set", model + " / " + spec.dataset() + " (" + r.testLabels().length + " test samples)");
        facts.put("FP32 accuracy", pct(r.fp32Accuracy()));
        facts.put("fake-quant accuracy", pct(r.fakeQuantAccuracy()));
        facts.put("deploy accuracy", pct(r.quantAccuracy()));
        facts.put("ONNX Runtime accuracy", pct(onnxRuntimeAccuracy));
        facts.put("size", String.format(Locale.ROOT, "FP32 checkpoint %,d bytes, deploy %,d bytes (%.1f %%)", r.fp32Bytes(), r.deployBytes(),
                100.0 * r.deployBytes() / r.fp32Bytes()));
        facts.put("epochs", spec.epochs() + " FP32 + " + qatEpochs + " fine-tuning");
        HtmlReport page = new HtmlReport("gstick qat: " + algo + ", " + model + " on " + spec.dataset())
                .facts("Result", facts)
                .barChart("accuracy", "Accuracy before and after", "test accuracy (%)", List.of("FP32", "fake-quant", "deploy", "ONNX Runtime"),
                        Map.of("accuracy", new double[] {100 * r.fp32Accuracy(), 100 * r.fakeQuantAccuracy(), 100 * r.quantAccuracy(), 100 * onnxRuntimeAccuracy}))
                .barChart("size", "Model size before and after", "kB", List.of("FP32 checkpoint", "deploy"),
                        Map.of("size", new double[] {r.fp32Bytes() / 1e3, r.deployBytes() / 1e3}));
        if (r.algo() instanceof SlbQuantAwareTraining slb && slb.config().epochSize() > 0) {
            SlbConfig c = slb.config();
            int n = Math.max(qatEpochs, 1);
            double[] t = new double[n];
            for (int e = 1; e <= n; e++) t[e - 1] = TemperatureScheduler.temperature(c, e);
            page.lineChart("temperature", "SLB temperature per fine-tuning epoch", "epoch", "temperature T", Map.of("T", new double[][] {HtmlReport.oneTo(n), t}))
                    .note(String.format(Locale.ROOT, "T starts at %.3g and is multiplied by %.3g per epoch between t_start_time %.2f and t_end_time %.2f of the %d epochs; "
                            + "from t_end on the weights are the hard argmax.", c.tStartVal(), c.tFactor(), c.tStartTime(), c.tEndTime(), c.epochSize()));
        }
        return page;
    }

    /** prune: accuracy, parameters and MACs before/after, and channels kept per channel group. */
    public static HtmlReport prune(String model, Recipes.Spec spec, double pruneRate, ScopWorkflow.Result r, double onnxRuntimeAccuracy) {
        ModelStats b = r.before(), a = r.after();
        Map<String, Object> facts = new LinkedHashMap<>();
        facts.put("model / data set", model + " / " + spec.dataset());
        facts.put("prune rate", pruneRate);
        facts.put("FP32 accuracy", pct(r.fp32Accuracy()));
        facts.put("pruned accuracy (before fine-tuning)", pct(r.accuracyBeforeFineTune()));
        facts.put("pruned accuracy", pct(r.prunedAccuracy()));
        facts.put("ONNX Runtime accuracy", pct(onnxRuntimeAccuracy));
        facts.put("parameters", String.format(Locale.ROOT, "%,d → %,d (−%.1f %%)", b.params(), a.params(), 100 * (1 - a.params() / (double) b.params())));
        facts.put("MACs", String.format(Locale.ROOT, "%,d → %,d (−%.1f %%)", b.macs(), a.macs(), 100 * (1 - a.macs() / (double) b.macs())));
        if (!r.skipped().isEmpty()) facts.put("not pruned", r.skipped().toString());
        List<String> groups = new ArrayList<>();
        List<PrunerFtCompressAlgo.LayerPruning> g = r.groups();
        double[] before = new double[g.size()], kept = new double[g.size()];
        for (int i = 0; i < g.size(); i++) {
            groups.add(g.get(i).convs().getFirst() + (g.get(i).convs().size() > 1 ? " +" + (g.get(i).convs().size() - 1) : ""));
            before[i] = g.get(i).channelsBefore();
            kept[i] = g.get(i).channelsAfter();
        }
        Map<String, double[]> channels = new LinkedHashMap<>();
        channels.put("before", before);
        channels.put("kept", kept);
        Map<String, double[]> size = new LinkedHashMap<>();
        size.put("before", new double[] {b.params() / 1e3, b.macs() / 1e6});
        size.put("after", new double[] {a.params() / 1e3, a.macs() / 1e6});
        return new HtmlReport("gstick prune: SCOP, " + model + " on " + spec.dataset())
                .facts("Result", facts)
                .barChart("accuracy", "Accuracy before and after", "test accuracy (%)", List.of("FP32", "pruned, before fine-tuning", "pruned", "ONNX Runtime"),
                        Map.of("accuracy", new double[] {100 * r.fp32Accuracy(), 100 * r.accuracyBeforeFineTune(), 100 * r.prunedAccuracy(), 100 * onnxRuntimeAccuracy}))
                .barChart("size", "Parameters (thousands) and MACs (millions) before and after", "", List.of("parameters (k)", "MACs (M)"), size)
                .barChart("channels", "Output channels per channel group (a residual group counts once)", "channels", groups, channels);
    }

    /** quantize: sizes in/out and the relative weight error of each quantized layer. */
    public static HtmlReport quantize(String model, PtqReport r, Map<String, Double> layerErrors) {
        Map<String, Object> facts = new LinkedHashMap<>();
        facts.put("model", model);
        facts.put("method", r.method());
        facts.put("size", String.format(Locale.ROOT, "%,d → %,d bytes (%.1f %%)", r.inputBytes(), r.outputBytes(), 100 * r.sizeRatio()));
        facts.put("layers", r.layersQuantized() + " quantized, " + r.layersSkipped() + " kept in float");
        facts.put("time", String.format(Locale.ROOT, "%.2f s", r.seconds()));
        double[] err = layerErrors.values().stream().mapToDouble(e -> 100 * e).toArray();
        return new HtmlReport("gstick quantize: " + r.method() + ", " + model)
                .facts("Result", facts)
                .barChart("size", "Checkpoint size before and after", "MB", List.of("input", "output"),
                        Map.of("size", new double[] {r.inputBytes() / 1e6, r.outputBytes() / 1e6}))
                .barChart("layer-error", "Relative weight error per quantized layer, ||W − W_int8·scale|| / ||W||", "error (%)",
                        layerErrors.keySet().stream().map(n -> n.replaceFirst("^model\\.layers\\.", "layer ")).toList(), Map.of("error", err));
    }

    /** ptq of a CNN: accuracy before/after and in ONNX Runtime, sizes, and each quantized layer's output SQNR. */
    public static HtmlReport cnnPtq(String model, String dataset, String calibration, double fp32, double int8, double ort, double agreement,
                                    long fp32Bytes, long int8Bytes, Map<String, Double> sqnrDb, List<String> keptFloat) {
        Map<String, Object> facts = new LinkedHashMap<>();
        facts.put("model", model + " on " + dataset);
        facts.put("activation ranges", calibration);
        facts.put("accuracy", String.format(Locale.ROOT, "FP32 %.2f %%, int8 %.2f %%, ONNX Runtime %.2f %% (agreement %.2f %%)", 100 * fp32, 100 * int8, 100 * ort, 100 * agreement));
        facts.put("size", String.format(Locale.ROOT, "%,d → %,d bytes (%.1f %%)", fp32Bytes, int8Bytes, 100.0 * int8Bytes / fp32Bytes));
        if (!keptFloat.isEmpty()) facts.put("kept in float (accuracy control)", String.join(", ", keptFloat));
        return new HtmlReport("gstick ptq: " + model + ", static int8")
                .facts("Result", facts)
                .barChart("accuracy", "Test accuracy before and after", "test accuracy (%)", List.of("FP32", "int8", "ONNX Runtime"),
                        Map.of("accuracy", new double[] {100 * fp32, 100 * int8, 100 * ort}))
                .barChart("size", "Checkpoint size before and after", "KB", List.of("FP32", "int8"), Map.of("size", new double[] {fp32Bytes / 1e3, int8Bytes / 1e3}))
                .barChart("layer-sqnr", "Output SQNR of each quantized layer against float (higher is better)", "SQNR (dB)", List.copyOf(sqnrDb.keySet()),
                        Map.of("SQNR", sqnrDb.values().stream().mapToDouble(Double::doubleValue).toArray()));
    }

    /** ptq of an ONNX encoder: method, nodes and sizes. */
    public static HtmlReport encoderPtq(String model, org.goldenstick.ptq.onnx.OnnxPtq.Report r) {
        Map<String, Object> facts = new LinkedHashMap<>();
        facts.put("model", model);
        facts.put("method", r.method() + (r.int4Algo() == null ? "" : ", " + r.int4Algo() + " in blocks of " + r.blockSize()));
        facts.put("MatMul/Gemm", r.quantizedNodes() + " quantized, " + r.skippedNodes().size() + " kept in float");
        facts.put("embedding", r.embedding());
        facts.put("calibration", r.calibrationSentences() + " sentences, " + r.calibrationTokens() + " tokens");
        facts.put("time", String.format(Locale.ROOT, "%.1f s", r.seconds()));
        return new HtmlReport("gstick ptq: " + model + ", " + r.method())
                .facts("Result", facts)
                .barChart("size", "Model size before and after", "MB", List.of("input", "output"), Map.of("size", new double[] {r.inputBytes() / 1e6, r.outputBytes() / 1e6}));
    }

    /** sensitivity: the KLD from FP32 with one layer unit quantized at 4 and at 8 bits, per unit. */
    public static HtmlReport sensitivity(String model, int groupSize, int samples, List<org.goldenstick.ptq.Sensitivity.Unit> units) {
        Map<String, Object> facts = new LinkedHashMap<>();
        facts.put("model", model);
        facts.put("trial", "RTN, one unit at a time, groups of " + (groupSize == 0 ? "per channel" : groupSize) + "; the rest in float");
        facts.put("calibration samples", samples);
        org.goldenstick.ptq.Sensitivity.Unit worst = null;
        for (var u : units) if (worst == null || u.kld4() > worst.kld4()) worst = u;
        if (worst != null) facts.put("most sensitive at 4 bits", worst.name() + String.format(Locale.ROOT, " (KLD %.6f)", worst.kld4()));
        Map<String, double[]> kld = new LinkedHashMap<>();
        kld.put("4 bits", units.stream().mapToDouble(org.goldenstick.ptq.Sensitivity.Unit::kld4).toArray());
        kld.put("8 bits", units.stream().mapToDouble(org.goldenstick.ptq.Sensitivity.Unit::kld8).toArray());
        return new HtmlReport("gstick sensitivity: " + model)
                .facts("Scan", facts)
                .barChart("sensitivity", "KL divergence from FP32 with one unit quantized", "KLD",
                        units.stream().map(u -> u.name().replaceFirst("^model\\.layers\\.", "layer ")).toList(), kld);
    }

    private static String pct(double fraction) {
        return Double.isFinite(fraction) ? String.format(Locale.ROOT, "%.2f %%", 100 * fraction) : "n/a";
    }
}
