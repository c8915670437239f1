package org.goldenstick.data;

import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import org.goldenstick.tensor.Tensor;

/**
 * Iterates a {@link Dataset} in mini-batches of {@code [B, ...sampleShape]} inputs plus labels.
 *
 * <p>Each call of {@link #iterator()} is one epoch. With shuffling, epoch {@code e} (counted from 0 by
 * this loader) uses a permutation derived from {@code (seed, e)} only, so runs are reproducible and
 * {@link #epoch(int)} can replay any epoch.
 *
 * <pre>{@code
 * DataLoader loader = new DataLoader(train, 64, true, 42, false);
 * for (int epoch = 0; epoch < 3; epoch++) {
 *     for (Batch b : loader) {              // b.inputs(): [64, 1, 8, 8]
 *         ...
 *     }
 * }
 * }</pre>
 */
public final class DataLoader implements Iterable<Batch> {
    private final Dataset dataset;
    private final int batchSize;
    private final boolean shuffle;
    private final long seed;
    private final boolean dropLast;
    private int nextEpoch;

    /**
     * @param shuffle  reshuffle every epoch (seeded); otherwise dataset order
     * @param dropLast drop a final batch smaller than {@code batchSize}
     */
    public DataLoader(Dataset dataset, int batchSize, boolean shuffle, long seed, boolean dropLast) {
        if (batchSize <= 0) throw new IllegalArgumentException("DataLoader: batch size " + batchSize + " must be positive");
        this.dataset = dataset;
        this.batchSize = batchSize;
        this.shuffle = shuffle;
        this.seed = seed;
        this.dropLast = dropLast;
    }

    /** In-order batches, keeping the last partial one (for evaluation). */
    public static DataLoader sequential(Dataset dataset, int batchSize) {
        return new DataLoader(dataset, batchSize, false, 0, false);
    }

    public Dataset dataset() {
        return dataset;
    }

    public int batchSize() {
        return batchSize;
    }

    /** Number of batches per epoch. */
    public int numBatches() {
        int n = dataset.size();
        return dropLast ? n / batchSize : (n + batchSize - 1) / batchSize;
    }

    /** The next epoch's batches. */
    @Override
    public synchronized Iterator<Batch> iterator() {
        return epoch(nextEpoch++);
    }

    /** The batches of epoch {@code e}, independent of how many epochs were iterated before. */
    public Iterator<Batch> epoch(int e) {
        int n = dataset.size();
        int[] order;
        if (shuffle) {
            // Mix the epoch into the seed so that nearby seeds and epochs give unrelated permutations.
            order = Splits.permutation(n, new SplittableRandom(seed * 0x9E3779B97F4A7C15L + e));
        } else {
            order = new int[n];
            for (int i = 0; i < n; i++) order[i] = i;
        }
        int batches = numBatches();
        int[] sampleShape = dataset.sampleShape();
        int sampleSize = dataset.sampleSize();
        return new Iterator<>() {
            int b = 0;

            @Override
            public boolean hasNext() {
                return b < batches;
            }

            @Override
            public Batch next() {
                if (!hasNext()) throw new NoSuchElementException();
                int start = b++ * batchSize;
                int size = Math.min(batchSize, n - start);
                float[] x = new float[size * sampleSize];
                int[] y = new int[size];
                for (int i = 0; i < size; i++) {
                    int idx = order[start + i];
                    dataset.fill(idx, x, i * sampleSize);
                    y[i] = dataset.label(idx);
                }
                int[] shape = new int[sampleShape.length + 1];
                shape[0] = size;
                System.arraycopy(sampleShape, 0, shape, 1, sampleShape.length);
                return new Batch(Tensor.of(x, shape), y);
            }
        };
    }
}
