package org.goldenstick.compress;

import java.util.List;
import org.goldenstick.data.Batch;
import org.goldenstick.ptq.NetworkHelper;

/**
 * What {@link GoldenStick#compress} needs besides the model and the recipe: fine-tuning data for QAT and pruning
 * modifiers, calibration samples for SmoothQuant. RTN needs neither.
 *
 * <pre>{@code
 * CompressInputs.training(Recipes.trainLoader(spec, data), 2, 0.005);
 * CompressInputs.calibration(helper, helper.calibrationSamples(Path.of("calib.txt"), 64));
 * }</pre>
 */
public record CompressInputs(Training training, Calibration calibration) {
    /** Fine-tuning: SGD (momentum 0.9, Nesterov, weight decay 5e-4) at {@code lr} for {@code epochs} over {@code data}. */
    public record Training(Iterable<Batch> data, int epochs, double lr) {
        public Training {
            if (data == null) throw new IllegalArgumentException("training data is null");
            if (epochs < 0) throw new IllegalArgumentException("fine-tuning epochs must be >= 0, got " + epochs);
            if (!(lr > 0)) throw new IllegalArgumentException("fine-tuning learning rate must be > 0, got " + lr);
            GoldenStick.requireBatches(data);
        }
    }

    /** Calibration: the network helper that runs a sample forward, and the token samples. */
    public record Calibration(NetworkHelper helper, List<int[]> samples) {
        public Calibration {
            if (helper == null) throw new IllegalArgumentException("calibration needs a NetworkHelper");
            if (samples == null || samples.isEmpty()) throw new IllegalArgumentException("calibration needs at least one sample");
            samples = List.copyOf(samples);
        }
    }

    public static CompressInputs none() {
        return new CompressInputs(null, null);
    }

    public static CompressInputs training(Iterable<Batch> data, int epochs, double lr) {
        return new CompressInputs(new Training(data, epochs, lr), null);
    }

    public static CompressInputs calibration(NetworkHelper helper, List<int[]> samples) {
        return new CompressInputs(null, new Calibration(helper, samples));
    }
}
