package org.goldenstick.qat.slb;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import org.goldenstick.qat.QatWorkflow;
import org.goldenstick.train.ProgressBar;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Slow accuracy runs (./gstick test -Paccuracy): Fashion-MNIST ResNet-20, FP32 by its recipe, then SLB fine-tuning
 * (half the recipe's epochs, BN calibration) from the trained weights: W4A8, W2A8, W1A8 within 0.5, 1.0 and 2.0
 * points of FP32.
 */
@EnabledIfSystemProperty(named = "gstick.test.tier", matches = "accuracy")
class SlbAccuracyTest {
    @TempDir
    Path dir;

    @Test
    void fashionMnistResNet20W4W2W1A8() throws Exception {
        var base = QatWorkflow.Options.defaults("resnet20", "fashion-mnist", dir).withBenchSeconds(0);
        int epochs = Math.max(4, base.fp32().epochs() / 2);
        base = base.withQatEpochs(epochs);
        Path fp32 = null;
        double[] bound = {0, 0.02, 0.01, 0, 0.005}; // by bits
        for (int bits : new int[] {4, 2, 1}) {
            var r = QatWorkflow.run(base.withFrom(fp32), spec -> SlbDigitsAccuracyTest.fineTune(bits, epochs, true).log(null), ProgressBar.auto(true), System.err);
            fp32 = r.fp32Checkpoint();
            System.err.printf("SLB Fashion-MNIST ResNet-20 W%dA8: %.4f (FP32 %.4f)%n", bits, r.quantAccuracy(), r.fp32Accuracy());
            assertTrue(r.quantAccuracy() >= r.fp32Accuracy() - bound[bits], "W" + bits + "A8 " + r.quantAccuracy() + " vs FP32 " + r.fp32Accuracy());
        }
    }
}
