package org.goldenstick.prune;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.goldenstick.nn.Module;
import org.goldenstick.quant.OnnxQdqExporter;
import org.goldenstick.rewrite.ApplyOptions;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.testing.OnnxRuntimeAgreement;
import org.goldenstick.testing.UserNetworkRecipes;
import org.goldenstick.train.Adam;
import org.goldenstick.train.Inference;
import org.goldenstick.progress.ProgressListener;
import org.goldenstick.train.Recipes;
import org.goldenstick.train.TrainCallback;
import org.goldenstick.train.Trainer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * SCOP on networks written as a user writes them ({@code graph.UserNetworks}: layers in fields, own forward; residual adds;
 * depthwise-separable branches joined by a concat; an MLP): trained on digits, knockoff phase, selection; the physically
 * pruned network equals the masked one; fine-tuned; its ONNX export agrees with ONNX Runtime on the digits test split.
 */
class ScopUserNetworksTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"residual", "separable-concat", "mlp"})
    void scopPrunesAUserNetworkAndRemovalEqualsMask(String name) throws Exception {
        UserNetworkRecipes.Trained trained = UserNetworkRecipes.trained(name);
        Module net = trained.net();
        Recipes.Spec spec = trained.spec();
        Recipes.Data data = trained.data();
        double fp32 = trained.fp32Accuracy();
        Tensor test = trained.testInputs();

        PrunerKfCompressAlgo kf = new PrunerKfCompressAlgo(Map.of("seed", 3));
        kf.apply(net);
        List<Tensor> kfscales = new ArrayList<>();
        net.namedParameters().forEach((n, t) -> {
            if (n.endsWith("kfscale")) kfscales.add(t);
        });
        assertFalse(kfscales.isEmpty(), name + ": nothing to prune; skipped " + kf.skipped());
        Trainer.Builder tb = Trainer.builder(net, new Adam(kfscales, new Adam.Options(0.01, 0.9, 0.999, 1e-8, 0))).epochs(1).progress(ProgressListener.SILENT);
        for (TrainCallback cb : kf.callbacks()) tb.callback(cb);
        tb.build().fit(Recipes.trainLoader(spec, data));

        PrunerFtCompressAlgo ft = new PrunerFtCompressAlgo(0.4);
        var keep = ft.select(net, ApplyOptions.none());
        float[] dense = Inference.logits(net, test);
        long paramsBefore = net.parameterCount();
        ChannelSurgery.mask(net, ft.analysis(), keep);
        float[] masked = Inference.logits(net, test);
        ChannelSurgery.remove(net, ft.analysis(), keep);
        float[] removed = Inference.logits(net, test);
        double maskEffect = 0, removalError = 0, scale = 0;
        for (int i = 0; i < masked.length; i++) {
            maskEffect = Math.max(maskEffect, Math.abs(masked[i] - dense[i]));
            removalError = Math.max(removalError, Math.abs(masked[i] - removed[i]));
            scale = Math.max(scale, Math.abs(masked[i]));
        }
        assertTrue(maskEffect > 1e-2, name + ": pruning changed the outputs (max " + maskEffect + ")");
        assertTrue(removalError <= 1e-4 * (1 + scale), name + ": removed vs masked max |Δ| " + removalError + " (max |logit| " + scale + ")");
        assertTrue(net.parameterCount() < paramsBefore, name + ": parameters shrink");

        double pruned = Recipes.train(spec.withEpochs(3).withLr(spec.lr() * 0.2), net, data, ft.callbacks(), ProgressListener.SILENT).testAccuracy();
        Path onnx = dir.resolve(name + "-scop.onnx");
        OnnxQdqExporter.export(net, net.exampleInputShape(), onnx);
        OnnxRuntimeAgreement a = OnnxRuntimeAgreement.measure(onnx, net, test);
        System.err.printf("SCOP %s: groups %s, skipped %s; params %d -> %d; FP32 %.4f, pruned+FT %.4f; removal vs mask max |Δ| %.2g; %s%n", name, ft.report(),
                ft.skipped(), paramsBefore, net.parameterCount(), fp32, pruned, removalError, a);
        assertTrue(a.agreement() >= 0.995, name + ": " + a);
        assertTrue(fp32 > 0.8, name + ": the FP32 network learned the task: " + fp32);
        assertTrue(pruned >= fp32 - 0.05, name + ": pruned and fine-tuned " + pruned + " vs FP32 " + fp32);
    }
}
