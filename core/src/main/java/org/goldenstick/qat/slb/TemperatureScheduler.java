package org.goldenstick.qat.slb;

import org.goldenstick.nn.Module;
import org.goldenstick.train.TrainCallback;
import org.goldenstick.train.TrainContext;

/**
 * SLB's temperature schedule (upstream {@code TemperatureScheduler}, spec §6.4). At the beginning of epoch
 * {@code e = epochNumber (1-based) + has_trained_epoch}, with {@code t_start = int(epoch_size·t_start_time)} and
 * {@code t_end = int(epoch_size·t_end_time)}: {@code T = t_start_val} if {@code e ≤ t_start}, else
 * {@code T = t_start_val · t_factor^(min(e, t_end) − t_start)}; T is set on every {@link SlbWeightQuantizer} of the
 * model, and from {@code e ≥ t_end} on they switch to the hard one-hot argmax.
 *
 * <pre>{@code
 * double t = TemperatureScheduler.temperature(cfg.withEpochSize(100).withHasTrainedEpoch(0), 21);  // 1.2
 * }</pre>
 */
public final class TemperatureScheduler implements TrainCallback {
    private final SlbConfig config;

    public TemperatureScheduler(SlbConfig config) {
        this.config = config;
    }

    /** The temperature at 1-based epoch {@code epochNumber} of this run. */
    public static double temperature(SlbConfig c, int epochNumber) {
        int e = epochNumber + c.hasTrainedEpoch();
        int tStart = (int) (c.epochSize() * c.tStartTime()), tEnd = (int) (c.epochSize() * c.tEndTime());
        return e <= tStart ? c.tStartVal() : c.tStartVal() * Math.pow(c.tFactor(), Math.min(e, tEnd) - tStart);
    }

    /** Whether training uses the hard one-hot argmax from 1-based epoch {@code epochNumber} on. */
    public static boolean hard(SlbConfig c, int epochNumber) {
        return epochNumber + c.hasTrainedEpoch() >= (int) (c.epochSize() * c.tEndTime());
    }

    /** Sets T and the hard flag on every SLB weight quantizer of {@code model} for the given epoch; returns how many. */
    public static int applyTo(Module model, SlbConfig c, int epochNumber) {
        float t = (float) temperature(c, epochNumber);
        boolean h = hard(c, epochNumber);
        int n = 0;
        for (Module m : model.namedModules().values()) {
            if (m instanceof SlbWeightQuantizer q) {
                q.setTemperature(t);
                if (h) q.setHard(true);
                n++;
            }
        }
        return n;
    }

    @Override
    public void onEpochBegin(TrainContext ctx) {
        if (applyTo(ctx.model(), config, ctx.epochNumber()) == 0) {
            throw new IllegalStateException("SLB temperature scheduler: the trained model has no SlbWeightQuantizer; call SlbQuantAwareTraining.apply first");
        }
    }
}
