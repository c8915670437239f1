package org.goldenstick.qat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;
import org.goldenstick.data.Batch;
import org.goldenstick.graph.Edge;
import org.goldenstick.graph.ModelGraph;
import org.goldenstick.graph.Node;
import org.goldenstick.graph.UserNetworks;
import org.goldenstick.nn.BatchNorm2d;
import org.goldenstick.nn.Module;
import org.goldenstick.quant.FakeQuantize;
import org.goldenstick.quant.QuantDequant;
import org.goldenstick.rewrite.RewriteRules;
import org.goldenstick.tensor.GradMode;
import org.goldenstick.train.Evaluator;
import org.goldenstick.train.Inference;
import org.goldenstick.train.LossFunction;
import org.goldenstick.progress.ProgressPrinter;
import org.goldenstick.train.Recipes;
import org.goldenstick.train.TrainCallback;
import org.goldenstick.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SimQAT on three networks written as a user writes them ({@link UserNetworks}: layers in typed fields, own forward,
 * residual adds, depthwise-separable blocks with a concat, an MLP), on the digits data: FP32 training, apply (with
 * Conv2d → BatchNorm2d folding found on the graph), checks that every activation edge into a quantized layer is
 * fake-quantized exactly once and that fake quantization really changes the outputs, fine-tuning, convert, and the int8
 * network against ONNX Runtime on its QDQ export over the whole digits test split (top-1 agreement ≥ 99.5 %, logit error
 * bounded and printed).
 */
class UserNetworkSimQATTest {
    @TempDir
    Path dir;

    @Test
    void residualNetwork() throws Exception {
        run("residual", () -> new UserNetworks.ResidualNet(new Random(11)), 6);
    }

    @Test
    void depthwiseSeparableNetworkWithConcat() throws Exception {
        run("separable", () -> new UserNetworks.SeparableConcatNet(new Random(12)), 16);
    }

    @Test
    void networkWithAddLayers() throws Exception {
        run("add-layers", () -> new UserNetworks.AddLayerNet(new Random(14)), 6);
    }

    @Test
    void multiLayerPerceptron() throws Exception {
        run("mlp", () -> new UserNetworks.Mlp(new Random(13)), 6);
    }

    private void run(String name, Supplier<Module> make, int epochs) throws Exception {
        Recipes.Spec spec = Recipes.Spec.defaults("lenet", "digits").withEpochs(epochs);
        Recipes.Data data = Recipes.data(spec);
        Module net = make.get();
        Recipes.trainer(spec, net, ProgressPrinter.auto()).build().fit(Recipes.trainLoader(spec, data));
        Batch test = Inference.wholeTestSet(spec, data);
        float[] fp32 = Inference.logits(net, test.inputs());
        double fp32Acc = accuracy(fp32, test.labels());
        assertTrue(fp32Acc > 0.85, name + ": FP32 should train on digits, got " + fp32Acc);

        fakeQuantChangesTheOutput(name, make, net, test, fp32);

        SimQAT algo = new SimQAT(SimQATConfig.defaults().withEnableFusion(true).withBnFold(true));
        algo.apply(net);
        assertTrue(algo.report().wrapped().size() >= 4, algo.report().table());
        long convBn = algo.report().fused().size();
        if (!name.equals("mlp")) assertTrue(convBn >= 2, name + ": conv → bn pairs found on the graph and folded\n" + algo.report().table());
        assertOneQuantizerPerEdge(name, net, algo.rules());

        Recipes.Spec qspec = spec.withEpochs(2).withLr(spec.lr() * 0.1);
        Trainer.Builder tb = Recipes.trainer(qspec, net, ProgressPrinter.auto()).loss(algo.loss(LossFunction.crossEntropy()));
        for (TrainCallback cb : algo.callbacks()) tb.callback(cb);
        tb.build().fit(Recipes.trainLoader(qspec, data));
        double fqAcc = Evaluator.evaluate(net, Recipes.testLoader(spec, data)).accuracy();

        Module deploy = algo.convert(net);
        for (Module m : deploy.namedModules().values()) assertFalse(m instanceof FakeQuantize || m instanceof QuantCell, name + ": " + m.describe());
        for (Node n : ModelGraph.trace(deploy, new int[] {1, 8, 8}).nodes()) {
            if (n.isLayer(QuantDequant.class)) assertNotNull(((QuantDequant) n.layer()).activation(), name + ": a bare QuantDequant at " + n.path());
        }
        float[] int8 = Inference.logits(deploy, test.inputs());
        double int8Acc = accuracy(int8, test.labels());
        assertTrue(int8Acc >= fp32Acc - 0.03, name + ": int8 " + int8Acc + " vs FP32 " + fp32Acc);

        List<Path> files = algo.exportDeployModel(deploy, dir.resolve(name), new int[] {1, 8, 8});
        int n = test.labels().length, k = 10;
        float[][] ort = onnxRuntime(files.get(1), test.inputs().data(), n);
        int agree = 0;
        double maxErr = 0, scale = 0;
        for (int i = 0; i < n; i++) {
            int a = 0, b = 0;
            for (int c = 0; c < k; c++) {
                maxErr = Math.max(maxErr, Math.abs(int8[i * k + c] - ort[i][c]));
                scale = Math.max(scale, Math.abs(int8[i * k + c]));
                if (int8[i * k + c] > int8[i * k + a]) a = c;
                if (ort[i][c] > ort[i][b]) b = c;
            }
            if (a == b) agree++;
        }
        System.err.printf("%s: FP32 %.4f, fake-quant %.4f, int8 %.4f; ONNX Runtime top-1 agreement %d/%d, max |logit error| %.3e (logits up to %.3g)%n",
                name, fp32Acc, fqAcc, int8Acc, agree, n, maxErr, scale);
        assertTrue(agree >= Math.ceil(0.995 * n), name + ": ONNX Runtime top-1 agreement " + agree + "/" + n);
        // a few rounding steps of the output grid at most: the runtimes differ only in where a value sits exactly between two levels
        assertTrue(maxErr <= 0.05 * scale, name + ": max |logit error| " + maxErr + " of " + scale);
    }

