package org.goldenstick.train;

/** Thrown when the training loss becomes NaN or infinite; the message names the epoch and step. */
public final class NonFiniteLossException extends ArithmeticException {
    private final int epoch;
    private final int step;
    private final double loss;

    public NonFiniteLossException(int epoch, int epochs, int step, int stepsPerEpoch, double loss) {
        super("training loss became " + loss + " at epoch " + (epoch + 1) + "/" + epochs + ", step " + (step + 1)
                + (stepsPerEpoch > 0 ? "/" + stepsPerEpoch : "") + " (lower the learning rate or check the inputs)");
        this.epoch = epoch;
        this.step = step;
        this.loss = loss;
    }

    /** The epoch, 0-based. */
    public int epoch() { return epoch; }

    /** The step within the epoch, 0-based. */
    public int step() { return step; }

    public double loss() { return loss; }
}
