package org.goldenstick.train;

/**
 * Hooks into {@link Trainer#fit}; every method has an empty default. Compression algorithms plug in here
 * (QAT freezes BN at an epoch, SLB anneals a temperature, SCOP rewrites batches and masks channels).
 *
 * <p>Order per run: {@code onTrainBegin}, then per epoch {@code onEpochBegin}, per step {@code onStepBegin}
 * (may replace the batch), forward, loss, backward, {@code onAfterBackward} (gradients are ready), the
 * optimizer step, {@code onStepEnd}; then {@code onEpochEnd}; finally {@code onTrainEnd} (also after
 * {@link TrainContext#stopTraining()}, but not after an exception).
 *
 * <pre>{@code
 * TrainCallback freezeBn = new TrainCallback() {
 *     public void onEpochBegin(TrainContext ctx) { if (ctx.epoch() == 5) freezeBatchNorm(ctx.model()); }
 * };
 * }</pre>
 */
public interface TrainCallback {
    default void onTrainBegin(TrainContext ctx) {}

    default void onTrainEnd(TrainContext ctx) {}

    default void onEpochBegin(TrainContext ctx) {}

    default void onEpochEnd(TrainContext ctx) {}

    /** Before the forward pass; {@link TrainContext#setBatch} may replace the batch here. */
    default void onStepBegin(TrainContext ctx) {}

    /** After backward, before the optimizer step: gradients may be inspected or masked. */
    default void onAfterBackward(TrainContext ctx) {}

    /** After the optimizer step; {@link TrainContext#lastLoss()} holds this step's loss. */
    default void onStepEnd(TrainContext ctx) {}
}
