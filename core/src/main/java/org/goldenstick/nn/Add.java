package org.goldenstick.nn;

import org.goldenstick.tensor.OpTrace;
import org.goldenstick.tensor.Tensor;

/**
 * The element-wise sum of two tensors as a module: a residual connection ({@code main(x) + shortcut(x)}). In a float
 * network it is exactly {@link Tensor#add} (same values, same gradients, same op on the tape), and a traced model graph
 * sees it as that {@code add} op, with this module's name and instance on the node ({@code Node.layer()}), so an
 * algorithm can find the module behind each residual sum. A converted network may give it another way to compute the
 * same sum ({@link #computeWith}): SimQAT's int8 deploy network adds the 8-bit codes of its operands directly, applies
 * the ReLU that follows and writes the codes its consumer reads.
 *
 * <p>It takes two inputs, so it is not a {@link Layer}; call {@link #forward(Tensor, Tensor)}.
 *
 * <pre>{@code
 * registerChild("add", new Add());
 * // in forward:
 * Tensor y = relu.forward(((Add) children().get("add")).forward(main, shortcut));
 * }</pre>
 */
public final class Add extends Module {
    /** How a converted network computes the sum: the same values as {@code a.add(b)}, from whatever it knows about them. */
    @FunctionalInterface
    public interface Computation {
        Tensor add(Tensor a, Tensor b);
    }

    private volatile Computation computation;

    /** {@code a + b}, element-wise (broadcasting as {@link Tensor#add}). */
    public Tensor forward(Tensor a, Tensor b) {
        Computation c = computation;
        if (c != null && !OpTrace.active()) return c.add(a, b);
        Tensor y = a.add(b);
        OpTrace.opOwner(this, y);
        return y;
    }

    /** Not applicable: an add has two inputs ({@link #forward(Tensor, Tensor)}). */
    @Override
    public Tensor forward(Tensor x) {
        throw new UnsupportedOperationException("Add takes two inputs: call forward(a, b)");
    }

    /**
     * Computes the sum with {@code c} from now on (null: {@link Tensor#add} again). A trace always records the plain
     * op. {@code c} must give exactly the values of {@code a.add(b)} (it may compute more, e.g. codes beside them), or
     * those of the one activation layer that consumes the sum, when that layer then passes them through unchanged.
     */
    public void computeWith(Computation c) {
        computation = c;
    }

    /** The computation set by {@link #computeWith}, or null. */
    public Computation computation() {
        return computation;
    }

    @Override
    public String describe() {
        Computation c = computation;
        return c == null ? "Add" : "Add(" + c + ")";
    }
}
