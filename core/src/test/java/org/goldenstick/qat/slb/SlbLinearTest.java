package org.goldenstick.qat.slb;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.goldenstick.formats.onnx.OnnxDataType;
import org.goldenstick.formats.onnx.OnnxModel;
import org.goldenstick.formats.onnx.OnnxModelReader;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.models.LeNet5;
import org.goldenstick.qat.LinearQuant;
import org.goldenstick.qat.QatWorkflow;
import org.goldenstick.quant.QLinear;
import org.goldenstick.quant.QuantDtype;
import org.goldenstick.rewrite.ConfigException;
import org.goldenstick.tensor.GradMode;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.Kernels;
import org.goldenstick.tensor.kernel.PackedBits;
import org.goldenstick.progress.ProgressListener;
import org.goldenstick.testing.OnnxRuntimeAgreement;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SLB on Linear layers: packed linear kernel, the int8 classifier, deploy size and the low-bit ONNX export. */
class SlbLinearTest {
    @TempDir
    Path dir;

    @AfterEach
    void restore() {
        Kernels.useVector(true);
    }

    private static float[] run(Module m, Tensor x) {
        try (var ignored = GradMode.off()) {
            return m.forward(x).data().clone();
        }
    }

    @Test
    void packedLinearMatchesFloat64ReferenceOnBothPaths() {
        Random rng = new Random(11);
        for (int bits : new int[] {1, 2, 4}) {
            int in = 37, out = 9, n = 5;
            int[] idx = new int[out * in];
            for (int i = 0; i < idx.length; i++) idx[i] = rng.nextInt(1 << bits);
            float[] scale = new float[out], bias = new float[out];
            for (int o = 0; o < out; o++) {
                scale[o] = 0.1f + rng.nextFloat();
                bias[o] = (float) rng.nextGaussian();
            }
            float[] levels = PackedBits.linspaceLevels(bits);
            PackedLinear fc = PackedLinear.of(idx, bits, scale, levels, out, in, bias);
            Tensor x = Tensor.randn(rng, n, in);
            for (boolean vector : new boolean[] {true, false}) {
                Kernels.useVector(vector);
                float[] y = run(fc, x);
                for (int r = 0; r < n; r++)
                    for (int o = 0; o < out; o++) {
                        double ref = bias[o];
                        for (int i = 0; i < in; i++) ref += (double) scale[o] * levels[idx[o * in + i]] * x.data()[r * in + i];
                        assertEquals(ref, y[r * out + o], 1e-4 * (1 + Math.abs(ref)), bits + " bits, vector " + vector);
                    }
            }
            assertArrayEquals(idx, fc.levelIndex());
        }
    }

    @Test
    void hiddenLinearsGetTheSearchAndTheClassifierInt8ByDefault() {
        var s = new SlbQuantAwareTraining();
        s.setWeightQuantDtype(QuantDtype.INT2);
        s.setEnableActQuant(true);
        Module net = s.apply(new LeNet5(1, 8, 10, new Random(0)));
        assertEquals(5, s.report().wrapped().size(), s.report().table());
        assertInstanceOf(Conv2dSlbQuant.class, net.module("conv1"));
        assertInstanceOf(LinearSlbQuant.class, net.module("fc1"));
        assertInstanceOf(LinearSlbQuant.class, net.module("fc2"));
        assertInstanceOf(LinearQuant.class, net.module("fc3"));
        assertEquals(List.of(120, 16 * 2 * 2, 4), List.of(net.module("fc1").parameter("weight").shape()[0], net.module("fc1").parameter("weight").shape()[1],
                net.module("fc1").parameter("weight").shape()[2]));
        net.train();
        try (var ignored = GradMode.off()) {
            net.forward(Tensor.randn(new Random(1), 8, 1, 8, 8));
        }
        // each activation edge is fake-quantized once: only conv1 (fed by the network input) quantizes its input; the
        // others read their producer's quantized output through ReLU / max-pool / flatten, which keep it on its grid
        assertNotNull(((SlbQuantCell) net.module("conv1")).inputQuantizer());
        for (String p : List.of("conv2", "fc1", "fc2")) {
            assertNull(((SlbQuantCell) net.module(p)).inputQuantizer(), p);
            assertNotNull(((SlbQuantCell) net.module(p)).outputQuantizer(), p);
        }
        assertNull(((LinearQuant) net.module("fc3")).inputQuantizer());
        Tensor x = Tensor.randn(new Random(2), 4, 1, 8, 8);
        net.eval();
        float[] fake = run(net, x);
        Module deploy = s.convert(net);
        assertNotNull(packedLinear(deploy, "fc1"));
        assertInstanceOf(QLinear.class, deploy.module("fc3"));
        float[] packed = run(deploy, x);
        double scale = 0;
        for (float v : fake) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < fake.length; i++) assertEquals(fake[i], packed[i], 0.05 * scale, "deploy vs hard fake-quant at " + i);

