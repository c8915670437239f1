package org.goldenstick.data;

import java.util.Arrays;

/**
 * A view of some samples of another data set, in the given order.
 *
 * <pre>{@code
 * Dataset firstThousand = Subset.first(Datasets.fashionMnist(true), 1000);
 * }</pre>
 */
public final class Subset implements Dataset {
    private final Dataset base;
    private final int[] indices;

    public Subset(Dataset base, int[] indices) {
        for (int i : indices) {
            if (i < 0 || i >= base.size()) throw new IndexOutOfBoundsException("Subset: index " + i + " outside a data set of " + base.size());
        }
        this.base = base;
        this.indices = indices.clone();
    }

    /** The first {@code n} samples (all if there are fewer). */
    public static Subset first(Dataset base, int n) {
        int m = Math.min(n, base.size());
        int[] idx = new int[m];
        for (int i = 0; i < m; i++) idx[i] = i;
        return new Subset(base, idx);
    }

    /** The indices into the base data set. */
    public int[] indices() {
        return indices.clone();
    }

    @Override
    public int size() {
        return indices.length;
    }

    @Override
    public int[] sampleShape() {
        return base.sampleShape();
    }

    @Override
    public int sampleSize() {
        return base.sampleSize();
    }

    @Override
    public int numClasses() {
        return base.numClasses();
    }

    @Override
    public void fill(int index, float[] dst, int offset) {
        base.fill(indices[index], dst, offset);
    }

    @Override
    public int label(int index) {
        return base.label(indices[index]);
    }

    @Override
    public String toString() {
        return "Subset(" + indices.length + " of " + base.size() + ", first " + Arrays.toString(Arrays.copyOf(indices, Math.min(5, indices.length))) + ")";
    }
}
