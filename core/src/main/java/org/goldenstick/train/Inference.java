package org.goldenstick.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.goldenstick.data.Batch;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.GradMode;
import org.goldenstick.tensor.Tensor;

/**
 * Batched inference over a whole input tensor: top-1 classes, logits, and a speed comparison of several networks on
 * the same inputs. Shared by the QAT and pruning workflows, which report accuracy, agreement with another runtime and
 * images/s of the compressed network against the FP32 one.
 *
 * <pre>{@code
 * int[] classes = Inference.predict(net, testInputs);
 * double[] ips = Inference.compareImagesPerSecond(List.of(fp32, pruned), testInputs, 4.0);  // {fp32, pruned}
 * }</pre>
 */
public final class Inference {
    /** Images per forward call. */
    public static final int BATCH = 256;

    /** Measurement rounds of {@link #compareImagesPerSecond}; each network runs once per round, in turn. */
    public static final int ROUNDS = 5;

    private Inference() {}

    /** Top-1 classes of {@code inputs [N, ...]}, in eval mode without gradients. */
    public static int[] predict(Module net, Tensor inputs) {
        net.eval();
        int n = inputs.dim(0);
        int[] out = new int[n];
        try (var ignored = GradMode.off()) {
            for (int s = 0; s < n; s += BATCH) {
                int e = Math.min(n, s + BATCH);
                int[] p = net.forward(inputs.slice(0, s, e)).argmaxLastAxis();
                System.arraycopy(p, 0, out, s, p.length);
            }
        }
        return out;
    }

    /** The network's outputs {@code [N, K]} as one array. */
    public static float[] logits(Module net, Tensor inputs) {
        net.eval();
        int n = inputs.dim(0);
        float[] out = null;
        try (var ignored = GradMode.off()) {
            for (int s = 0; s < n; s += BATCH) {
                int e = Math.min(n, s + BATCH);
                Tensor y = net.forward(inputs.slice(0, s, e));
                if (out == null) out = new float[n * y.dim(1)];
                System.arraycopy(y.data(), 0, out, s * y.dim(1), y.numel());
            }
        }
        return out;
    }

    /**
     * Inference images/s of each network over the same inputs, within about {@code seconds} in total plus one
     * uncounted warm-up round: {@link #ROUNDS} rounds in which every network runs in turn for its share of the time; the result
     * is each network's median over the rounds. Interleaving makes a change in machine load hit all networks alike,
     * so the ratios are meaningful on a shared machine. All zeros when {@code seconds} is 0.
     */
    public static double[] compareImagesPerSecond(List<Module> nets, Tensor inputs, double seconds) {
        double[] out = new double[nets.size()];
        if (seconds <= 0) return out;
        long budget = (long) (seconds * 1e9 / (ROUNDS * nets.size()));
        // a warm-up round of the same length, not counted: C2 is still compiling a network's kernels after its first
        // pass (a first-time network ran at half speed for two more rounds after one pass, docs/results.md issue 19)
        for (Module net : nets) {
            long t0 = System.nanoTime();
            do predict(net, inputs);
            while (System.nanoTime() - t0 < budget);
        }
        double[][] rounds = new double[nets.size()][ROUNDS];
        for (int r = 0; r < ROUNDS; r++) {
            for (int i = 0; i < nets.size(); i++) {
                long images = 0, t0 = System.nanoTime();
                do {
                    predict(nets.get(i), inputs);
                    images += inputs.dim(0);
                } while (System.nanoTime() - t0 < budget);
                rounds[i][r] = images / ((System.nanoTime() - t0) / 1e9);
            }
        }
        for (int i = 0; i < out.length; i++) {
            Arrays.sort(rounds[i]);
            out[i] = rounds[i][ROUNDS / 2];
        }
        return out;
    }

    /** The recipe's whole test set as one batch (inputs concatenated, labels in order). */
    public static Batch wholeTestSet(Recipes.Spec spec, Recipes.Data data) {
        List<Tensor> xs = new ArrayList<>();
        List<int[]> ys = new ArrayList<>();
        int n = 0;
        for (Batch b : Recipes.testLoader(spec, data)) {
            xs.add(b.inputs());
            ys.add(b.labels());
            n += b.labels().length;
        }
        int[] labels = new int[n];
        int at = 0;
        for (int[] y : ys) {
            System.arraycopy(y, 0, labels, at, y.length);
            at += y.length;
        }
        return new Batch(Tensor.concat(0, xs.toArray(new Tensor[0])), labels);
    }
}
