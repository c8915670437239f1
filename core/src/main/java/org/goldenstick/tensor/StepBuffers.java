package org.goldenstick.tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.goldenstick.tensor.kernel.Parallel;

/**
 * Reuses the large activation and gradient arrays of one training step in the next, instead of allocating them afresh.
 *
 * <p>A training step of a CNN allocates its activations and their gradients anew each time (for ResNet-20 at batch 128
 * about 0.7 GB); the JVM zeroes every one of those arrays, and the garbage collector then spends a tenth to a third of
 * the step's CPU time on them. A training loop that owns a {@code StepBuffers} opens a {@link Step} around each step:
 * while it is open on the calling thread, ops take their output arrays and the gradients of intermediate tensors from
 * this pool, a gradient goes back to the pool as soon as the backward pass has consumed it, and closing the step returns
 * everything else. Arrays below {@link #MIN_FLOATS} floats are allocated as usual (cheap, and a step's logits and loss
 * stay valid after it).
 *
 * <p>Contract: a large tensor made during a step must not be used after the step is closed (its memory is handed out
 * again). Such a tensor is marked released, and reading it throws an {@link IllegalStateException} that names this
 * class, so a violation fails loudly instead of reading another step's values; {@link Tensor#copy()} what must outlive
 * the step. Parameters, their gradients and optimizer state are never taken from the pool. Without an open step
 * (inference, tests, any code that never opens one) nothing changes.
 *
 * <pre>{@code
 * StepBuffers buffers = new StepBuffers();       // owned by the training loop, one per thread that trains
 * for (Batch b : batches) {
 *     try (StepBuffers.Step step = buffers.open()) {
 *         Tensor loss = lossFn.compute(model.forward(b.inputs()), b);
 *         float value = loss.item();
 *         loss.backward();
 *         optimizer.step();
 *     }                                           // the step's large arrays go back to the pool
 * }
 * }</pre>
 */
public final class StepBuffers {
    /** Smallest array (in floats) taken from the pool: below this the JVM's own allocation is as cheap. */
    public static final int MIN_FLOATS = 1 << 12;

    private static final ThreadLocal<StepBuffers> ACTIVE = new ThreadLocal<>();

    private final Map<Integer, ArrayDeque<float[]>> free = new HashMap<>();
    /** Arrays handed out during the open step, by identity. */
    private final IdentityHashMap<float[], Boolean> lent = new IdentityHashMap<>();
    /** Tensors whose data is a lent array: released when the step closes. */
    private final List<Tensor> tensors = new ArrayList<>();
    private Thread owner;

    /** Opens a step on the calling thread; close it (try-with-resources) when the step's optimizer update is done. */
    public Step open() {
        if (owner != null) throw new IllegalStateException("StepBuffers: a step is already open (on " + owner.getName() + "); close it first");
        if (ACTIVE.get() != null) throw new IllegalStateException("StepBuffers: another pool already has a step open on this thread");
        owner = Thread.currentThread();
        ACTIVE.set(this);
        return new Step();
    }

    /** Floats currently kept for reuse (for tests and diagnostics). */
    public long pooledFloats() {
        long s = 0;
        for (ArrayDeque<float[]> q : free.values()) for (float[] a : q) s += a.length;
        return s;
    }

    /** One open step; closing it releases the step's large tensors and returns their arrays to the pool. */
    public final class Step implements AutoCloseable {
        private boolean closed;

        private Step() {}

        @Override
        public void close() {
            if (closed) return;
            closed = true;
            if (owner != Thread.currentThread()) throw new IllegalStateException("StepBuffers: a step must be closed on the thread that opened it");
            for (Tensor t : tensors) t.release();
            tensors.clear();
            for (float[] a : lent.keySet()) giveBack(a);
            lent.clear();
            owner = null;
            ACTIVE.remove();
        }
    }

    /** {@code n} zeros: from the open step's pool on this thread if there is one and {@code n} is large, else a new array. */
    public static float[] zeros(int n) {
        StepBuffers b = n >= MIN_FLOATS ? ACTIVE.get() : null;
        if (b == null) return new float[n];
        float[] a = b.take(n);
        if (a == null) return b.lend(new float[n]);
        fill(a);
        return a;
    }

    /**
     * {@code n} floats whose values are undefined (an earlier step's): only for ops that write every element. Outside an
     * open step (or when small) a new, zeroed array.
     */
    public static float[] uninitialized(int n) {
        StepBuffers b = n >= MIN_FLOATS ? ACTIVE.get() : null;
        if (b == null) return new float[n];
        float[] a = b.take(n);
        return a != null ? a : b.lend(new float[n]);
    }

    /** Called for every new tensor: a tensor over a lent array belongs to the open step. */
    static void adopt(Tensor t, float[] data) {
        if (data.length < MIN_FLOATS) return;
        StepBuffers b = ACTIVE.get();
        if (b != null && b.lent.containsKey(data)) b.tensors.add(t);
    }

    /**
     * A gradient the backward pass has finished with (its tensor's backward function ran): back to the pool at once, so
     * later ops of the same pass reuse it. Returns whether it was taken (then the tensor must drop it).
     */
    static boolean reclaim(float[] grad) {
        if (grad.length < MIN_FLOATS) return false;
        StepBuffers b = ACTIVE.get();
        if (b == null || b.lent.remove(grad) == null) return false;
        b.giveBack(grad);
        return true;
    }

    private float[] take(int n) {
        ArrayDeque<float[]> q = free.get(n);
        float[] a = q == null ? null : q.poll();
        if (a != null) lent.put(a, Boolean.TRUE);
        return a;
    }

    private void giveBack(float[] a) {
        free.computeIfAbsent(a.length, k -> new ArrayDeque<>()).push(a);
    }

    private float[] lend(float[] a) {
        lent.put(a, Boolean.TRUE);
        return a;
    }

    private static final int FILL_CHUNK = 1 << 16;

    private static void fill(float[] a) {
        if (a.length <= FILL_CHUNK) {
            Arrays.fill(a, 0f);
            return;
        }
        int tasks = (a.length + FILL_CHUNK - 1) / FILL_CHUNK;
        Parallel.forEach(tasks, t -> Arrays.fill(a, t * FILL_CHUNK, Math.min(a.length, (t + 1) * FILL_CHUNK), 0f));
    }
}
