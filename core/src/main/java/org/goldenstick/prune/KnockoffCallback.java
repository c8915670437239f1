package org.goldenstick.prune;

import java.util.Random;
import org.goldenstick.data.Batch;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.train.TrainCallback;
import org.goldenstick.train.TrainContext;

/**
 * Upstream's {@code KfCallback}: at each step begin the batch is doubled with a randomly permuted copy of itself
 * (inputs and labels), the second half being the knockoff samples {@link KfLayer} mixes in. At step end every
 * kfscale is clamped to [0, 1] (ours: keeps {@code 2·kfscale − 1} a signed importance in [−1, 1]).
 */
public final class KnockoffCallback implements TrainCallback {
    private final Random rng;

    public KnockoffCallback(long seed) {
        this.rng = new Random(seed);
    }

    @Override
    public void onStepBegin(TrainContext ctx) {
        ctx.setBatch(doubled(ctx.batch(), rng));
    }

    @Override
    public void onStepEnd(TrainContext ctx) {
        clamp(ctx.model());
    }

    /** The batch followed by a random permutation of itself. */
    public static Batch doubled(Batch b, Random rng) {
        int n = b.size();
        int[] perm = new int[n];
        for (int i = 0; i < n; i++) perm[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        Tensor x = Tensor.concat(0, b.inputs(), b.inputs().indexSelect(0, perm));
        int[] labels = new int[2 * n];
        for (int i = 0; i < n; i++) {
            labels[i] = b.labels()[i];
            labels[n + i] = b.labels()[perm[i]];
        }
        return new Batch(x, labels);
    }

    static void clamp(Module net) {
        for (Module m : net.namedModules().values()) {
            if (m instanceof KfLayer kf) {
                float[] d = kf.kfscale().data();
                for (int i = 0; i < d.length; i++) d[i] = Math.min(1f, Math.max(0f, d[i]));
            }
        }
    }
}
