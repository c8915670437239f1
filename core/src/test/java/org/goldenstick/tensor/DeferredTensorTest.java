package org.goldenstick.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** {@link Tensor#deferred}: values computed once, on the first read, shared by reshaped views; shape work reads nothing. */
class DeferredTensorTest {
    @Test
    void valuesAreComputedOnFirstReadOnceAndSharedByViews() {
        AtomicInteger fills = new AtomicInteger();
        float[] values = {1, 2, 3, 4, 5, 6};
        Tensor t = Tensor.deferred(() -> {
            fills.incrementAndGet();
            return values.clone();
        }, 2, 3);
        Tensor flat = t.flatten(0), r = t.reshape(3, 2), d = t.detach();
        assertEquals(6, t.numel());
        assertArrayEquals(new int[] {6}, flat.shape());
        assertTrue(t.valuesPending() && flat.valuesPending(), "shape-only ops read no values");
        assertEquals(0, fills.get());
        assertSame(t.storageIdentity(), flat.storageIdentity(), "a view shares the storage");
        assertSame(t.storageIdentity(), d.storageIdentity());
        Object before = t.storageIdentity();

        assertArrayEquals(values, r.data(), "the view's read fills the shared values");
        assertSame(r.data(), t.data(), "one array for all views");
        assertSame(t.data(), d.data());
        assertEquals(1, fills.get());
        assertFalse(t.valuesPending());
        assertSame(before, t.storageIdentity(), "the identity does not change when the values arrive");
        assertEquals(4f, t.get(1, 0));
        assertEquals(21f, t.sum().item(), "ops read the values");
    }

    @Test
    void concurrentReadersShareOneFill() throws Exception {
        AtomicInteger fills = new AtomicInteger();
        Tensor t = Tensor.deferred(() -> {
            fills.incrementAndGet();
            return new float[1000];
        }, 1000);
        CountDownLatch start = new CountDownLatch(1);
        Thread[] th = new Thread[4];
        float[][] seen = new float[th.length][];
        for (int i = 0; i < th.length; i++) {
            int k = i;
            th[i] = new Thread(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
                seen[k] = t.reshape(10, 100).data();
            });
            th[i].start();
        }
        start.countDown();
        for (Thread x : th) x.join();
        assertEquals(1, fills.get());
        for (float[] s : seen) assertSame(seen[0], s);
    }

    @Test
    void aFillOfTheWrongLengthFailsLoudly() {
        Tensor t = Tensor.deferred(() -> new float[5], 2, 3);
        var e = assertThrows(IllegalStateException.class, t::data);
        assertTrue(e.getMessage().contains("5") && e.getMessage().contains("6"), e.getMessage());
    }

    @Test
    void ordinaryTensorsUseTheirArrayAsIdentity() {
        float[] a = {1, 2};
        Tensor t = Tensor.of(a, 2);
        assertSame(a, t.storageIdentity());
        assertSame(a, t.reshape(1, 2).storageIdentity());
        assertFalse(t.valuesPending());
    }
}
