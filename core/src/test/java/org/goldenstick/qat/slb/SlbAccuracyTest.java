package org.goldenstick.qat.slb;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import org.goldenstick.qat.QatWorkflow;
import org.goldenstick.train.Fp32Checkpoints;
import org.goldenstick.progress.ProgressListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Slow accuracy runs (./gstick test -Paccuracy): Fashion-MNIST ResNet-20 from the accuracy tier's FP32 baseline
 * ({@link Fp32Checkpoints#resnet20Fashion()}), then 3 SLB epochs with 8-bit activations and BN calibration, as
 * {@code gstick qat --algo slb --weight-bits B --act-bits 8 --qat-epochs 3 --from ...}: W4A8, W2A8 and W1A8 within
 * 0.5, 1.0 and 2.0 points of FP32, and the packed deploy network agreeing with the hard fake-quant one.
 */
@EnabledIfSystemProperty(named = "gstick.test.tier", matches = "accuracy")
class SlbAccuracyTest {
    @TempDir
    Path dir;

    @Test
    void fashionMnistResNet20W4W2W1A8() throws Exception {
        int epochs = 3;
        Path fp32 = Fp32Checkpoints.trained(Fp32Checkpoints.resnet20Fashion(), ProgressListener.SILENT);
        var base = QatWorkflow.Options.defaults("resnet20", "fashion-mnist", dir).withFp32(Fp32Checkpoints.resnet20Fashion())
                .withBenchSeconds(0).withQatEpochs(epochs).withFrom(fp32);
        double[] bound = {0, 0.02, 0.01, 0, 0.005}; // by bits
        for (int bits : new int[] {1, 2, 4}) {
            var r = QatWorkflow.run(base, spec -> SlbDigitsAccuracyTest.fineTune(bits, epochs, true), ProgressListener.SILENT);
            System.err.printf("SLB Fashion-MNIST ResNet-20 W%dA8: %.4f (FP32 %.4f)%n", bits, r.quantAccuracy(), r.fp32Accuracy());
            assertEquals(r.fakeQuantAccuracy(), r.quantAccuracy(), 0.002, "packed deploy agrees with the hard fake-quant network, W" + bits);
            assertTrue(r.quantAccuracy() >= r.fp32Accuracy() - bound[bits], "W" + bits + "A8 " + r.quantAccuracy() + " vs FP32 " + r.fp32Accuracy());
        }
    }
}
