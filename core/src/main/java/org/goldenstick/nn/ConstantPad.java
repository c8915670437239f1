package org.goldenstick.nn;

import java.util.Arrays;
import org.goldenstick.tensor.Tensor;

/**
 * Pads every axis with a constant ({@code ONNX Pad} in constant mode): {@code pads} lists the amounts added before
 * each axis, then after each axis ({@code [x1_begin, x2_begin, …, x1_end, x2_end, …]}, ONNX's order). A negative
 * amount crops. Gradients flow to the kept elements.
 *
 * <pre>{@code
 * var pad = new ConstantPad(new int[] {0, 0, 1, 0, 0, 0, 2, 1}, 0f);   // NCHW: 1 row above, 2 below, 1 column right
 * }</pre>
 */
public class ConstantPad extends Layer {
    private final int[] pads;
    private final float value;

    public ConstantPad(int[] pads, float value) {
        if (pads.length % 2 != 0) throw new IllegalArgumentException("ConstantPad: pads must list a begin and an end per axis, got " + Arrays.toString(pads));
        if (Float.isNaN(value)) throw new IllegalArgumentException("ConstantPad: the value is NaN");
        this.pads = pads.clone();
        this.value = value;
    }

    /** Begin amounts for every axis, then end amounts (ONNX order). */
    public int[] pads() {
        return pads.clone();
    }

    public float value() {
        return value;
    }

    /** Number of axes the pads describe. */
    public int rank() {
        return pads.length / 2;
    }

    @Override
    protected Tensor compute(Tensor x) {
        int r = rank();
        if (x.rank() != r) throw new IllegalArgumentException("ConstantPad: pads " + Arrays.toString(pads) + " are for rank " + r + ", input is " + Arrays.toString(x.shape()));
        Tensor y = x;
        for (int a = 0; a < r; a++) {
            int before = pads[a], after = pads[a + r];
            if (before < 0 || after < 0) {
                int start = Math.max(0, -before), end = y.dim(a) - Math.max(0, -after);
                if (end < start) throw new IllegalArgumentException("ConstantPad: pads " + Arrays.toString(pads) + " crop axis " + a + " of " + Arrays.toString(x.shape()) + " to nothing");
                y = y.slice(a, start, end);
            }
            if (before > 0 || after > 0) {
                int[] s = y.shape();
                Tensor[] parts = new Tensor[3];
                int n = 0;
                if (before > 0) {
                    s[a] = before;
                    parts[n++] = Tensor.full(value, s.clone());
                }
                parts[n++] = y;
                if (after > 0) {
                    s[a] = after;
                    parts[n++] = Tensor.full(value, s.clone());
                }
                y = Tensor.concat(a, Arrays.copyOf(parts, n));
            }
        }
        return y;
    }

    @Override
    public String describe() {
        return "ConstantPad(" + Arrays.toString(pads) + (value != 0 ? ", value=" + value : "") + ")";
    }
}
