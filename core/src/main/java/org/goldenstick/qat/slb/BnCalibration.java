package org.goldenstick.qat.slb;

import java.util.ArrayList;
import java.util.List;
import org.goldenstick.data.Batch;
import org.goldenstick.nn.BatchNorm;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.GradMode;
import org.goldenstick.train.TrainCallback;
import org.goldenstick.train.TrainContext;

/**
 * Re-estimates BatchNorm running statistics under the quantized weights (upstream {@code BNCalibrationCallback},
 * spec §6.4): one forward pass over the calibration data with every module in eval mode (hard argmax weights,
 * frozen activation ranges) except the BatchNorm layers, which use and update batch statistics.
 *
 * <p>As upstream, this runs at the end of every epoch with {@code e > t_start} when calibration data is given; in any
 * case it runs at the end of training. Without calibration data it uses the batches of the last training epoch.
 * Unlike upstream (whose BN flag stays on), the model is put back in train mode after an epoch-end pass and is left
 * in <b>eval</b> mode after the final pass.
 */
public final class BnCalibration implements TrainCallback {
    private final SlbConfig config;
    private final Iterable<Batch> data;
    private final List<Batch> lastEpoch = new ArrayList<>();

    /** @param data the training set to calibrate on, or null to use the batches of the last training epoch */
    public BnCalibration(SlbConfig config, Iterable<Batch> data) {
        this.config = config;
        this.data = data;
    }

    /** Runs the calibration pass over {@code batches} and leaves {@code model} in eval mode; returns the BN layer count. */
    public static int calibrate(Module model, Iterable<Batch> batches) {
        model.eval();
        List<BatchNorm> bns = new ArrayList<>();
        for (Module m : model.namedModules().values()) if (m instanceof BatchNorm bn) bns.add(bn);
        if (bns.isEmpty()) return 0;
        for (BatchNorm bn : bns) bn.train(true);
        try (var ignored = GradMode.off()) {
            for (Batch b : batches) model.forward(b.inputs());
        } finally {
            model.eval();
        }
        return bns.size();
    }

    @Override
    public void onEpochBegin(TrainContext ctx) {
        lastEpoch.clear();
    }

    @Override
    public void onStepEnd(TrainContext ctx) {
        if (data == null && ctx.isLastEpoch()) lastEpoch.add(ctx.batch());
    }

    @Override
    public void onEpochEnd(TrainContext ctx) {
        int e = ctx.epochNumber() + config.hasTrainedEpoch();
        if (data != null && e > (int) (config.epochSize() * config.tStartTime()) && !ctx.isLastEpoch()) {
            calibrate(ctx.model(), data);
            ctx.model().train();
        }
    }

    @Override
    public void onTrainEnd(TrainContext ctx) {
        calibrate(ctx.model(), data != null ? data : List.copyOf(lastEpoch));
        lastEpoch.clear();
    }
}
