package org.goldenstick.prune;

import static org.junit.jupiter.api.Assertions.*;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.goldenstick.nn.BatchNorm2d;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.models.ResNet;
import org.goldenstick.quant.OnnxQdqExporter;
import org.goldenstick.tensor.GradMode;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A physically pruned ResNet-8 exported to ONNX (float graph) gives ONNX Runtime's outputs equal to ours. */
class ScopOnnxRuntimeTest {
    @Test
    void prunedResNetMatchesOnnxRuntime(@TempDir Path dir) throws Exception {
        Random rng = new Random(11);
        ResNet net = ResNet.resnet8(1, 10, 8, rng);
        Module kfNet = new PrunerKfCompressAlgo().apply(net);
        for (Module m : kfNet.namedModules().values()) {
            if (m instanceof BatchNorm2d bn) {
                float[] g = bn.weight().data(), v = bn.runningVar().data(), mu = bn.runningMean().data();
                for (int i = 0; i < g.length; i++) {
                    g[i] = (float) rng.nextGaussian();
                    v[i] = 0.5f + rng.nextFloat();
                    mu[i] = 0.1f * (float) rng.nextGaussian();
                }
            }
            if (m instanceof KfLayer kf) for (int i = 0; i < kf.kfscale().data().length; i++) kf.kfscale().data()[i] = rng.nextFloat();
        }
        Module pruned = new PrunerFtCompressAlgo(0.5).apply(kfNet);
        Path onnx = dir.resolve("pruned.onnx");
        OnnxQdqExporter.export(pruned, new int[] {1, 8, 8}, onnx);

        Tensor x = Tensor.randn(rng, 5, 1, 8, 8);
        pruned.eval();
        float[] ours;
        try (GradMode.Scope g = GradMode.off()) {
            ours = pruned.forward(x).data();
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession s = env.createSession(onnx.toString(), new OrtSession.SessionOptions());
             OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x.data()), new long[] {5, 1, 8, 8});
             OrtSession.Result r = s.run(Map.of("input", in))) {
            float[][] ort = (float[][]) r.get(0).getValue();
            for (int i = 0; i < 5; i++) {
                for (int c = 0; c < 10; c++) assertEquals(ours[i * 10 + c], ort[i][c], 1e-4 * (1 + Math.abs(ours[i * 10 + c])), "sample " + i + " class " + c);
            }
        }
    }
}
