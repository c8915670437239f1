package org.goldenstick.quant;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.goldenstick.graph.UserNetworks;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.models.LeNet5;
import org.goldenstick.nn.models.ResNet;
import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.train.Inference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * FP32 export node by node from the traced graph: built-in and user networks, and every op the exporter writes, agree
 * with ONNX Runtime.
 */
class OnnxGraphExportTest {
    @TempDir
    Path dir;

    /** Ops between layers: sigmoid gate (mul), sub, div by a constant, relu6, tanh, hard-swish, concat, reshape to 4-D and back. */
    static final class Ops extends Module {
        private final Conv2d a = registerChild("a", new Conv2d(1, 4, 3, 1, 1, new Random(1)));
        private final Conv2d b = registerChild("b", new Conv2d(1, 4, 1, 1, 0, new Random(2)));
        private final Linear fc = registerChild("fc", new Linear(8 * 64, 10, new Random(3)));

        @Override
        public Tensor forward(Tensor x) {
            Tensor p = a.forward(x), q = b.forward(x);
            Tensor gate = p.mul(q.sigmoid()).sub(q).div(Tensor.scalar(2f));
            Tensor r = Functional.relu6(gate).add(Functional.hardSwish(q).tanh());
            Tensor c = Tensor.concat(1, r, p.relu());
            Tensor flat = c.reshape(c.dim(0), 8, 64).reshape(c.dim(0), -1);
            return fc.forward(flat);
        }
    }

    @Test
    void fp32NetworksAgreeWithOnnxRuntime() throws Exception {
        List<Module> nets = List.of(new LeNet5(1, 8, 10, new Random(0)), ResNet.resnet8(1, 10, 4, new Random(0)), new UserNetworks.ResidualNet(new Random(4)), new UserNetworks.AddLayerNet(new Random(8)),
                new UserNetworks.SeparableConcatNet(new Random(5)), new UserNetworks.Mlp(new Random(6)), new Ops());
        Tensor x = Tensor.randn(new Random(7), 16, 1, 8, 8);
        for (Module net : nets) {
            net.eval();
            Path file = dir.resolve(net.getClass().getSimpleName() + ".onnx");
            OnnxQdqExporter.export(net, new int[] {1, 8, 8}, file);
            float[] ours = Inference.logits(net, x);
            float[][] ort;
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            try (OrtSession s = env.createSession(file.toString(), new OrtSession.SessionOptions());
                 OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x.data()), new long[] {16, 1, 8, 8});
                 OrtSession.Result r = s.run(Map.of("input", in))) {
                ort = (float[][]) r.get(0).getValue();
            }
            double err = 0, scale = 0;
            for (int i = 0; i < 16; i++) for (int c = 0; c < 10; c++) {
                err = Math.max(err, Math.abs(ours[i * 10 + c] - ort[i][c]));
                scale = Math.max(scale, Math.abs(ours[i * 10 + c]));
            }
            assertTrue(err <= 1e-4 * Math.max(1, scale), net.getClass().getSimpleName() + ": max |ours - ORT| " + err + " of " + scale);
        }
    }
}
