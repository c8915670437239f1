package org.goldenstick.qat;

import static org.junit.jupiter.api.Assertions.*;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.goldenstick.train.Inference;
import org.goldenstick.formats.onnx.OnnxModel;
import org.goldenstick.formats.onnx.OnnxModelReader;
import org.goldenstick.formats.onnx.OnnxNode;
import org.goldenstick.nn.Module;
import org.goldenstick.quant.DeployIO;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.progress.ProgressPrinter;
import org.goldenstick.train.Recipes;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole SimQAT flow on digits with LeNet (default recipe): FP32 training, apply, fine-tuning, int8 convert,
 * safetensors + ONNX export; then the int8 accuracy, file size, reload and ONNX Runtime agreement.
 */
class SimQATEndToEndTest {
    @TempDir
    static Path dir;
    static QatWorkflow.Result result;

    @BeforeAll
    static void runOnce() throws Exception {
        var opts = QatWorkflow.Options.defaults("lenet", "digits", dir).withBenchSeconds(0);
        result = QatWorkflow.run(opts, spec -> new SimQAT(SimQATConfig.defaults()), ProgressPrinter.auto());
    }

    @Test
    void int8AccuracyWithinOnePointOfFp32() {
        assertTrue(result.fp32Accuracy() > 0.9, "FP32 LeNet on digits should train: " + result.fp32Accuracy());
        assertTrue(result.quantAccuracy() >= result.fp32Accuracy() - 0.01,
                "int8 " + result.quantAccuracy() + " vs FP32 " + result.fp32Accuracy());
    }

    @Test
    void deployFileIsAtMostThirtyPercentOfFp32Checkpoint() {
        assertTrue(result.deployBytes() <= 0.30 * result.fp32Bytes(), result.deployBytes() + " vs " + result.fp32Bytes());
    }

    @Test
    void deployFileReloadsIntoAFreshlyConvertedNetwork() throws Exception {
        Recipes.Spec spec = Recipes.Spec.defaults("lenet", "digits");
        Module fresh = Recipes.newModel(spec, Recipes.data(spec));
        SimQAT algo = new SimQAT(SimQATConfig.defaults());
        algo.apply(fresh);
        fresh.forward(Tensor.randn(new Random(9), 4, 1, 8, 8)); // any ranges: overwritten by the load
        Module deploy = algo.convert(fresh);
        DeployIO.load(deploy, result.exported(".safetensors"));
        assertArrayEquals(result.deployPredictions(), Inference.predict(deploy, result.testInputs()));
    }

    @Test
    void onnxIsQdqAndOnnxRuntimeAgreesWithOurDeployNetwork() throws Exception {
        Path onnx = result.exported(".onnx");
        OnnxModel m = OnnxModelReader.read(onnx);
        assertEquals(21, m.opset(""));
        long q = m.graph().nodes().stream().filter(n -> n.opType().equals("QuantizeLinear")).count();
        long conv = m.graph().nodes().stream().filter(n -> n.opType().equals("Conv")).count();
        assertTrue(q >= 5 && conv == 2, "QDQ graph expected, got " + m.graph().nodes().stream().map(OnnxNode::opType).toList());
        assertTrue(m.graph().nodes().stream().anyMatch(n -> n.opType().equals("DequantizeLinear") && n.intAttr("axis", -1) == 0), "per-channel weight DQ");

        Tensor x = result.testInputs();
        int n = x.dim(0);
        int[] ort = new int[n];
        float[][] ortOut;
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setIntraOpNumThreads(1);
            try (OrtSession s = env.createSession(Files.readAllBytes(onnx), so);
                 OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x.data()), toLong(x.shape()));
                 OrtSession.Result r = s.run(Map.of("input", in))) {
                ortOut = (float[][]) r.get(0).getValue();
            }
        }
        int agree = 0;
        for (int i = 0; i < n; i++) {
            int best = 0;
            for (int c = 1; c < ortOut[i].length; c++) if (ortOut[i][c] > ortOut[i][best]) best = c;
            ort[i] = best;
            if (best == result.deployPredictions()[i]) agree++;
        }
        double agreement = agree / (double) n;
        assertTrue(agreement >= 0.995, "ONNX Runtime top-1 agrees on " + agreement);
        // logits: same grid, so at most a few quantization steps apart
        float[] ours = Inference.logits(result.deploy(), x);
        int k = ortOut[0].length, far = 0;
        for (int i = 0; i < n; i++) for (int c = 0; c < k; c++) if (Math.abs(ours[i * k + c] - ortOut[i][c]) > 0.2) far++;
        assertTrue(far <= n * k / 100, far + " logits differ by more than 0.2");
    }

    static long[] toLong(int[] s) {
        long[] l = new long[s.length];
        for (int i = 0; i < s.length; i++) l[i] = s[i];
        return l;
    }
}
