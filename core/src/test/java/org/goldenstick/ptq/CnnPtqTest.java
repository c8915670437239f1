package org.goldenstick.ptq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.goldenstick.data.Batch;
import org.goldenstick.graph.UserNetworks;
import org.goldenstick.nn.BatchNorm2d;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.models.ResNet;
import org.goldenstick.progress.ProgressListener;
import org.goldenstick.qat.QuantCell;
import org.goldenstick.quant.FakeQuantize;
import org.goldenstick.rewrite.ApplyOptions;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.train.Inference;
import org.goldenstick.train.Recipes;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Static int8 PTQ of CNNs on the digits (trained FP32 once per network): every observer keeps the int8 network close to
 * float, the QDQ export runs in ONNX Runtime with its integer kernels and agrees with our int8 network, BN is folded,
 * bias correction removes the mean output shift it targets, accuracy control keeps layers in float and restores the
 * float network between attempts, and the per-layer SQNR table matches an independent computation.
 */
class CnnPtqTest {
    @TempDir
    Path dir;

    static Recipes.Spec spec;
    static Recipes.Data data;
    static Batch test;
    static Tensor calib;
    static Map<String, Tensor> residualState, lenetState;

    @BeforeAll
    static void train() {
        spec = Recipes.Spec.defaults("lenet", "digits").withEpochs(6);
        data = Recipes.data(spec);
        test = Inference.wholeTestSet(spec, data);
        calib = firstTrainImages(300);
        Module net = residual();
        Recipes.trainer(spec, net, ProgressListener.SILENT).build().fit(Recipes.trainLoader(spec, data));
        residualState = copy(net.stateDict());
        Module lenet = Recipes.newModel(spec, data);
        Recipes.trainer(spec, lenet, ProgressListener.SILENT).build().fit(Recipes.trainLoader(spec, data));
        lenetState = copy(lenet.stateDict());
    }

    static Module trainedLeNet() {
        Module m = Recipes.newModel(spec, data);
        m.loadStateDict(lenetState, true);
        return m;
    }

    static Module residual() {
        return new UserNetworks.ResidualNet(new Random(11));
    }

    static Module trainedResidual() {
        Module m = residual();
        m.loadStateDict(residualState, true);
        return m;
    }

    static Map<String, Tensor> copy(Map<String, Tensor> s) {
        Map<String, Tensor> out = new java.util.LinkedHashMap<>();
        s.forEach((k, v) -> out.put(k, Tensor.of(v.data().clone(), v.shape())));
        return out;
    }

    static Tensor firstTrainImages(int n) {
        int per = data.train().sampleSize();
        float[] x = new float[n * per];
        for (int i = 0; i < n; i++) data.train().fill(i, x, i * per);
        int[] s = data.train().sampleShape();
        return Tensor.of(x, n, s[0], s[1], s[2]);
    }

    static double accuracy(Module m) {
        int[] p = Inference.predict(m, test.inputs());
        int ok = 0;
        for (int i = 0; i < p.length; i++) if (p[i] == test.labels()[i]) ok++;
        return ok / (double) p.length;
    }

    @Test
    void everyObserverKeepsInt8CloseToFloatAndOnnxRuntimeAgrees() throws Exception {
        double fp32 = accuracy(trainedResidual());
        assertTrue(fp32 > 0.9, "FP32 residual net on digits: " + fp32);
        Set<List<Float>> firstRanges = new HashSet<>();
        for (ActCalibration c : ActCalibration.values()) {
            Module net = trainedResidual();
            CnnPtqWorkflow.Result r = CnnPtqWorkflow.quantize(net, calib, test, CnnPtqConfig.defaults().withCalibration(c), null, ProgressListener.SILENT);
            for (Module m : r.deploy().namedModules().values()) assertFalse(m instanceof FakeQuantize || m instanceof QuantCell || m instanceof BatchNorm2d, m.describe());
            double int8 = accuracy(r.deploy());
            List<Path> files = r.algorithm().exportDeployModel(r.deploy(), dir.resolve(c.cliName()), new int[] {1, 8, 8});
            int[] ours = Inference.predict(r.deploy(), test.inputs());
            int[] ort = onnxRuntime(files.get(1), test.inputs());
            int agree = 0;
            for (int i = 0; i < ours.length; i++) if (ours[i] == ort[i]) agree++;
            System.err.printf("ptq %s: FP32 %.4f, int8 %.4f, ORT agreement %d/%d, fake-quant validation %.4f%n", c.cliName(), fp32, int8, agree, ours.length, r.quantValidation());
            assertTrue(int8 >= fp32 - 0.02, c + ": int8 " + int8 + " vs FP32 " + fp32);
            assertTrue(agree >= Math.ceil(0.99 * ours.length), c + ": ONNX Runtime agreement " + agree + "/" + ours.length);
            assertEquals(1, r.attempts());
        }
    }

