package org.goldenstick.train;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import org.goldenstick.data.Batch;
import org.goldenstick.data.DataLoader;
import org.goldenstick.nn.Module;
import org.goldenstick.progress.ProgressListener;
import org.goldenstick.progress.ProgressPrinter;
import org.goldenstick.progress.ProgressTask;
import org.goldenstick.tensor.StepBuffers;
import org.goldenstick.tensor.Tensor;

/**
 * The training loop: for each epoch and batch, forward, loss, backward, optimizer step, with the learning
 * rate taken from a {@link LrSchedule} before every step and {@link TrainCallback}s around everything.
 * A NaN or infinite loss stops the run with a {@link NonFiniteLossException} naming epoch and step.
 *
 * <pre>{@code
 * var opt = new SGD(model.parameters(), SGD.Options.momentum(0.05, 0.9));
 * TrainResult r = Trainer.builder(model, opt)
 *         .epochs(10)
 *         .schedule(new LrSchedule.CosineAnnealing(10, 0))
 *         .progress(ProgressPrinter.auto())          // or any ProgressListener; silent without
 *         .build()
 *         .fit(trainLoader);
 * }</pre>
 */
public final class Trainer {
    private final Module model;
    private final Optimizer optimizer;
    private final LossFunction loss;
    private final LrSchedule schedule;
    private final int epochs;
    private final List<TrainCallback> callbacks;
    private final double baseLr;

    private Trainer(Builder b) {
        this.model = b.model;
        this.optimizer = b.optimizer;
        this.loss = b.loss;
        this.schedule = b.schedule;
        this.epochs = b.epochs;
        this.callbacks = List.copyOf(b.callbacks);
        this.baseLr = optimizer.learningRate();
    }

    public static Builder builder(Module model, Optimizer optimizer) {
        return new Builder(model, optimizer);
    }

    public Module model() { return model; }

    public Optimizer optimizer() { return optimizer; }

    public int epochs() { return epochs; }

    /** Trains on a data loader (one pass per epoch, reshuffled as the loader decides). */
    public TrainResult fit(DataLoader loader) {
        return fit(loader, loader.numBatches());
    }

    /**
     * Trains on {@code data}, which is iterated once per epoch (a data loader reshuffles on each iteration).
     * The model is put in train mode.
     */
    public TrainResult fit(Iterable<Batch> data) {
        return fit(data, data instanceof Collection<?> c ? c.size() : 0);
    }

    /** As {@link #fit(Iterable)}, with the number of batches per epoch known up front (for schedules and ETA). */
    public TrainResult fit(Iterable<Batch> data, int stepsPerEpoch) {
        TrainContext ctx = new TrainContext(model, optimizer, epochs);
        ctx.setStepsPerEpoch(stepsPerEpoch);
        List<Double> losses = new ArrayList<>(), accuracies = new ArrayList<>();
        model.train();
        long start = System.nanoTime();
        int epochsRun = 0;
        StepBuffers buffers = new StepBuffers(); // each step reuses the previous step's activation and gradient arrays
        for (TrainCallback cb : callbacks) cb.onTrainBegin(ctx);
        for (int epoch = 0; epoch < epochs && !ctx.stopRequested(); epoch++) {
            epochsRun++;
            ctx.beginEpoch(epoch);
            for (TrainCallback cb : callbacks) cb.onEpochBegin(ctx);
            int step = 0;
            for (Batch batch : data) {
                ctx.beginStep(step, batch);
                trainStep(ctx, buffers);
                step++;
                if (ctx.stopRequested()) break;
            }
            if (ctx.stepsPerEpoch() == 0 && !ctx.stopRequested()) ctx.setStepsPerEpoch(step);
            losses.add(ctx.epochMeanLoss());
            accuracies.add(ctx.epochAccuracy());
            for (TrainCallback cb : callbacks) cb.onEpochEnd(ctx);
        }
        for (TrainCallback cb : callbacks) cb.onTrainEnd(ctx);
        double seconds = (System.nanoTime() - start) / 1e9;
        return new TrainResult(epochsRun, ctx.globalStep(), ctx.samplesSeen(), seconds, losses, accuracies, ctx.stopRequested());
    }

