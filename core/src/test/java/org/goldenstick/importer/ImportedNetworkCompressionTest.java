package org.goldenstick.importer;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.goldenstick.data.Batch;
import org.goldenstick.prune.ChannelSurgery;
import org.goldenstick.prune.ModelStats;
import org.goldenstick.prune.PrunerFtCompressAlgo;
import org.goldenstick.prune.PrunerKfCompressAlgo;
import org.goldenstick.progress.ProgressListener;
import org.goldenstick.qat.SimQAT;
import org.goldenstick.qat.SimQATConfig;
import org.goldenstick.quant.OnnxQdqExporter;
import org.goldenstick.rewrite.ApplyOptions;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.testing.OnnxRuntimeAgreement;
import org.goldenstick.train.Adam;
import org.goldenstick.train.Evaluator;
import org.goldenstick.train.Inference;
import org.goldenstick.train.LossFunction;
import org.goldenstick.train.Recipes;
import org.goldenstick.train.TrainCallback;
import org.goldenstick.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A network that arrives as ONNX (the MobileNetV2-style file of {@link MobileNetV2Onnx}: depthwise convolutions,
 * ReLU6 as Clip, residual adds, inverted bottlenecks, GlobalAveragePool, Gemm) goes through the same algorithms as any
 * network, with nothing special for imported networks: it trains (one epoch on the digits), SCOP prunes it (knockoff
 * epoch, selection, physical removal equal to masking), the pruned network exports to ONNX and ONNX Runtime computes
 * the same; SimQAT quantizes it to int8 and ONNX Runtime runs its QDQ export with the same predictions.
 */
class ImportedNetworkCompressionTest {
    @TempDir
    Path dir;

    private record Setup(Recipes.Spec spec, Recipes.Data data, ImportedNetwork imp, Batch test, double before, double after) {}

    private Setup trainedOneEpoch() throws Exception {
        Recipes.Spec spec = Recipes.Spec.defaults("lenet", "digits").withEpochs(1);
        Recipes.Data data = Recipes.data(spec);
        int[] s = data.train().sampleShape();
        Path file = dir.resolve("mnv2-digits.onnx");
        MobileNetV2Onnx.write(file, s[0], s[1], data.numClasses(), 5);
        ImportedNetwork imp = OnnxImport.load(file);
        Batch test = Inference.wholeTestSet(spec, data);
        double before = Evaluator.evaluate(imp.module(), Recipes.testLoader(spec, data)).accuracy();
        double after = Recipes.train(spec, imp.module(), data, List.of(), ProgressListener.SILENT).testAccuracy();
        return new Setup(spec, data, imp, test, before, after);
    }

