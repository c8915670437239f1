package org.goldenstick.data;

import org.goldenstick.tensor.Tensor;

/**
 * One mini-batch: inputs {@code [B, ...sampleShape]} (e.g. {@code [B, C, H, W]}) and B class labels.
 *
 * <pre>{@code
 * Batch b = loader.iterator().next();
 * int n = b.size();
 * }</pre>
 */
public record Batch(Tensor inputs, int[] labels) {
    public Batch {
        if (inputs.rank() == 0 || inputs.dim(0) != labels.length) {
            throw new IllegalArgumentException("Batch: " + labels.length + " labels for inputs of shape " + java.util.Arrays.toString(inputs.shape()));
        }
    }

    /** Number of samples. */
    public int size() {
        return labels.length;
    }
}
