package org.goldenstick.qat;

import static org.junit.jupiter.api.Assertions.*;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.goldenstick.train.Inference;
import org.goldenstick.formats.onnx.OnnxModelReader;
import org.goldenstick.formats.onnx.OnnxNode;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.models.ResNet;
import org.goldenstick.quant.DeployIO;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A converted ResNet (fused and BN-folded, and unfused) exported to ONNX runs in ONNX Runtime with our outputs. */
class OnnxExportResNetTest {
    @TempDir
    Path dir;

    @Test
    void foldedAndUnfoldedResNetsMatchOnnxRuntime() throws Exception {
        for (Map<String, Object> cfg : List.<Map<String, Object>>of(Map.of("enable_fusion", true, "bn_fold", true), Map.of())) {
            Random rng = new Random(7);
            ResNet net = ResNet.resnet8(1, 10, 4, rng);
            SimQAT algo = new SimQAT(cfg);
            algo.apply(net);
            for (int s = 0; s < 4; s++) net.forward(Tensor.randn(rng, 16, 1, 8, 8)); // training calls: BN statistics and ranges
            Module deploy = algo.convert(net);
            Path prefix = dir.resolve("resnet" + cfg.size());
            List<Path> files = algo.exportDeployModel(deploy, prefix, new int[] {1, 8, 8});
            Path onnx = files.get(1);
            List<String> ops = OnnxModelReader.read(onnx).graph().nodes().stream().map(OnnxNode::opType).toList();
            assertTrue(ops.contains("Add") && ops.contains("GlobalAveragePool") && ops.contains("QuantizeLinear"), ops.toString());
            if (cfg.isEmpty()) assertTrue(ops.contains("BatchNormalization"), "unfused BN stays float: " + ops);
            else assertFalse(ops.contains("BatchNormalization"), "folded: " + ops);

            Tensor x = Tensor.randn(rng, 32, 1, 8, 8);
            float[] ours = Inference.logits(deploy, x);
            float[][] ort;
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            try (OrtSession s = env.createSession(onnx.toString(), new OrtSession.SessionOptions());
                 OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x.data()), new long[] {32, 1, 8, 8});
                 OrtSession.Result r = s.run(Map.of("input", in))) {
                ort = (float[][]) r.get(0).getValue();
            }
            int k = ort[0].length, off = 0, agree = 0;
            double scale = 0;
            for (float v : ours) scale = Math.max(scale, Math.abs(v));
            for (int i = 0; i < 32; i++) {
                int a = 0, b = 0;
                for (int c = 0; c < k; c++) {
                    if (Math.abs(ours[i * k + c] - ort[i][c]) > 0.02 * scale + 1e-4) off++;
                    if (ours[i * k + c] > ours[i * k + a]) a = c;
                    if (ort[i][c] > ort[i][b]) b = c;
                }
                if (a == b) agree++;
            }
            assertTrue(off <= 32 * k / 50, cfg + ": " + off + " of " + 32 * k + " logits differ");
            assertTrue(agree >= 31, cfg + ": top-1 agreement " + agree + "/32");

            // the deploy file reloads into a freshly converted network of the same architecture
            ResNet fresh = ResNet.resnet8(1, 10, 4, new Random(99));
            SimQAT again = new SimQAT(cfg);
            again.apply(fresh);
            fresh.forward(Tensor.randn(rng, 4, 1, 8, 8));
            Module d2 = again.convert(fresh);
            DeployIO.load(d2, files.get(0));
            assertArrayEquals(ours, Inference.logits(d2, x), 0f);
        }
    }
}
