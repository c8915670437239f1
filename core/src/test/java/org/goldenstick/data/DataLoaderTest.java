package org.goldenstick.data;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.Test;

class DataLoaderTest {
    /** Sample i is the value i in every element and has label i % 3: batches reveal which samples they hold. */
    static Dataset indexed(int n) {
        byte[] px = new byte[n * 4];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            Arrays.fill(px, i * 4, i * 4 + 4, (byte) i);
            y[i] = i % 3;
        }
        return new PixelDataset(px, y, new int[] {1, 2, 2}, 3, 1f);
    }

    static List<Integer> order(Iterator<Batch> it) {
        List<Integer> ids = new ArrayList<>();
        while (it.hasNext()) {
            Batch b = it.next();
            float[] x = b.inputs().data();
            for (int i = 0; i < b.size(); i++) {
                int id = (int) x[i * 4];
                assertEquals(id % 3, b.labels()[i], "label travels with its sample");
                ids.add(id);
            }
        }
        return ids;
    }

    @Test
    void sequentialKeepsOrderAndLastPartialBatch() {
        DataLoader l = DataLoader.sequential(indexed(10), 4);
        assertEquals(3, l.numBatches());
        Iterator<Batch> it = l.iterator();
        Batch first = it.next();
        assertArrayEquals(new int[] {4, 1, 2, 2}, first.inputs().shape());
        it.next();
        Batch last = it.next();
        assertArrayEquals(new int[] {2, 1, 2, 2}, last.inputs().shape());
        assertFalse(it.hasNext());
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), order(l.iterator()));
    }

    @Test
    void shuffledEpochsArePermutationsReproducibleBySeed() {
        Dataset ds = indexed(100);
        DataLoader a = new DataLoader(ds, 8, true, 7, false);
        DataLoader b = new DataLoader(ds, 8, true, 7, false);
        List<Integer> e0 = order(a.iterator());
        List<Integer> e1 = order(a.iterator());
        assertEquals(100, e0.size());
        BitSet seen = new BitSet();
        e0.forEach(seen::set);
        assertEquals(100, seen.cardinality(), "each sample exactly once");
        assertNotEquals(e0, e1, "a new permutation each epoch");
        assertEquals(e0, order(b.iterator()), "same seed, same first epoch");
        assertEquals(e1, order(b.epoch(1)), "epochs can be replayed");
        assertNotEquals(e0, order(new DataLoader(ds, 8, true, 8, false).iterator()), "other seed, other order");
        assertNotEquals(java.util.stream.IntStream.range(0, 100).boxed().toList(), e0, "actually shuffled");
    }

    @Test
    void dropLastDropsThePartialBatch() {
        DataLoader l = new DataLoader(indexed(10), 4, true, 1, true);
        assertEquals(2, l.numBatches());
        List<Integer> ids = order(l.iterator());
        assertEquals(8, ids.size());
        assertEquals(8, ids.stream().distinct().count());
        assertThrows(IllegalArgumentException.class, () -> new DataLoader(indexed(3), 0, false, 0, false));
    }

    @Test
    void splitsAreDisjointCompleteAndSeeded() {
        Dataset ds = Datasets.digits();
        Splits.Split s = Splits.trainTest(ds, 0.2, 42);
        assertEquals(359, s.test().size());
        assertEquals(1438, s.train().size());
        int[] tr = ((Subset) s.train()).indices();
        int[] te = ((Subset) s.test()).indices();
        BitSet all = new BitSet();
        for (int i : tr) all.set(i);
        for (int i : te) {
            assertFalse(all.get(i), "disjoint");
            all.set(i);
        }
        assertEquals(ds.size(), all.cardinality());
        assertArrayEquals(te, ((Subset) Splits.trainTest(ds, 0.2, 42).test()).indices());
        assertFalse(Arrays.equals(te, ((Subset) Splits.trainTest(ds, 0.2, 43).test()).indices()));
        assertArrayEquals(ds.sample(te[5]), s.test().sample(5));
        assertEquals(ds.label(te[5]), s.test().label(5));
        assertThrows(IllegalArgumentException.class, () -> Splits.trainTest(ds, 1.0, 1));
        assertEquals(5, Subset.first(ds, 5).size());
        assertThrows(IndexOutOfBoundsException.class, () -> new Subset(ds, new int[] {ds.size()}));
    }
}
