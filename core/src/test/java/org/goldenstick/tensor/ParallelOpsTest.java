package org.goldenstick.tensor;

import static org.goldenstick.GradCheck.param;
import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.goldenstick.tensor.kernel.Parallel;
import org.junit.jupiter.api.Test;

/**
 * The ops split work over the pool (images, channels, planes, rows, heads, per-chunk weight-gradient partials);
 * results and gradients must not depend on the thread count beyond float summation order.
 */
class ParallelOpsTest {
    /** Output and input gradients of f under a given thread count. */
    private static List<float[]> run(int threads, Function<Tensor[], Tensor> f, long seed, int[]... shapes) {
        int was = Parallel.threads();
        Parallel.setThreads(threads);
        try {
            Tensor[] in = new Tensor[shapes.length];
            for (int i = 0; i < shapes.length; i++) in[i] = param(seed + i, shapes[i]);
            Tensor y = f.apply(in);
            float[] seedGrad = Tensor.randn(new java.util.Random(7), y.shape()).data();
            y.backward(seedGrad);
            List<float[]> r = new ArrayList<>();
            r.add(y.data());
            for (Tensor t : in) r.add(t.grad().data());
            return r;
        } finally {
            Parallel.setThreads(was);
        }
    }

    private static void same(String name, Function<Tensor[], Tensor> f, int[]... shapes) {
        List<float[]> one = run(1, f, 11, shapes), three = run(3, f, 11, shapes);
        for (int i = 0; i < one.size(); i++) {
            float[] a = one.get(i), b = three.get(i);
            for (int j = 0; j < a.length; j++) assertEquals(a[j], b[j], 1e-4f * (1 + Math.abs(a[j])), name + " tensor " + i + " at " + j);
        }
    }

    @Test
    void resultsDoNotDependOnTheThreadCount() {
        same("conv2d 3x3", t -> Functional.conv2d(t[0], t[1], t[2], Conv2dSpec.of(1, 1, 1, 1)), new int[] {13, 3, 9, 9}, new int[] {5, 3, 3, 3}, new int[] {5});
        same("conv2d stride 2 groups", t -> Functional.conv2d(t[0], t[1], null, Conv2dSpec.of(2, 1, 1, 2)), new int[] {9, 4, 8, 8}, new int[] {6, 2, 3, 3});
        same("batchNorm", t -> Functional.batchNorm(t[0], t[1], t[2], null, null, true, 0.1f, 1e-5f), new int[] {6, 5, 4, 4}, new int[] {5}, new int[] {5});
        same("maxPool2d", t -> Functional.maxPool2d(t[0], 3, 3, 2, 2, 1, 1), new int[] {4, 3, 9, 9});
        same("avgPool2d", t -> Functional.avgPool2d(t[0], 2, 2, 2, 2, 0, 0, true), new int[] {4, 3, 8, 8});
        same("rmsNorm", t -> Functional.rmsNorm(t[0], t[1], 1e-5f), new int[] {3000, 8}, new int[] {8});
        same("logSoftmax", t -> Functional.logSoftmax(t[0], -1), new int[] {600, 9});
        same("crossEntropy", t -> Functional.crossEntropy(t[0], new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1}), new int[] {20, 9});
        same("silu (chunked)", t -> Functional.silu(t[0]), new int[] {3, 70_000});
        same("same-shape add, sub, mul, div (chunked)", t -> t[0].add(t[1]).mul(t[0]).sub(t[1]).div(t[1].square().add(1f)), new int[] {3, 70_000},
                new int[] {3, 70_000});
        same("attention", t -> Functional.scaledDotProductAttention(t[0], t[1], t[2], true, 1), new int[] {2, 4, 5, 8}, new int[] {2, 2, 6, 8}, new int[] {2, 2, 6, 8});
    }
}
