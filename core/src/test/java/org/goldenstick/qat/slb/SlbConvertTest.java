package org.goldenstick.qat.slb;

import static org.junit.jupiter.api.Assertions.*;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.goldenstick.nn.BatchNorm;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.models.LeNet5;
import org.goldenstick.nn.models.ResNet;
import org.goldenstick.nn.Sequential;
import org.goldenstick.quant.DeployIO;
import org.goldenstick.quant.Int8Ops;
import org.goldenstick.quant.OnnxQdqExporter;
import org.goldenstick.quant.QuantParams;
import org.goldenstick.quant.QuantDtype;
import org.goldenstick.rewrite.RewriteReport;
import org.goldenstick.tensor.Conv2dSpec;
import org.goldenstick.tensor.GradMode;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.Kernels;
import org.goldenstick.tensor.kernel.PackedBits;
import org.goldenstick.testing.OnnxRuntimeAgreement;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SlbConvertTest {
    @AfterEach
    void restore() {
        Kernels.useVector(true);
    }

    private static SlbQuantAwareTraining slb(QuantDtype w, boolean act) {
        var s = new SlbQuantAwareTraining();
        s.setWeightQuantDtype(w);
        s.setEnableActQuant(act);
        return s;
    }

    private static float[] run(Module m, Tensor x) {
        try (var ignored = GradMode.off()) {
            return m.forward(x).data().clone();
        }
    }

    /** Float64 direct convolution: y[n,o,p] = Σ w[o,c,ky,kx]·x[n,g·cin+c, iy, ix] + b[o]. */
    private static double[] referenceConv(float[] x, int n, int cin, int h, int w, float[] wt, float[] bias, int cout, int k, int stride, int pad, int groups) {
        int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1, cpg = cin / groups, opg = cout / groups;
        double[] y = new double[n * cout * oh * ow];
        for (int b = 0; b < n; b++)
            for (int o = 0; o < cout; o++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++) {
                        double s = bias == null ? 0 : bias[o];
                        int g = o / opg;
                        for (int c = 0; c < cpg; c++)
                            for (int ky = 0; ky < k; ky++)
                                for (int kx = 0; kx < k; kx++) {
                                    int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                    s += (double) wt[((o * cpg + c) * k + ky) * k + kx] * x[((b * cin + g * cpg + c) * h + iy) * w + ix];
                                }
                        y[((b * cout + o) * oh + oy) * ow + ox] = s;
                    }
        return y;
    }

    @Test
    void packedConvMatchesFloat64ReferenceOnBothPaths() {
        Random rng = new Random(3);
        for (int bits : new int[] {1, 2, 4}) {
            for (int groups : new int[] {1, 2}) {
                int cin = 4, cout = 6, k = 3, n = 2, h = 7, w = 5, cols = cin / groups * k * k;
                int[] idx = new int[cout * cols];
                for (int i = 0; i < idx.length; i++) idx[i] = rng.nextInt(1 << bits);
                float[] scale = new float[cout], bias = new float[cout];
                for (int o = 0; o < cout; o++) {
                    scale[o] = 0.1f + rng.nextFloat();
                    bias[o] = (float) rng.nextGaussian();
                }
                float[] levels = PackedBits.linspaceLevels(bits);
                PackedConv2d conv = PackedConv2d.of(idx, bits, scale, levels, cout, cin / groups, k, k, Conv2dSpec.of(2, 1, 1, groups), bias);
                float[] wt = new float[idx.length];
                for (int i = 0; i < idx.length; i++) wt[i] = scale[i / cols] * levels[idx[i]];
                Tensor x = Tensor.randn(rng, n, cin, h, w);
                double[] ref = referenceConv(x.data(), n, cin, h, w, wt, bias, cout, k, 2, 1, groups);
                for (boolean vector : new boolean[] {true, false}) {
                    Kernels.useVector(vector);
                    float[] y = run(conv, x);
                    assertEquals(ref.length, y.length);
                    for (int i = 0; i < y.length; i++) assertEquals(ref[i], y[i], 1e-4 * (1 + Math.abs(ref[i])), "bits " + bits + " groups " + groups + " vector " + vector + " at " + i);
                }
                assertArrayEquals(idx, conv.levelIndex());
            }
        }
    }

    /**
     * A 1/2-bit packed layer between 8-bit grids runs as its int8 form: exact int32 accumulation of input codes times
     * weight codes plus the bias as int32 (checked against a float64 reference: within one output step everywhere, equal
     * almost everywhere), and
     * ONNX Runtime, which fuses the QDQ export into an integer kernel, gives bit-identical outputs (dense, grouped and
     * depthwise convolutions; a linear layer). While these layers computed in float, ONNX Runtime differed by one output
     * step on about 1 % of the values (it rounds the float bias to int32 itself).
     */
    @Test
    void gridBoundLowBitLayerIsItsInt8FormAndOnnxRuntimeAgreesExactly(@TempDir Path dir) throws Exception {
        Random rng = new Random(11);
        QuantParams in = QuantParams.perTensor(8, false, false, false, 0.031f, 97), out = QuantParams.perTensor(8, false, false, false, 0.047f, 121);
        for (int bits : new int[] {1, 2}) {
            for (int groups : new int[] {1, 2, 6}) {
                int cin = 6, cout = 6, k = 3, n = 8, h = 7, w = 7, cols = cin / groups * k * k;
                int[] idx = new int[cout * cols];
                for (int i = 0; i < idx.length; i++) idx[i] = rng.nextInt(1 << bits);
                float[][] sb = scalesAndBiases(rng, cout);
                float[] scale = sb[0], bias = sb[1];
                PackedConv2d conv = PackedConv2d.of(idx, bits, scale, PackedBits.linspaceLevels(bits), cout, cin / groups, k, k, Conv2dSpec.of(1, 1, 1, groups), bias);
                conv.withActivationGrids(in, out);
                assertNotNull(conv.integerForm(), "bits " + bits);
                Tensor x = Tensor.randn(rng, n, cin, h, w).mul(1.2f).add(0.4f);
                float[] xq = Int8Ops.dequantizeActivations(Int8Ops.quantizeActivations(x.data(), in), in);
                float[] codes = new float[idx.length];
                byte[] c8 = conv.int8Codes();
                float[] ws = conv.int8Scales();
                for (int i = 0; i < codes.length; i++) codes[i] = c8[i];
                double[] acc = referenceConv(xq, n, cin, h, w, codes, null, cout, k, 1, 1, groups);
                float[] y = null;
                for (boolean vector : new boolean[] {true, false}) {
                    Kernels.useVector(vector);
                    float[] v = run(conv, x);
                    if (y != null) assertArrayEquals(y, v, 0f, "vector and scalar kernels, bits " + bits + " groups " + groups);
                    y = v;
                }
                int exact = 0, hw = h * w;
                for (int i = 0; i < y.length; i++) {
                    int o = (i / hw) % cout;
                    double biasStep = (double) in.scale()[0] * ws[o]; // the bias is int32 on the accumulator's grid
                    double real = acc[i] * ws[o] + Math.round(bias[o] / biasStep) * biasStep;
                    double q = Math.max(0, Math.min(255, Math.rint(real / out.scale()[0]) + out.zeroPoint()[0]));
                    double ref = (q - out.zeroPoint()[0]) * out.scale()[0];
                    assertEquals(ref, y[i], out.scale()[0] * 1.01, "within one output step at " + i);
                    if (Math.abs(ref - y[i]) < 1e-6) exact++;
                }
                assertTrue(exact >= 0.99 * y.length, exact + " of " + y.length + " equal to the float64 reference");
                float[] ort = ortOutput(new Sequential(conv), new int[] {cin, h, w}, x, dir.resolve("conv-" + bits + "-" + groups + ".onnx"));
                assertArrayEquals(y, ort, 0f, "ONNX Runtime on the export, bits " + bits + " groups " + groups);
            }
            int fin = 24, fout = 10;
            int[] idx = new int[fin * fout];
            for (int i = 0; i < idx.length; i++) idx[i] = rng.nextInt(1 << bits);
            float[][] sb = scalesAndBiases(rng, fout);
            PackedLinear fc = PackedLinear.of(idx, bits, sb[0], PackedBits.linspaceLevels(bits), fout, fin, sb[1]);
            fc.withActivationGrids(in, out);
            Tensor x = Tensor.randn(rng, 64, fin).add(2f);
            float[] y = run(fc, x);
            float[] ort = ortOutput(new Sequential(fc), new int[] {fin}, x, dir.resolve("fc-" + bits + ".onnx"));
            assertArrayEquals(y, ort, 0f, "ONNX Runtime on the linear export, bits " + bits);
        }
    }

    private static float[] ortOutput(Module net, int[] sample, Tensor x, Path file) throws Exception {
        OnnxQdqExporter.export(net, sample, file, new SlbOnnxExport());
        return OnnxRuntimeAgreement.output(file, x);
    }

    /** Random per-channel scales in [0.05, 0.35) and biases N(0, 0.3²) for {@code n} channels: {scales, biases}. */
    private static float[][] scalesAndBiases(Random rng, int n) {
        float[] scale = new float[n], bias = new float[n];
        for (int o = 0; o < n; o++) {
            scale[o] = 0.05f + 0.3f * rng.nextFloat();
            bias[o] = (float) (0.3 * rng.nextGaussian());
        }
        return new float[][] {scale, bias};
    }

    @Test
    void applyWrapsConvolutionsAndLinearLayers() {
        var s = slb(QuantDtype.INT2, true);
        Module net = s.apply(new LeNet5(1, 8, 10, new Random(0)));
        RewriteReport r = s.report();
        assertEquals(5, r.wrapped().size(), r.table());
        assertEquals(List.of("Conv2d", "Conv2d", "Linear", "Linear", "Linear"), r.wrapped().stream().map(RewriteReport.Row::original).toList());
        long convs = net.namedModules().values().stream().filter(m -> m instanceof Conv2d).count();
        assertEquals(0, convs);
        var q = (Conv2dSlbQuant) net.namedModules().values().stream().filter(m -> m instanceof Conv2dSlbQuant).findFirst().orElseThrow();
        assertEquals(5, q.parameter("weight").rank());
        assertEquals(4, q.parameter("weight").dim(4));
        assertNotNull(q.inputQuantizer());
        assertNotNull(q.outputQuantizer());
    }

    @Test
    void softWeightsCarryGradientThroughSoftmaxAndLieInsideTheLevels() {
        var s = slb(QuantDtype.INT4, false);
        Module net = s.apply(new LeNet5(1, 8, 10, new Random(0)));
        net.train();
        var q = (Conv2dSlbQuant) net.module("conv1");
        Tensor w = q.weightQuantizer().forward(q.parameter("weight"));
        for (float v : w.data()) assertTrue(v >= -1 - 1e-6 && v <= 1 + 1e-6);
        Tensor loss = net.forward(Tensor.randn(new Random(1), 2, 1, 8, 8)).sum();
        loss.backward();
        double g = 0;
        for (float v : q.parameter("weight").gradArray()) g += Math.abs(v);
        assertTrue(g > 0, "logits receive a gradient in the soft phase");
        // hard phase: no gradient to the logits
        net.zeroGrad();
        q.weightQuantizer().setHard(true);
        ((Conv2dSlbQuant) net.module("conv2")).weightQuantizer().setHard(true);
        net.forward(Tensor.randn(new Random(1), 2, 1, 8, 8)).sum().backward();
        float[] ga = q.parameter("weight").gradArray();
        if (ga != null) for (float v : ga) assertEquals(0f, v);
    }

    /** The logits of channel o get the true gradient (central differences) times 1/s_o², the documented preconditioning. */
    @Test
    void logitGradientIsTheTrueGradientOverScaleSquared() {
        var s = slb(QuantDtype.INT2, false);
        s.setClassifierQuantDtype(QuantDtype.INT2); // the int8 classifier quantizes activations: not differentiable for central differences
        Module net = s.apply(new LeNet5(1, 8, 10, new Random(0)));
        net.train();
        var q = (Conv2dSlbQuant) net.module("conv1");
        q.weightQuantizer().setTemperature(1f);
        Tensor x = Tensor.randn(new Random(1), 2, 1, 8, 8);
        net.zeroGrad();
        net.forward(x).sum().backward();
        float[] a = q.parameter("weight").data(), g = q.parameter("weight").gradArray().clone();
        float[] scale = q.buffer("scale").data();
        int per = a.length / q.outChannels();
        boolean scaled = false;
        int checked = 0;
        for (int i = 0; i < a.length && checked < 12; i += 7) {
            if (Math.abs(g[i]) < 1e-3) continue;
            float keep = a[i], h = 1e-2f;
            double fd = 0;
            a[i] = keep + h;
            float[] yu = run(net, x);
            a[i] = keep - h;
            float[] yd = run(net, x);
            a[i] = keep;
            for (int j = 0; j < yu.length; j++) fd += ((double) yu[j] - yd[j]) / (2 * h);
            double s2 = (double) scale[i / per] * scale[i / per];
            scaled |= Math.abs(s2 - 1) > 0.1;
            assertEquals(fd / s2, g[i], 0.03 * Math.abs(fd / s2) + 1e-3, "logit " + i);
            checked++;
        }
        assertTrue(checked >= 6, "enough logits with a gradient to check: " + checked);
        assertTrue(scaled, "the scales differ from 1, so the test tells preconditioned from plain gradients");
    }

    @Test
    void mseScaleRoundsNoWorseThanMaxAndBetterForGaussianWeights() {
        Random rng = new Random(3);
        for (int bits : new int[] {2, 4}) {
            float[] levels = PackedBits.linspaceLevels(bits);
            float[] w = new float[576];
            for (int i = 0; i < w.length; i++) w[i] = (float) (0.05 * rng.nextGaussian());
            double max = 0;
            for (float v : w) max = Math.max(max, Math.abs(v));
            double sMse = Conv2dSlbQuant.mseScale(w, 0, w.length, levels);
            assertTrue(roundingError(w, sMse, levels) < 0.9 * roundingError(w, max, levels), bits + " bits: " + sMse + " vs max " + max);
            // weights already on a grid s0·levels come back with s0
            float[] onGrid = new float[levels.length * 3];
            for (int i = 0; i < onGrid.length; i++) onGrid[i] = 0.3f * levels[i % levels.length];
            assertEquals(0.3, Conv2dSlbQuant.mseScale(onGrid, 0, onGrid.length, levels), 1e-6);
        }
    }

    private static double roundingError(float[] w, double s, float[] levels) {
        double err = 0;
        for (float v : w) {
            double best = Double.POSITIVE_INFINITY;
            for (float l : levels) best = Math.min(best, Math.abs(v - s * l));
            err += best * best;
        }
        return err;
    }

    @Test
    void hardForwardEqualsConvertedPackedNetworkAndSurvivesSaveLoadAndOnnx(@TempDir Path dir) throws Exception {
        for (QuantDtype d : List.of(QuantDtype.INT1, QuantDtype.INT2, QuantDtype.INT4)) {
            Random rng = new Random(d.bits());
            var s = slb(d, false);
            Module net = s.apply(ResNet.resnet8(1, 10, 8, rng));
            // a few BN statistics steps so BN is not the identity
            net.train();
            try (var ignored = GradMode.off()) {
                for (int i = 0; i < 3; i++) net.forward(Tensor.randn(rng, 8, 1, 8, 8));
            }
            for (var m : net.namedModules().values()) if (m instanceof SlbWeightQuantizer q) q.setHard(true);
            net.eval();
            Tensor x = Tensor.randn(rng, 5, 1, 8, 8);
            float[] before = run(net, x);
            Module deploy = s.convert(net);
            assertTrue(deploy.namedModules().values().stream().anyMatch(m -> m instanceof PackedConv2d));
            for (boolean vector : new boolean[] {true, false}) {
                Kernels.useVector(vector);
                float[] after = run(deploy, x);
                for (int i = 0; i < after.length; i++) assertEquals(before[i], after[i], 1e-4 * (1 + Math.abs(before[i])), d + " vector " + vector + " at " + i);
            }
            Kernels.useVector(true);
            List<Path> files = s.exportDeployModel(deploy, dir.resolve("slb-" + d), new int[] {1, 8, 8});
            // load into a second, differently initialised deploy network of the same structure
            var s2 = slb(d, false);
            Module other = s2.convert(s2.apply(ResNet.resnet8(1, 10, 8, new Random(99))));
            assertNotEquals(before[0], run(other, x)[0]);
            DeployIO.load(other, files.get(0));
            float[] loaded = run(other, x);
            for (int i = 0; i < loaded.length; i++) assertEquals(before[i], loaded[i], 1e-4 * (1 + Math.abs(before[i])), "loaded " + d);
            // deployed packed weights: bits/8 bytes per weight
            long weights = 0, packedBytes = 0;
            for (var m : deploy.namedModules().values()) if (m instanceof PackedConv2d p) {
                weights += p.dequantizedWeight().numel();
                packedBytes += p.packedBytes();
            }
            assertEquals((weights * d.bits() + 7) / 8, packedBytes, 8.0 * 20);
            // ONNX Runtime on the dequantized export
            float[][] ort;
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            try (OrtSession sess = env.createSession(files.get(1).toString(), new OrtSession.SessionOptions());
                 OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x.data()), new long[] {5, 1, 8, 8});
                 OrtSession.Result r = sess.run(Map.of("input", in))) {
                ort = (float[][]) r.get(0).getValue();
            }
            for (int i = 0; i < 5; i++)
                for (int c = 0; c < 10; c++) assertEquals(before[i * 10 + c], ort[i][c], 1e-3 * (1 + Math.abs(before[i * 10 + c])), "onnx " + d);
            assertTrue(Files.size(files.get(0)) > 0);
        }
    }

    @Test
    void actQuantDeployMatchesEvalForward() {
        Random rng = new Random(5);
        var s = slb(QuantDtype.INT2, true);
        Module net = s.apply(new LeNet5(1, 8, 10, rng));
        net.train();
        try (var ignored = GradMode.off()) {
            net.forward(Tensor.randn(rng, 16, 1, 8, 8));
        }
        net.eval();
        Tensor x = Tensor.randn(rng, 4, 1, 8, 8);
        float[] before = run(net, x);
        float[] after = run(s.convert(net), x);
        double scale = 0;
        for (float v : before) scale = Math.max(scale, Math.abs(v));
        // a value on a rounding boundary of the 8-bit grid may land one step apart, and five quantized layers carry such
        // a step on: compare within a few output grid steps (a wrong weight or grid would be off by the logits' scale)
        for (int i = 0; i < before.length; i++) assertEquals(before[i], after[i], 0.05 * scale, "at " + i);
    }

    @Test
    void bnCalibrationReestimatesStatisticsAndEndsInEval() {
        Random rng = new Random(7);
        var s = slb(QuantDtype.INT1, false);
        Module net = s.apply(ResNet.resnet8(1, 10, 8, rng));
        var batches = List.of(new org.goldenstick.data.Batch(Tensor.randn(rng, 16, 1, 8, 8).mul(3f), new int[16]));
        BatchNorm bn = (BatchNorm) net.namedModules().values().stream().filter(m -> m instanceof BatchNorm).findFirst().orElseThrow();
        float before = bn.runningVar().data()[0];
        net.train();
        assertTrue(BnCalibration.calibrate(net, batches) > 0);
        assertNotEquals(before, bn.runningVar().data()[0]);
        assertFalse(net.isTraining());
        for (var m : net.namedModules().values()) assertFalse(m.isTraining(), m.describe());
    }
}