    @Test
    void importedMobileNetTrainsPrunesWithScopAndExports() throws Exception {
        Setup st = trainedOneEpoch();
        Module net = st.imp().module();
        System.err.printf("imported MobileNetV2 on digits: test accuracy %.4f before training, %.4f after one epoch%n", st.before(), st.after());
        assertTrue(st.after() > st.before() + 0.2 && st.after() > 0.5, "one epoch of training: " + st.before() + " -> " + st.after());

        int[] sample = st.imp().inputShape();
        ModelStats before = ModelStats.measure(net, sample);
        PrunerKfCompressAlgo kf = new PrunerKfCompressAlgo(Map.of("seed", 3));
        kf.apply(net);
        List<Tensor> kfscales = new ArrayList<>();
        net.namedParameters().forEach((n, t) -> {
            if (n.endsWith("kfscale")) kfscales.add(t);
        });
        assertTrue(kfscales.size() >= 5, "SCOP finds the expansion and head convolutions prunable: " + kf.skipped());
        Trainer.Builder tb = Trainer.builder(net, new Adam(kfscales, new Adam.Options(0.01, 0.9, 0.999, 1e-8, 0))).epochs(1).progress(ProgressListener.SILENT);
        for (TrainCallback cb : kf.callbacks()) tb.callback(cb);
        tb.build().fit(Recipes.trainLoader(st.spec(), st.data()));

        PrunerFtCompressAlgo ft = new PrunerFtCompressAlgo(0.4);
        var keep = ft.select(net, ApplyOptions.none());
        Tensor x = st.test().inputs();
        float[] dense = Inference.logits(net, x);
        ChannelSurgery.mask(net, ft.analysis(), keep);
        float[] masked = Inference.logits(net, x);
        ChannelSurgery.remove(net, ft.analysis(), keep);
        float[] removed = Inference.logits(net, x);
        double maskEffect = 0, removalError = 0, scale = 0;
        for (int i = 0; i < masked.length; i++) {
            maskEffect = Math.max(maskEffect, Math.abs(masked[i] - dense[i]));
            removalError = Math.max(removalError, Math.abs(masked[i] - removed[i]));
            scale = Math.max(scale, Math.abs(masked[i]));
        }
        assertTrue(maskEffect > 1e-3, "pruning changed the outputs (max " + maskEffect + ")");
        assertTrue(removalError <= 1e-4 * (1 + scale), "removed vs masked max |Δ| " + removalError + " (max |logit| " + scale + ")");
        ModelStats after = ModelStats.measure(net, sample);
        assertTrue(after.macs() < before.macs() && after.params() < before.params(), "MACs " + before.macs() + " -> " + after.macs() + ", params " + before.params() + " -> " + after.params());

        double pruned = Recipes.train(st.spec().withLr(st.spec().lr() * 0.2), net, st.data(), ft.callbacks(), ProgressListener.SILENT).testAccuracy();
        Path onnx = dir.resolve("mnv2-scop.onnx");
        OnnxQdqExporter.export(net, sample, onnx);
        OnnxRuntimeAgreement a = OnnxRuntimeAgreement.measure(onnx, net, x);
        System.err.printf("SCOP on the imported MobileNetV2: %s; skipped %s; MACs %d -> %d, params %d -> %d; pruned+FT %.4f; removal vs mask %.2g; %s%n",
                ft.report(), ft.skipped(), before.macs(), after.macs(), before.params(), after.params(), pruned, removalError, a);
        assertEquals(a.n(), a.agree(), a.toString());
        assertTrue(a.maxLogitError() <= 1e-4 * Math.max(1, a.maxLogit()), a.toString());
    }

    @Test
    void importedMobileNetQuantizesWithSimQatAndRunsInOnnxRuntime() throws Exception {
        Setup st = trainedOneEpoch();
        Module net = st.imp().module();
        SimQAT algo = new SimQAT(SimQATConfig.defaults().withEnableFusion(true).withBnFold(true));
        algo.apply(net);
        assertTrue(algo.report().fused().size() >= 10, "conv → bn pairs of the imported file fold\n" + algo.report().table());
        Recipes.Spec qspec = st.spec().withLr(st.spec().lr() * 0.1);
        Trainer.Builder tb = Recipes.trainer(qspec, net, ProgressListener.SILENT).loss(algo.loss(LossFunction.crossEntropy()));
        for (TrainCallback cb : algo.callbacks()) tb.callback(cb);
        tb.build().fit(Recipes.trainLoader(qspec, st.data()));
        Module deploy = algo.convert(net);
        List<Path> files = algo.exportDeployModel(deploy, dir.resolve("mnv2-int8"), st.imp().inputShape());
        Path qdq = files.stream().filter(p -> p.toString().endsWith(".onnx")).findFirst().orElseThrow();
        OnnxRuntimeAgreement a = OnnxRuntimeAgreement.measure(qdq, deploy, st.test().inputs());
        double int8 = Evaluator.evaluate(deploy, Recipes.testLoader(st.spec(), st.data())).accuracy();
        System.err.printf("SimQAT on the imported MobileNetV2: FP32 %.4f, int8 %.4f; %s%n", st.after(), int8, a);
        assertTrue(a.agreement() >= 0.99, a.toString());
        assertTrue(int8 > 0.5, "the int8 network still classifies: " + int8);
    }
}
