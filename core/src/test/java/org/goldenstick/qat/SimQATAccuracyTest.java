package org.goldenstick.qat;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import org.goldenstick.train.Fp32Checkpoints;
import org.goldenstick.train.ProgressBar;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Slow accuracy runs (./gstick test -Paccuracy): Fashion-MNIST LeNet int8 within 0.3 point; ResNet-20 (from the
 * tier's cached FP32 baseline, {@link Fp32Checkpoints#resnet20Fashion()}) within 0.5.
 */
@EnabledIfSystemProperty(named = "gstick.test.tier", matches = "accuracy")
class SimQATAccuracyTest {
    @TempDir
    Path dir;

    @Test
    void fashionMnistLeNetInt8WithinThreeTenthsOfAPoint() throws Exception {
        var opts = QatWorkflow.Options.defaults("lenet", "fashion-mnist", dir).withBenchSeconds(0);
        var r = QatWorkflow.run(opts, spec -> new SimQAT(SimQATConfig.defaults()).log(null), ProgressBar.auto(true), System.err);
        assertTrue(r.quantAccuracy() >= r.fp32Accuracy() - 0.003, "int8 " + r.quantAccuracy() + " vs FP32 " + r.fp32Accuracy());
    }

    @Test
    void fashionMnistResNet20Int8WithinHalfAPoint() throws Exception {
        Path fp32 = Fp32Checkpoints.trained(Fp32Checkpoints.resnet20Fashion(), ProgressBar.auto(true));
        var opts = QatWorkflow.Options.defaults("resnet20", "fashion-mnist", dir).withFp32(Fp32Checkpoints.resnet20Fashion()).withFrom(fp32).withBenchSeconds(0);
        var r = QatWorkflow.run(opts, spec -> new SimQAT(SimQATConfig.defaults().withEnableFusion(true).withBnFold(true)).log(null),
                ProgressBar.auto(true), System.err);
        assertTrue(r.quantAccuracy() >= r.fp32Accuracy() - 0.005, "int8 " + r.quantAccuracy() + " vs FP32 " + r.fp32Accuracy());
    }
}
