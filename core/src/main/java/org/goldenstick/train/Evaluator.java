package org.goldenstick.train;

import java.util.LinkedHashMap;
import java.util.Map;
import org.goldenstick.data.Batch;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.GradMode;
import org.goldenstick.tensor.Tensor;

/**
 * Accuracy and mean loss of a classifier over a data set, computed in eval mode without recording gradients.
 * The modules' previous train/eval modes are restored afterwards, module by module.
 *
 * <pre>{@code
 * Evaluator.Result r = Evaluator.evaluate(model, testLoader);
 * System.out.printf("test accuracy %.2f%%%n", 100 * r.accuracy());
 * }</pre>
 */
public final class Evaluator {
    private Evaluator() {}

    /** @param count number of samples evaluated */
    public record Result(double accuracy, double meanLoss, long count) {}

    /** With mean cross-entropy as the loss. */
    public static Result evaluate(Module model, Iterable<Batch> data) {
        return evaluate(model, data, LossFunction.crossEntropy());
    }

    public static Result evaluate(Module model, Iterable<Batch> data, LossFunction loss) {
        Map<Module, Boolean> modes = new LinkedHashMap<>();
        for (Module m : model.namedModules().values()) modes.put(m, m.isTraining());
        model.eval();
        long correct = 0, count = 0;
        double lossSum = 0;
        try (var ignored = GradMode.off()) {
            for (Batch b : data) {
                Tensor out = model.forward(b.inputs());
                int n = b.labels().length;
                correct += Metrics.correct(out, b.labels());
                if (loss != null) lossSum += loss.compute(out, b).item() * (double) n;
                count += n;
            }
        } finally {
            // Pre-order: a parent's train(bool) covers its subtree, then each child restores its own mode.
            modes.forEach((m, on) -> m.train(on));
        }
        return new Result(count == 0 ? Double.NaN : (double) correct / count, count == 0 || loss == null ? Double.NaN : lossSum / count, count);
    }
}