    /** ONNX Runtime's optimizer turns the QDQ export into integer kernels (QLinearConv / QLinearMatMul, or ConvInteger / MatMulInteger). */
    @Test
    void onnxRuntimeRunsTheExportWithIntegerKernels() throws Exception {
        Module net = trainedResidual();
        CnnPtqWorkflow.Result r = CnnPtqWorkflow.quantize(net, calib, null, CnnPtqConfig.defaults(), null, ProgressListener.SILENT);
        Path onnx = r.algorithm().exportDeployModel(r.deploy(), dir.resolve("res"), new int[] {1, 8, 8}).get(1);
        Path optimized = dir.resolve("optimized.onnx");
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            so.setOptimizedModelFilePath(optimized.toString());
            try (OrtSession s = env.createSession(onnx.toString(), so)) {
                assertNotEquals(0, s.getNumInputs());
            }
        }
        String ops = Files.readString(optimized, java.nio.charset.StandardCharsets.ISO_8859_1);
        assertTrue(ops.contains("QLinearConv"), "no QLinearConv in ONNX Runtime's optimized graph");
    }

    @Test
    void batchNormIsFoldedAndTheCallersTensorsAreNotWritten() {
        Module net = trainedResidual();
        Map<String, Tensor> live = net.stateDict(); // the caller's tensors themselves
        Map<String, Tensor> before = copy(live);
        float[] fp32 = Inference.logits(net, test.inputs());
        CnnPtq ptq = new CnnPtq(CnnPtqConfig.defaults());
        ptq.apply(net, ApplyOptions.none());
        assertTrue(ptq.foldedBatchNorms() >= 2, ptq.applySummary());
        // with every quantizer bypassed the folded network computes what the float one did
        for (Module m : net.namedModules().values()) if (m instanceof FakeQuantize fq) fq.setBypass(true);
        float[] folded = Inference.logits(net, test.inputs());
        for (int i = 0; i < fp32.length; i++) assertEquals(fp32[i], folded[i], 1e-3 * (1 + Math.abs(fp32[i])), "logit " + i);
        for (Module m : net.namedModules().values()) if (m instanceof FakeQuantize fq) fq.setBypass(false);
        ptq.calibrate(net, calib, ProgressListener.SILENT);
        live.forEach((k, v) -> assertTrue(Arrays.equals(before.get(k).data(), v.data()), "calibration wrote into the caller's tensor " + k));
    }

    /** Bias correction makes each quantized layer's mean output per channel match the float one on the calibration data. */
    @Test
    void biasCorrectionRemovesTheMeanShift() {
        double without = meanShift(false), with = meanShift(true);
        System.err.printf("mean |channel mean shift| of the last conv/linear outputs: without bias correction %.5f, with %.5f%n", without, with);
        assertTrue(with < 0.5 * without, "bias correction: " + with + " vs " + without);
    }

    /** Mean |float − quantized| of the per-channel mean of each conv/linear output on the calibration images. */
    private double meanShift(boolean correct) {
        // the float reference: the folded network of an uncorrected PTQ with every quantizer bypassed
        Module ref = trainedResidual();
        new CnnPtq(CnnPtqConfig.defaults().withBiasCorrection(false)).apply(ref, ApplyOptions.none());
        for (Module m : ref.namedModules().values()) if (m instanceof FakeQuantize fq) fq.setBypass(true);
        Module net = trainedResidual();
        CnnPtq ptq = new CnnPtq(CnnPtqConfig.defaults().withBiasCorrection(correct));
        ptq.apply(net, ApplyOptions.none());
        ptq.calibrate(net, calib, ProgressListener.SILENT);
        double total = 0;
        int n = 0;
        for (String layer : CnnPtq.weightedCells(net).keySet()) {
            double[] f = means(ref, layer), q = means(net, layer);
            for (int ch = 0; ch < f.length; ch++) {
                total += Math.abs(f[ch] - q[ch]);
                n++;
            }
        }
        return total / n;
    }

    private static double[] means(Module net, String layer) {
        QuantCell c = CnnPtq.weightedCells(net).get(layer);
        double[] m = new double[c.parameter("weight").dim(0)];
        long[] count = {0};
        c.outputQuantizer().setTap((in, out) -> {
            double[] s = channelSums(in);
            for (int ch = 0; ch < m.length; ch++) m[ch] += s[ch];
            count[0] += in.numel() / in.dim(1);
        });
        Inference.logits(net, calib);
        c.outputQuantizer().setTap(null);
        for (int ch = 0; ch < m.length; ch++) m[ch] /= count[0];
        return m;
    }

    /** Per-channel sums over a tensor {@code [N, C, ...]} in float64 (the reference, independent of the code's accumulator). */
    static double[] channelSums(Tensor x) {
        int nn = x.dim(0), c = x.dim(1), inner = x.numel() / (nn * c);
        double[] m = new double[c];
        float[] d = x.data();
        for (int i = 0; i < d.length; i++) m[(i / inner) % c] += d[i];
        return m;
    }

    @Test
    void accuracyControlKeepsTheMostSensitiveLayersInFloat() {
        Module net = trainedLeNet();
        // a harmful calibration (ranges between the 30th and 70th percentile clip most activations) with a budget of 1 point:
        // layers go to float one per attempt, the float network restored each time, until the drop fits
        CnnPtqConfig harmful = CnnPtqConfig.defaults().withPercentile(70);
        double harmfulAcc = CnnPtqWorkflow.quantize(trainedLeNet(), calib, test, harmful, null, ProgressListener.SILENT).quantValidation();
        CnnPtqWorkflow.Result r = CnnPtqWorkflow.quantize(net, calib, test, harmful, 1.0, ProgressListener.SILENT);
        int cells = r.sqnr().size() + r.keptFloat().size();
        assertTrue(harmfulAcc < r.fp32Validation() - 0.01, "the harmful calibration should cost more than a point: " + harmfulAcc);
        assertTrue(r.attempts() > 1, "accuracy control should have kept a layer in float");
        System.err.println("accuracy control at max drop 1 (percentile 70, alone " + harmfulAcc + "): kept in float " + r.keptFloat() + ", attempts " + r.attempts() + ", drop met " + r.dropMet()
                + String.format(", validation %.4f vs float %.4f", r.quantValidation(), r.fp32Validation()));
        if (r.dropMet()) assertTrue(r.quantValidation() >= r.fp32Validation() - 0.01 - 1e-12);
        else assertEquals(1, r.sqnr().size(), "when the drop never fits, all layers but one are kept in float");
        assertTrue(r.quantValidation() > harmfulAcc + 0.2, "keeping layers in float should recover accuracy: " + r.quantValidation() + " vs " + harmfulAcc);
        assertEquals(r.keptFloat().size() + 1, r.attempts());
        assertEquals(new HashSet<>(r.keptFloat()).size(), r.keptFloat().size());
        assertTrue(cells >= 5);
        // float layers stay float in the deploy network and its export
        for (String layer : r.keptFloat()) {
            Module m = r.deploy().module(layer);
            assertTrue(m.getClass().getSimpleName().equals("Conv2d") || m.getClass().getSimpleName().equals("Linear"), layer + " is " + m.describe());
        }
    }

    @Test
    void sqnrTableMatchesADirectComputation() {
        Module net = trainedResidual();
        CnnPtq ptq = new CnnPtq(CnnPtqConfig.defaults());
        ptq.apply(net, ApplyOptions.none());
        ptq.calibrate(net, calib, ProgressListener.SILENT);
        List<CnnPtq.LayerSqnr> table = ptq.layerSqnr(net, test.inputs(), 100);
        assertEquals(CnnPtq.weightedCells(net).size(), table.size());
        // the first layer's SQNR, recomputed on the first 100 test images in one batch
        Tensor x = Tensor.of(Arrays.copyOf(test.inputs().data(), 100 * 64), 100, 1, 8, 8);
        QuantCell first = CnnPtq.weightedCells(net).get(table.get(0).layer());
        float[][] outs = new float[2][];
        for (int mode = 0; mode < 2; mode++) {
            ptq.floatMode(net, mode == 0);
            int k = mode;
            first.outputQuantizer().setTap((in, out) -> outs[k] = out.data().clone());
            Inference.logits(net, x);
            first.outputQuantizer().setTap(null);
        }
        double s = 0, e = 0;
        for (int i = 0; i < outs[0].length; i++) {
            s += outs[0][i] * (double) outs[0][i];
            e += (outs[0][i] - (double) outs[1][i]) * (outs[0][i] - (double) outs[1][i]);
        }
        double expect = 10 * Math.log10(s / e);
        System.err.println("SQNR table: " + table);
        assertEquals(expect, table.get(0).sqnrDb(), 0.01);
        for (CnnPtq.LayerSqnr l : table) assertTrue(l.sqnrDb() > 10 && l.sqnrDb() < 80, l.toString());
    }

    /**
     * A network given as ONNX: our trained LeNet exported to a float ONNX file, imported back ({@code OnnxImport}: a
     * graph of engine layers the library does not know by class), quantized, and its QDQ export run in ONNX Runtime.
     */
    @Test
    void aNetworkImportedFromOnnxQuantizes() throws Exception {
        Module lenet = trainedLeNet();
        double fp32 = accuracy(lenet);
        Path floatOnnx = dir.resolve("lenet-fp32.onnx");
        org.goldenstick.quant.OnnxQdqExporter.export(lenet, new int[] {1, 8, 8}, floatOnnx);
        Module imported = org.goldenstick.importer.OnnxImport.load(floatOnnx).module();
        assertEquals(fp32, accuracy(imported), 1e-9, "the imported float network computes what the trained one did");
        CnnPtqWorkflow.Result r = CnnPtqWorkflow.quantize(imported, calib, null, CnnPtqConfig.defaults(), null, ProgressListener.SILENT);
        double int8 = accuracy(r.deploy());
        Path q = r.algorithm().exportDeployModel(r.deploy(), dir.resolve("lenet-imported-int8"), new int[] {1, 8, 8}).get(1);
        int[] ours = Inference.predict(r.deploy(), test.inputs()), ort = onnxRuntime(q, test.inputs());
        int agree = 0;
        for (int i = 0; i < ours.length; i++) if (ours[i] == ort[i]) agree++;
        System.err.printf("LeNet via ONNX import: FP32 %.4f, int8 %.4f, ORT agreement %d/%d, SQNR %s%n", fp32, int8, agree, ours.length, r.sqnr());
        assertTrue(int8 >= fp32 - 0.02, "int8 " + int8 + " vs FP32 " + fp32);
        assertTrue(agree >= Math.ceil(0.99 * ours.length), "ONNX Runtime agreement " + agree + "/" + ours.length);
        assertEquals(5, r.sqnr().size(), "every conv and linear of the imported network quantized: " + r.sqnr());
    }

    @Test
    void builtInResNetQuantizes() {
        Random rng = new Random(3);
        Module net = ResNet.resnet8(1, 10, 8, rng);
        Recipes.trainer(spec.withEpochs(3), net, ProgressListener.SILENT).build().fit(Recipes.trainLoader(spec, data));
        double fp32 = accuracy(net);
        CnnPtqWorkflow.Result r = CnnPtqWorkflow.quantize(net, calib, null, CnnPtqConfig.defaults().withCalibration(ActCalibration.ENTROPY), null, ProgressListener.SILENT);
        assertTrue(r.algorithm().foldedBatchNorms() >= 6, r.algorithm().applySummary());
        double int8 = accuracy(r.deploy());
        System.err.printf("ResNet-8 digits: FP32 %.4f, int8 %.4f%n", fp32, int8);
        assertTrue(int8 >= fp32 - 0.03, "int8 " + int8 + " vs " + fp32);
    }

    @Test
    void calibrationWithoutImagesIsAnError() {
        Module net = trainedResidual();
        CnnPtq ptq = new CnnPtq(CnnPtqConfig.defaults());
        ptq.apply(net, ApplyOptions.none());
        assertThrows(IllegalArgumentException.class, () -> ptq.calibrate(net, Tensor.zeros(0, 1, 8, 8), ProgressListener.SILENT));
    }

    static int[] onnxRuntime(Path onnx, Tensor x) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long[] shape = Arrays.stream(x.shape()).asLongStream().toArray();
        try (OrtSession s = env.createSession(onnx.toString(), new OrtSession.SessionOptions());
             OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x.data()), shape);
             OrtSession.Result r = s.run(Map.of("input", in))) {
            float[][] y = (float[][]) r.get(0).getValue();
            int[] out = new int[y.length];
            for (int i = 0; i < y.length; i++) for (int c = 1; c < y[i].length; c++) if (y[i][c] > y[i][out[i]]) out[i] = c;
            return out;
        }
    }
}
