package org.goldenstick.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Map;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The same seeded recipe gives bit-identical weights when run twice in one JVM. The first run executes partly
 * interpreted and the second JIT-compiled, so this catches kernels whose rounding depends on the execution mode
 * (as {@code reduceLanes(ADD)} did) as well as any order-dependent parallel reduction.
 */
class DeterminismTest {
    @Test
    void sameSeedSameWeightsAcrossInterpretedAndCompiledRuns() {
        Recipes.Spec spec = Recipes.Spec.defaults("lenet", "digits").withEpochs(3).withSeed(3);
        Map<String, Tensor> first = Recipes.run(spec, ProgressBar.auto(true)).model().stateDict();
        for (int warm = 0; warm < 2; warm++) Recipes.run(spec, ProgressBar.auto(true));
        Map<String, Tensor> again = Recipes.run(spec, ProgressBar.auto(true)).model().stateDict();
        for (var e : first.entrySet()) {
            assertArrayEquals(e.getValue().data(), again.get(e.getKey()).data(), 0f, e.getKey() + " differs between runs");
        }
    }
}
