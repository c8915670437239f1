package org.goldenstick.train;

import java.util.Arrays;
import org.goldenstick.tensor.Tensor;

/**
 * Classification metrics.
 *
 * <pre>{@code
 * long hits = Metrics.correct(logits, labels);   // arg-max of each row equals its label
 * }</pre>
 */
public final class Metrics {
    private Metrics() {}

    /**
     * Number of rows of {@code logits [N, C]} whose arg-max equals the label; 0 when the output is not
     * {@code N} rows of scores (e.g. a regression output), so that training statistics never fail on it.
     */
    public static long correct(Tensor logits, int[] labels) {
        if (logits.rank() != 2 || logits.dim(0) != labels.length) return 0;
        int[] pred = logits.argmaxLastAxis();
        long c = 0;
        for (int i = 0; i < labels.length; i++) if (pred[i] == labels[i]) c++;
        return c;
    }

    /** Fraction of rows predicted right. */
    public static double accuracy(Tensor logits, int[] labels) {
        if (logits.rank() != 2 || logits.dim(0) != labels.length) {
            throw new IllegalArgumentException("accuracy: logits " + Arrays.toString(logits.shape()) + " do not match " + labels.length + " labels");
        }
        return labels.length == 0 ? Double.NaN : (double) correct(logits, labels) / labels.length;
    }

    /** Per-class confusion counts: {@code m[label][predicted]}. */
    public static long[][] confusion(Tensor logits, int[] labels, int classes) {
        long[][] m = new long[classes][classes];
        int[] pred = logits.argmaxLastAxis();
        for (int i = 0; i < labels.length; i++) m[labels[i]][pred[i]]++;
        return m;
    }
}
