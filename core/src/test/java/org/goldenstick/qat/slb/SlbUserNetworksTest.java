package org.goldenstick.qat.slb;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.testing.OnnxRuntimeAgreement;
import org.goldenstick.testing.UserNetworkRecipes;
import org.goldenstick.train.Checkpoints;
import org.goldenstick.train.Evaluator;
import org.goldenstick.train.Inference;
import org.goldenstick.train.LossFunction;
import org.goldenstick.progress.ProgressListener;
import org.goldenstick.train.Recipes;
import org.goldenstick.train.Trainer;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * SLB W2A8 on networks written as a user writes them ({@code graph.UserNetworks}: layers in fields, own forward;
 * residual adds; depthwise-separable branches with a concat; an MLP), on digits: FP32 training, apply (every conv, depthwise
 * ones included, and hidden Linear layer searched at 2 bits, the classifier int8), the quantized network's outputs differ
 * from FP32, fine-tuning, convert to packed layers (equal to the hard fake-quant network), the deploy file is smaller,
 * and ONNX Runtime agrees with the packed network on its low-bit export over the whole digits test split.
 */
class SlbUserNetworksTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"residual", "separable-concat", "mlp"})
    void slbW2A8OnAUserNetwork(String name) throws Exception {
        UserNetworkRecipes.Trained trained = UserNetworkRecipes.trained(name);
        Module net = trained.net();
        Recipes.Spec spec = trained.spec();
        Recipes.Data data = trained.data();
        double fp32 = trained.fp32Accuracy();
        Tensor test = trained.testInputs();
        Path fp32File = dir.resolve(name + "-fp32.safetensors");
        Checkpoints.save(net, fp32File, Map.of());
        float[] floatLogits = Inference.logits(net, test);

        int epochs = 3;
        SlbQuantAwareTraining slb = SlbDigitsAccuracyTest.fineTune(2, epochs, false);
        slb.apply(net);
        long searched = net.namedModules().values().stream().filter(m -> m instanceof SlbQuantCell).count();
        assertTrue(searched >= 2, name + ": " + slb.report().table());
        float[] quantLogits = Inference.logits(net, test);
        double change = 0;
        for (int i = 0; i < quantLogits.length; i++) change = Math.max(change, Math.abs(quantLogits[i] - floatLogits[i]));
        assertTrue(change > 1e-2, name + ": 2-bit weights change the outputs (max " + change + ")");

        Recipes.Spec ft = spec.withEpochs(epochs).withLr(spec.lr() * 0.1);
        Trainer.Builder tb = Recipes.trainer(ft, net, ProgressListener.SILENT).loss(slb.loss(LossFunction.crossEntropy()));
        slb.callbacks().forEach(tb::callback);
        tb.build().fit(Recipes.trainLoader(ft, data));
        float[] hard = Inference.logits(net, test);
        Module deploy = slb.convert(net);
        float[] packed = Inference.logits(deploy, test);
        double scale = 0, packedError = 0;
        int classes = hard.length / test.dim(0), sameTop1 = 0;
        for (int i = 0; i < hard.length; i++) {
            scale = Math.max(scale, Math.abs(hard[i]));
            packedError = Math.max(packedError, Math.abs(hard[i] - packed[i]));
        }
        for (int r = 0; r < test.dim(0); r++) {
            int h = 0, p = 0;
            for (int c = 1; c < classes; c++) {
                if (hard[r * classes + c] > hard[r * classes + h]) h = c;
                if (packed[r * classes + c] > packed[r * classes + p]) p = c;
            }
            if (h == p) sameTop1++;
        }
        // The packed network runs its grid-bound 2-bit layers as int8 layers (int32 bias, exact sums, one requantization),
        // the fake-quant one in float: a value on a rounding boundary of an 8-bit grid lands one step apart, and through
        // the later 2-bit layers a step can move a logit by several percent of the largest. Measured 2026-12-05: residual
        // and MLP 359/359 classes alike, separable + concat 354/359 (max |Δ| 0.73 of 14.4) — open in issue 11.
        System.err.printf("SLB W2A8 %s: packed vs hard fake-quant: max |Δ| %.3g of max |logit| %.3g, top-1 agreement %d/%d%n", name, packedError, scale, sameTop1, test.dim(0));
        assertTrue(packedError <= 0.1 * scale, name + ": packed vs hard fake-quant max |Δ| " + packedError + " (max |logit| " + scale + ")");
        assertTrue(sameTop1 >= 0.98 * test.dim(0), name + ": packed and hard fake-quant agree on the class of " + sameTop1 + " of " + test.dim(0) + " images");
        double accuracy = Evaluator.evaluate(deploy, Recipes.testLoader(spec, data)).accuracy();
        List<Path> files = slb.exportDeployModel(deploy, dir.resolve(name + "-slb"), net.exampleInputShape());
        OnnxRuntimeAgreement a = OnnxRuntimeAgreement.measure(files.get(1), deploy, test);
        System.err.printf("SLB W2A8 %s: FP32 %.4f, packed %.4f; %d searched layers; deploy %d B / FP32 %d B; packed vs fake-quant max |Δ| %.3g; %s%n", name, fp32,
                accuracy, searched, Files.size(files.get(0)), Files.size(fp32File), packedError, a);
        // the bar; 1-3 of 359 flipped on the separable net while its 2-bit layers ran as float convolutions and
        // ONNX Runtime fused their QDQ export into integer ones (quantizing the float bias itself); they now run as the
        // int8 layers they export as (PackedLayer.integerForm)
        assertTrue(a.agreement() >= 0.995, name + ": " + a);
        // the tiny separable net (1,138 parameters) is mostly activation grids and scales in its deploy file
        assertTrue(Files.size(files.get(0)) < Files.size(fp32File), name + ": deploy file smaller");
        assertTrue(accuracy >= fp32 - 0.1, name + ": W2A8 " + accuracy + " vs FP32 " + fp32);
    }
}
