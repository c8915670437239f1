package org.goldenstick.train;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import org.goldenstick.data.Batch;

/**
 * A callback that evaluates the model on held-out data at the end of every {@code every}-th epoch (and the
 * last one), keeping the history; the evaluation runs in eval mode without gradients and restores the
 * modes, so training continues unaffected.
 *
 * <pre>{@code
 * var eval = new EpochEvaluation(testLoader, 1, r -> System.err.printf("test %.2f%%%n", 100 * r.accuracy()));
 * Trainer.builder(model, opt).epochs(10).callback(eval).build().fit(trainLoader);
 * double best = eval.bestAccuracy();
 * }</pre>
 */
public final class EpochEvaluation implements TrainCallback {
    /** One evaluation: the 1-based epoch it followed and its result. */
    public record Entry(int epoch, Evaluator.Result result) {}

    private final Iterable<Batch> data;
    private final int every;
    private final Consumer<Entry> listener;
    private final List<Entry> history = new ArrayList<>();

    public EpochEvaluation(Iterable<Batch> data, int every, Consumer<Entry> listener) {
        if (every < 1) throw new IllegalArgumentException("EpochEvaluation: every must be >= 1, got " + every);
        this.data = data;
        this.every = every;
        this.listener = listener == null ? e -> {} : listener;
    }

    /** Evaluates every epoch and prints one line per evaluation on stderr. */
    public static EpochEvaluation printing(Iterable<Batch> data) {
        return new EpochEvaluation(data, 1, e -> System.err.printf(Locale.ROOT, "epoch %d: test accuracy %.2f%%, test loss %.4f%n",
                e.epoch(), 100 * e.result().accuracy(), e.result().meanLoss()));
    }

    @Override
    public void onEpochEnd(TrainContext ctx) {
        if (ctx.epochNumber() % every != 0 && !ctx.isLastEpoch() && !ctx.stopRequested()) return;
        Entry e = new Entry(ctx.epochNumber(), Evaluator.evaluate(ctx.model(), data));
        history.add(e);
        listener.accept(e);
    }

    public List<Entry> history() {
        return Collections.unmodifiableList(history);
    }

    /** The best accuracy seen so far (NaN before the first evaluation). */
    public double bestAccuracy() {
        return history.stream().mapToDouble(e -> e.result().accuracy()).max().orElse(Double.NaN);
    }
}
