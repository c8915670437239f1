package org.goldenstick.nn;

import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;

/**
 * Softmax along one axis (negative counts from the end), as ONNX Softmax from opset 13 and PyTorch compute it.
 * {@link #coerced(int)} gives the older ONNX form (opsets before 13): the input is seen as a matrix
 * {@code [d0·…·d(axis-1), d(axis)·…]} and each row is normalised as a whole.
 *
 * <pre>{@code
 * var sm = new Softmax(-1);
 * }</pre>
 */
public class Softmax extends Layer {
    private final int axis;
    private final boolean coerced;

    public Softmax(int axis) {
        this(axis, false);
    }

    private Softmax(int axis, boolean coerced) {
        this.axis = axis;
        this.coerced = coerced;
    }

    /** The opset-1..12 ONNX semantics: normalise over all axes from {@code axis} on together. */
    public static Softmax coerced(int axis) {
        return new Softmax(axis, true);
    }

    public int axis() { return axis; }

    /** True for the opset-1..12 form (all axes from {@link #axis()} on normalised together). */
    public boolean isCoerced() { return coerced; }

    @Override
    protected Tensor compute(Tensor x) {
        if (!coerced) return Functional.softmax(x, axis);
        int a = axis < 0 ? axis + x.rank() : axis;
        if (a < 0 || a >= x.rank()) throw new IllegalArgumentException("Softmax: axis " + axis + " out of range for rank " + x.rank());
        if (a == x.rank() - 1) return Functional.softmax(x, -1);
        int outer = 1;
        for (int i = 0; i < a; i++) outer *= x.dim(i);
        return Functional.softmax(x.reshape(outer, -1), 1).reshape(x.shape());
    }

    @Override
    public String describe() {
        return "Softmax(axis=" + axis + (coerced ? ", coerced to 2-D" : "") + ")";
    }
}
