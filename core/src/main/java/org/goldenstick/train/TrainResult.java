package org.goldenstick.train;

import java.util.List;

/**
 * What a {@link Trainer#fit} run did.
 *
 * @param epochsRun     epochs started (the last may be partial when stopped early)
 * @param steps         optimizer steps taken
 * @param samples       training samples processed (after any batch rewriting)
 * @param seconds       wall-clock training time
 * @param epochLosses   mean training loss per epoch
 * @param epochAccuracies training accuracy per epoch (on the batches as trained)
 * @param stoppedEarly  whether a callback called {@link TrainContext#stopTraining()}
 */
public record TrainResult(int epochsRun, long steps, long samples, double seconds, List<Double> epochLosses,
        List<Double> epochAccuracies, boolean stoppedEarly) {
    public TrainResult {
        epochLosses = List.copyOf(epochLosses);
        epochAccuracies = List.copyOf(epochAccuracies);
    }

    /** Training throughput, samples per second. */
    public double samplesPerSecond() {
        return seconds > 0 ? samples / seconds : Double.NaN;
    }

    public double finalLoss() {
        return epochLosses.isEmpty() ? Double.NaN : epochLosses.getLast();
    }
}
