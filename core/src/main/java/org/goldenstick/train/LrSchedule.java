package org.goldenstick.train;

/**
 * A learning-rate schedule: the rate for a global optimisation step, given the base rate and the number
 * of steps per epoch. The {@link Trainer} asks for the rate before every step, so epoch-based schedules
 * change at epoch boundaries and {@link CosineAnnealing} decays smoothly within epochs.
 *
 * <pre>{@code
 * LrSchedule s = new LrSchedule.Warmup(1, 0.1, new LrSchedule.CosineAnnealing(29, 0));
 * double lr = s.lr(0.1, globalStep, stepsPerEpoch);
 * }</pre>
 *
 * <p>Any other rule can be written as a lambda through {@link Custom}.
 */
public sealed interface LrSchedule {
    /** The learning rate at {@code step} (0-based global step). */
    double lr(double baseLr, long step, int stepsPerEpoch);

    static LrSchedule constant() {
        return new Constant();
    }

    /** The base rate throughout. */
    record Constant() implements LrSchedule {
        @Override
        public double lr(double baseLr, long step, int stepsPerEpoch) {
            return baseLr;
        }
    }

    /** Multiplies the rate by {@code gamma} every {@code stepSizeEpochs} epochs ({@code torch.optim.lr_scheduler.StepLR}). */
    record StepLR(int stepSizeEpochs, double gamma) implements LrSchedule {
        public StepLR {
            if (stepSizeEpochs <= 0) throw new IllegalArgumentException("StepLR: stepSizeEpochs must be positive, got " + stepSizeEpochs);
        }

        @Override
        public double lr(double baseLr, long step, int stepsPerEpoch) {
            long epoch = step / Math.max(1, stepsPerEpoch);
            return baseLr * Math.pow(gamma, epoch / stepSizeEpochs);
        }
    }

    /**
     * Half-cosine from the base rate down to {@code minLr} over {@code epochs} epochs, evaluated per step
     * (the closed form of {@code CosineAnnealingLR} with {@code T_max = epochs·stepsPerEpoch}); stays at
     * {@code minLr} afterwards.
     */
    record CosineAnnealing(int epochs, double minLr) implements LrSchedule {
        public CosineAnnealing {
            if (epochs <= 0) throw new IllegalArgumentException("CosineAnnealing: epochs must be positive, got " + epochs);
        }

        @Override
        public double lr(double baseLr, long step, int stepsPerEpoch) {
            double total = (double) epochs * Math.max(1, stepsPerEpoch);
            double t = Math.min(1.0, step / total);
            return minLr + (baseLr - minLr) * (1 + Math.cos(Math.PI * t)) / 2;
        }
    }

    /**
     * Linear warm-up from {@code startFactor·base} to the base rate over {@code warmupEpochs} epochs (per step),
     * then {@code then}, restarted at step 0 (like {@code SequentialLR(LinearLR, then)}).
     */
    record Warmup(int warmupEpochs, double startFactor, LrSchedule then) implements LrSchedule {
        public Warmup {
            if (warmupEpochs < 0) throw new IllegalArgumentException("Warmup: warmupEpochs must be >= 0, got " + warmupEpochs);
            if (startFactor < 0 || startFactor > 1) throw new IllegalArgumentException("Warmup: startFactor must be in [0, 1], got " + startFactor);
            if (then == null) throw new IllegalArgumentException("Warmup: the schedule after warm-up is required");
        }

        @Override
        public double lr(double baseLr, long step, int stepsPerEpoch) {
            long warmSteps = (long) warmupEpochs * Math.max(1, stepsPerEpoch);
            if (step < warmSteps) return baseLr * (startFactor + (1 - startFactor) * (double) step / warmSteps);
            return then.lr(baseLr, step - warmSteps, stepsPerEpoch);
        }
    }

    /** A rule given as a function, for schedules not listed here. */
    record Custom(Rule rule) implements LrSchedule {
        @Override
        public double lr(double baseLr, long step, int stepsPerEpoch) {
            return rule.lr(baseLr, step, stepsPerEpoch);
        }
    }

    @FunctionalInterface
    interface Rule {
        double lr(double baseLr, long step, int stepsPerEpoch);
    }
}
