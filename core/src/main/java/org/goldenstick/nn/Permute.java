package org.goldenstick.nn;

import java.util.Arrays;
import org.goldenstick.tensor.Tensor;

/**
 * Reorders the axes of its input (ONNX Transpose, {@code torch.permute}): output axis {@code i} is input axis
 * {@code perm[i]}.
 *
 * <pre>{@code
 * var nhwc = new Permute(0, 2, 3, 1);
 * }</pre>
 */
public class Permute extends Layer {
    private final int[] perm;

    public Permute(int... perm) {
        boolean[] seen = new boolean[perm.length];
        for (int p : perm) {
            if (p < 0 || p >= perm.length || seen[p]) throw new IllegalArgumentException("Permute: " + Arrays.toString(perm) + " is not a permutation of 0.." + (perm.length - 1));
            seen[p] = true;
        }
        this.perm = perm.clone();
    }

    public int[] perm() {
        return perm.clone();
    }

    @Override
    protected Tensor compute(Tensor x) {
        if (x.rank() != perm.length) throw new IllegalArgumentException("Permute" + Arrays.toString(perm) + ": input has rank " + x.rank() + " " + Arrays.toString(x.shape()));
        return x.permute(perm);
    }

    @Override
    public String describe() {
        return "Permute" + Arrays.toString(perm);
    }
}