        var low = new SlbQuantAwareTraining(Map.of("weight_quant_dtype", "INT4", "classifier_quant_dtype", "INT4"));
        Module net2 = low.apply(new LeNet5(1, 8, 10, new Random(0)));
        assertInstanceOf(LinearSlbQuant.class, net2.module("fc3"));
        assertEquals(16, net2.module("fc3").parameter("weight").shape()[2]);
    }

    @Test
    void bitsErrorsNameTheOptionAndTheAllowedValues() {
        var e = assertThrows(ConfigException.class, () -> new SlbQuantAwareTraining(Map.of("quant_dtype", "INT8")));
        assertTrue(e.getMessage().contains("weight_quant_dtype") && e.getMessage().contains("1, 2 or 4"), e.getMessage());
        var c = assertThrows(ConfigException.class, () -> new SlbQuantAwareTraining(Map.of("classifier_quant_dtype", "UINT8")));
        assertTrue(c.getMessage().contains("classifier_quant_dtype") && c.getMessage().contains("INT8"), c.getMessage());
    }

    /** The packed linear layer at {@code path} (alone or between its activation quant-dequant steps). */
    static PackedLinear packedLinear(Module deploy, String path) {
        for (var e : deploy.namedModules().entrySet()) if (e.getValue() instanceof PackedLinear p && (e.getKey().equals(path) || e.getKey().startsWith(path + "."))) return p;
        return null;
    }

    /**
     * The bar: SLB W2A8 LeNet on digits deploys at ≤ 0.2× the FP32 checkpoint with the classifier in int8; its
     * ONNX file holds INT8 weight initializers (INT4 at 4 bits) and no float weight matrix, and ONNX Runtime agrees with
     * the packed network on the whole test split.
     */
    @Test
    void lenetDigitsW2A8ShrinksAndItsLowBitOnnxAgreesWithOnnxRuntime() throws Exception {
        var base = QatWorkflow.Options.defaults("lenet", "digits", dir).withBenchSeconds(0).withQatEpochs(3);
        Path fp32 = null;
        for (int bits : new int[] {2, 4}) {
            var r = QatWorkflow.run(base.withFrom(fp32), spec -> SlbDigitsAccuracyTest.fineTune(bits, 3, false), ProgressListener.SILENT);
            fp32 = r.fp32Checkpoint();
            double ratio = r.deployBytes() / (double) r.fp32Bytes();
            assertInstanceOf(QLinear.class, r.deploy().module("fc3"), "classifier deployed int8");
            if (bits == 2) assertTrue(ratio <= 0.2, "W2A8 deploy " + r.deployBytes() + " B vs FP32 " + r.fp32Bytes() + " B = " + ratio);

            OnnxModel m = OnnxModelReader.read(r.exported(".onnx"));
            Map<OnnxDataType, Long> elems = new EnumMap<>(OnnxDataType.class);
            long largestFloat = 0;
            for (var t : m.graph().initializers()) {
                elems.merge(t.dataType(), t.numel(), Long::sum);
                if (t.dataType() == OnnxDataType.FLOAT) largestFloat = Math.max(largestFloat, t.numel());
            }
            long fc1 = packedLinear(r.deploy(), "fc1").levelIndex().length;
            if (bits == 2) assertTrue(elems.getOrDefault(OnnxDataType.INT8, 0L) >= fc1, "INT8 weights in the ONNX file: " + elems);
            else assertTrue(elems.getOrDefault(OnnxDataType.INT4, 0L) >= fc1, "INT4 weights in the ONNX file: " + elems);
            assertTrue(largestFloat <= 120, "no float weight tensor (largest float initializer " + largestFloat + " values): " + elems);

            OnnxRuntimeAgreement a = OnnxRuntimeAgreement.measure(r.exported(".onnx"), r.deploy(), r.testInputs());
            System.err.printf("SLB W%dA8 LeNet digits: deploy %d B / FP32 %d B = %.3f, accuracy %.4f (FP32 %.4f), %s, initializers %s%n",
                    bits, r.deployBytes(), r.fp32Bytes(), ratio, r.quantAccuracy(), r.fp32Accuracy(), a, elems);
            assertTrue(a.agreement() >= 0.995, a.toString());
        }
    }
}
