package org.goldenstick.train;

import org.goldenstick.data.Batch;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;

/**
 * The mutable state of a training run as callbacks see it: where the run is (epoch, step), what it trains
 * (model, optimizer), the current batch (replaceable at step begin), the last loss and output, running
 * statistics of the current epoch, and a stop flag.
 */
public final class TrainContext {
    private final Module model;
    private final Optimizer optimizer;
    private final int epochs;
    private int epoch;
    private int step;
    private long globalStep;
    private int stepsPerEpoch;
    private Batch batch;
    private Tensor lastOutput;
    private double lastLoss = Double.NaN;
    private boolean stopRequested;
    private double epochLossSum;
    private long epochSamples;
    private long epochCorrect;
    private long samplesSeen;

    TrainContext(Module model, Optimizer optimizer, int epochs) {
        this.model = model;
        this.optimizer = optimizer;
        this.epochs = epochs;
    }

    public Module model() { return model; }

    public Optimizer optimizer() { return optimizer; }

    /** Total number of epochs planned. */
    public int epochs() { return epochs; }

    /** Current epoch, 0-based. */
    public int epoch() { return epoch; }

    /** Current epoch, 1-based (for messages). */
    public int epochNumber() { return epoch + 1; }

    /** True during the last planned epoch. */
    public boolean isLastEpoch() { return epoch == epochs - 1; }

    /** Step within the current epoch, 0-based. */
    public int step() { return step; }

    /** Steps completed before this one over the whole run, 0-based. */
    public long globalStep() { return globalStep; }

    /** Batches per epoch (0 while unknown, i.e. during the first epoch of a source without a size). */
    public int stepsPerEpoch() { return stepsPerEpoch; }

    /** The batch of the current step. */
    public Batch batch() { return batch; }

    /** Replaces the current batch; meaningful in {@link TrainCallback#onStepBegin}. */
    public void setBatch(Batch batch) {
        if (batch == null) throw new IllegalArgumentException("TrainContext.setBatch: batch is null");
        this.batch = batch;
    }

    /** The loss of the most recent step (NaN before the first). */
    public double lastLoss() { return lastLoss; }

    /** The model output of the most recent step, detached from the graph. */
    public Tensor lastOutput() { return lastOutput; }

    /** The learning rate in use for the current step. */
    public double learningRate() { return optimizer.learningRate(); }

    /** Mean loss over the current epoch's steps so far (weighted by batch size). */
    public double epochMeanLoss() { return epochSamples == 0 ? Double.NaN : epochLossSum / epochSamples; }

    /** Training accuracy over the current epoch so far (on the batches as trained, NaN if not classifiable). */
    public double epochAccuracy() { return epochSamples == 0 ? Double.NaN : (double) epochCorrect / epochSamples; }

    /** Samples trained on over the whole run. */
    public long samplesSeen() { return samplesSeen; }

    /** Asks the trainer to stop after the current step; {@code onTrainEnd} still runs. */
    public void stopTraining() { stopRequested = true; }

    public boolean stopRequested() { return stopRequested; }

    // ---------------------------------------------------------------- updated by the Trainer

    void beginEpoch(int epoch) {
        this.epoch = epoch;
        this.step = 0;
        this.epochLossSum = 0;
        this.epochSamples = 0;
        this.epochCorrect = 0;
    }

    void beginStep(int step, Batch batch) {
        this.step = step;
        this.batch = batch;
    }

    void endStep(Tensor output, double loss) {
        this.lastOutput = output;
        this.lastLoss = loss;
        int n = batch.labels().length;
        epochLossSum += loss * n;
        epochSamples += n;
        samplesSeen += n;
        epochCorrect += Metrics.correct(output, batch.labels());
        globalStep++;
    }

    void setStepsPerEpoch(int n) {
        this.stepsPerEpoch = n;
    }
}
