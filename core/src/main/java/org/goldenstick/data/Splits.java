package org.goldenstick.data;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Seeded train/test splits.
 *
 * <pre>{@code
 * Splits.Split s = Splits.trainTest(Datasets.digits(), 0.2, 42);
 * Dataset train = s.train(), test = s.test();   // 1438 / 359 samples, disjoint
 * }</pre>
 */
public final class Splits {
    private Splits() {}

    /** A pair of disjoint subsets. */
    public record Split(Dataset train, Dataset test) {}

    /**
     * Shuffles the indices with {@code seed} and puts {@code round(size * testFraction)} of them in the test set.
     * Both subsets keep their indices in ascending order, so the split is the same for the same seed.
     */
    public static Split trainTest(Dataset ds, double testFraction, long seed) {
        if (!(testFraction > 0 && testFraction < 1)) throw new IllegalArgumentException("trainTest: testFraction " + testFraction + " is not in (0, 1)");
        int n = ds.size();
        int nTest = (int) Math.round(n * testFraction);
        if (nTest == 0 || nTest == n) throw new IllegalArgumentException("trainTest: " + n + " samples cannot be split with testFraction " + testFraction);
        int[] perm = permutation(n, new SplittableRandom(seed));
        int[] test = Arrays.copyOfRange(perm, 0, nTest);
        int[] train = Arrays.copyOfRange(perm, nTest, n);
        Arrays.sort(test);
        Arrays.sort(train);
        return new Split(new Subset(ds, train), new Subset(ds, test));
    }

    /** A uniformly random permutation of {@code 0..n-1} (Fisher-Yates). */
    public static int[] permutation(int n, SplittableRandom rng) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