    private void trainStep(TrainContext ctx, StepBuffers buffers) {
        try (StepBuffers.Step ignored = buffers.open()) {
            trainStepBody(ctx);
        }
    }

    private void trainStepBody(TrainContext ctx) {
        optimizer.setLearningRate(schedule.lr(baseLr, ctx.globalStep(), ctx.stepsPerEpoch()));
        for (TrainCallback cb : callbacks) cb.onStepBegin(ctx);
        optimizer.zeroGrad();
        model.zeroGrad();  // parameters left out of the optimizer (frozen) must not pile up gradients either
        Batch batch = ctx.batch();
        Tensor output = model.forward(batch.inputs());
        Tensor l = loss.compute(output, batch);
        if (l.numel() != 1) throw new IllegalStateException("loss function returned shape " + java.util.Arrays.toString(l.shape()) + ", expected a scalar");
        double value = l.item();
        if (!Double.isFinite(value)) throw new NonFiniteLossException(ctx.epoch(), epochs, ctx.step(), ctx.stepsPerEpoch(), value);
        l.backward();
        for (TrainCallback cb : callbacks) cb.onAfterBackward(ctx);
        optimizer.step();
        ctx.endStep(output.copy(), value);  // a copy without graph: the step's arrays are reused after it (StepBuffers)
        for (TrainCallback cb : callbacks) cb.onStepEnd(ctx);
    }

    /** Configures a {@link Trainer}; defaults: cross-entropy, constant learning rate, 1 epoch, no callbacks. */
    public static final class Builder {
        private final Module model;
        private final Optimizer optimizer;
        private LossFunction loss = LossFunction.crossEntropy();
        private LrSchedule schedule = LrSchedule.constant();
        private int epochs = 1;
        private final List<TrainCallback> callbacks = new ArrayList<>();

        private Builder(Module model, Optimizer optimizer) {
            if (model == null || optimizer == null) throw new IllegalArgumentException("Trainer: model and optimizer are required");
            this.model = model;
            this.optimizer = optimizer;
        }

        public Builder loss(LossFunction loss) {
            this.loss = loss;
            return this;
        }

        public Builder schedule(LrSchedule schedule) {
            this.schedule = schedule;
            return this;
        }

        public Builder epochs(int epochs) {
            if (epochs < 0) throw new IllegalArgumentException("Trainer: epochs must be >= 0, got " + epochs);
            this.epochs = epochs;
            return this;
        }

        /** Adds a callback; callbacks run in the order added. */
        public Builder callback(TrainCallback cb) {
            callbacks.add(cb);
            return this;
        }

        /** Reports per-epoch progress (images, images/s, ETA, loss) to {@code listener}; without it training is silent. */
        public Builder progress(ProgressListener listener) {
            if (listener != null && listener != ProgressListener.SILENT) callbacks.add(new ProgressCallback(listener));
            return this;
        }

        public Trainer build() {
            return new Trainer(this);
        }
    }

    /** Sends one task per epoch (work: steps; items: images) to a {@link ProgressListener}. */
    static final class ProgressCallback implements TrainCallback {
        private final ProgressListener listener;
        private ProgressTask epoch;

        ProgressCallback(ProgressListener listener) {
            this.listener = listener;
        }

        @Override
        public void onEpochBegin(TrainContext ctx) {
            epoch = ProgressTask.start(listener, "epoch " + ctx.epochNumber() + "/" + ctx.epochs(), ctx.stepsPerEpoch(), "img");
        }

        @Override
        public void onStepEnd(TrainContext ctx) {
            epoch.advance(1, ctx.batch().size(), String.format(Locale.ROOT, "loss %.4f", ctx.lastLoss()));
        }

        @Override
        public void onEpochEnd(TrainContext ctx) {
            epoch.finish(String.format(Locale.ROOT, "loss %.4f acc %.2f%% lr %.3g", ctx.epochMeanLoss(), 100 * ctx.epochAccuracy(), ctx.learningRate()));
        }
    }
}
