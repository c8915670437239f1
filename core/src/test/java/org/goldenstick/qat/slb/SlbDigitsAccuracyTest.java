package org.goldenstick.qat.slb;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.goldenstick.qat.QatWorkflow;
import org.goldenstick.progress.ProgressListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Default-tier accuracy: LeNet on digits (FP32 20 epochs, then 10 SLB epochs from the trained weights, activations
 * 8-bit). Looser bounds than the Fashion-MNIST tier because the digits test split is small (359 images, one image
 * = 0.28 point): W4A8 within 1.5 points of FP32, W2A8 within 4, W1A8 within 6.
 */
class SlbDigitsAccuracyTest {
    @TempDir
    Path dir;

    static SlbQuantAwareTraining fineTune(int bits, int epochs, boolean bnCalibration) {
        return new SlbQuantAwareTraining(Map.of("quant_dtype", List.of("INT8", "INT" + bits), "enable_act_quant", true, "enable_bn_calibration",
                bnCalibration, "epoch_size", epochs, "has_trained_epoch", 0, "t_start_time", 0.0, "t_end_time", 1.0, "t_factor", 3.2));
    }

    @Test
    void digitsLeNetW4W2W1A8() throws Exception {
        int epochs = 10;
        var base = QatWorkflow.Options.defaults("lenet", "digits", dir).withBenchSeconds(0).withQatEpochs(epochs);
        Path fp32 = null;
        double[] bound = {0, 0.06, 0.04, 0, 0.015}; // by bits
        StringBuilder table = new StringBuilder();
        for (int bits : new int[] {4, 2, 1}) {
            var opts = base.withFrom(fp32);
            var r = QatWorkflow.run(opts, spec -> fineTune(bits, epochs, false), ProgressListener.SILENT);
            fp32 = r.fp32Checkpoint();
            table.append(String.format("W%dA8 %.4f (fake-quant %.4f, fp32 %.4f) ", bits, r.quantAccuracy(), r.fakeQuantAccuracy(), r.fp32Accuracy()));
            assertEquals(r.fakeQuantAccuracy(), r.quantAccuracy(), 0.006, "packed deploy agrees with the hard fake-quant network, W" + bits);
            assertTrue(r.quantAccuracy() >= r.fp32Accuracy() - bound[bits], "W" + bits + "A8 " + r.quantAccuracy() + " vs FP32 " + r.fp32Accuracy());
        }
        System.err.println("SLB digits LeNet: " + table);
    }
}