    /** Fake quantization is active: after calibration (BN kept in eval, so only the quantizers differ) the outputs move off the float ones. */
    private static void fakeQuantChangesTheOutput(String name, Supplier<Module> make, Module trained, Batch test, float[] fp32) {
        Module copy = make.get();
        copy.loadStateDict(trained.stateDict(), true);
        SimQAT algo = new SimQAT(SimQATConfig.defaults());
        algo.apply(copy);
        copy.train();
        for (Module m : copy.namedModules().values()) if (m instanceof BatchNorm2d) m.eval();
        try (var ignored = GradMode.off()) {
            copy.forward(test.inputs());
        }
        copy.eval();
        float[] fq = Inference.logits(copy, test.inputs());
        double maxDiff = 0, maxAbs = 0;
        for (int i = 0; i < fq.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(fq[i] - fp32[i]));
            maxAbs = Math.max(maxAbs, Math.abs(fp32[i]));
        }
        assertTrue(maxDiff > 1e-3 * maxAbs, name + ": fake-quant output equals the float output (max diff " + maxDiff + ")");
        assertTrue(maxDiff < 0.25 * maxAbs, name + ": fake-quant output far from float (max diff " + maxDiff + " of " + maxAbs + ")");
        int[] a = argmax(fq), b = argmax(fp32);
        int same = 0;
        for (int i = 0; i < a.length; i++) if (a[i] == b[i]) same++;
        assertTrue(same >= 0.95 * a.length, name + ": fake-quant top-1 agrees with float on " + same + "/" + a.length);
    }

    /**
     * On the traced QAT graph, the tensor reaching each weight layer (looking back through grid-keeping layers and ops)
     * is fake-quantized exactly once: by its producer's output quantizer or by the layer's input quantizer, not both,
     * not neither. An activation cell never adds a second quantizer on its input edge.
     */
    static void assertOneQuantizerPerEdge(String name, Module net, RewriteRules rules) {
        ModelGraph g = ModelGraph.trace(net, new int[] {1, 8, 8});
        List<String> checked = new ArrayList<>();
        for (Node n : g.nodes()) {
            if (!(n.isLayer() && n.layer() instanceof QuantCell cell)) continue;
            Node p = g.producerThrough(n.id(), 0, rules::keepsGrid);
            int count = (p.isLayer() && p.layer() instanceof QuantCell pc && pc.outputQuantizer() != null ? 1 : 0) + (cell.inputQuantizer() != null ? 1 : 0);
            if (cell.weightQuantizer() != null) {
                assertEquals(1, count, name + ": edge " + p.name() + " -> " + n.path() + " fake-quantized " + count + " times");
                checked.add(p.name() + "->" + n.path());
            } else {
                assertNull(cell.inputQuantizer(), name + ": activation cell " + n.path() + " has an input quantizer");
            }
            assertNotNull(cell.outputQuantizer(), n.path());
        }
        assertTrue(checked.size() >= 3, name + ": " + checked);
        for (Edge e : g.edges()) assertTrue(e.shape().length >= 2, e.toString());
    }

    private static float[][] onnxRuntime(Path onnx, float[] x, int n) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession s = env.createSession(onnx.toString(), new OrtSession.SessionOptions());
             OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {n, 1, 8, 8});
             OrtSession.Result r = s.run(java.util.Map.of("input", in))) {
            return (float[][]) r.get(0).getValue();
        }
    }

    private static int[] argmax(float[] logits) {
        int n = logits.length / 10;
        int[] out = new int[n];
        for (int i = 0; i < n; i++) for (int c = 1; c < 10; c++) if (logits[i * 10 + c] > logits[i * 10 + out[i]]) out[i] = c;
        return out;
    }

    private static double accuracy(float[] logits, int[] labels) {
        int[] p = argmax(logits);
        int ok = 0;
        for (int i = 0; i < p.length; i++) if (p[i] == labels[i]) ok++;
        return (double) ok / p.length;
    }
}
