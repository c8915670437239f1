package org.goldenstick.nn;

import java.util.ArrayDeque;
import org.goldenstick.tensor.OpTrace;
import org.goldenstick.tensor.Tensor;

/**
 * A leaf layer: one computation on one input, seen by a traced model graph as one node (its inner ops are not
 * listed). {@link #forward} is final: it runs {@link #compute} and reports the call to an active trace
 * ({@link OpTrace}), which is how the graph learns which layer ran, on which tensor, under which dotted name.
 * Containers (a user network, {@link Sequential}) stay plain {@link Module}s: the graph looks through them.
 *
 * <p>Once {@link Module#replaceChild replaced} in its network by another layer, a layer forwards every call to its
 * replacement, so a forward that calls the layer through a field of its own runs what a compression algorithm put in
 * its place. A call made by the replacement itself, or by a running layer that holds this one among its children (a
 * quant cell using the layer it wraps, a fused conv+BN using its BN), runs the layer's own computation.
 *
 * <pre>{@code
 * public final class Swish extends Layer {
 *     protected Tensor compute(Tensor x) { return x.mul(x.sigmoid()); }
 * }
 * }</pre>
 */
public abstract class Layer extends Module {
    /** The layers running on this thread, innermost first (a few deep: a cell and the layer it wraps). */
    private static final ThreadLocal<ArrayDeque<Layer>> RUNNING = ThreadLocal.withInitial(ArrayDeque::new);

    private volatile Layer replacement;

    /** The layer's computation. */
    protected abstract Tensor compute(Tensor x);

    @Override
    public final Tensor forward(Tensor x) {
        ArrayDeque<Layer> running = RUNNING.get();
        Layer r = replacement;
        if (r != null && !calledFromWithin(running, r)) return r.forward(x);
        running.push(this);
        try {
            return OpTrace.layer(this, x, this::compute);
        } finally {
            running.pop();
        }
    }

    /** True when the call comes from the replacement, or from a running layer that holds this one (its own use of it). */
    private boolean calledFromWithin(ArrayDeque<Layer> running, Layer r) {
        for (Layer l : running) {
            if (l == r) return true;
            for (Module m : l.namedModules().values()) if (m == this) return true;
        }
        return false;
    }

    /** The layer that replaced this one in its network (calls are forwarded to it), or null. */
    public final Layer replacement() {
        return replacement;
    }

    final void replacedBy(Layer l) {
        replacement = l;
    }
}
