package org.goldenstick.ptq;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.goldenstick.llm.LlamaConfig;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.rewrite.ApplyOptions;
import org.goldenstick.rewrite.CompAlgo;
import org.junit.jupiter.api.Test;

/** The PTQ algorithms are {@link CompAlgo}s: the generic {@code apply(network, options)} is the typed call. */
class PtqAlgorithmTest {
    @Test
    void applyOptionsCarryTheHelperAndTheSamples() {
        LlamaConfig c = LlamaConfig.of(32, 64, 1, 4, 2, 50, 32);
        Random rng = new Random(7);
        List<int[]> samples = new ArrayList<>();
        for (int i = 0; i < 2; i++) samples.add(rng.ints(16, 0, c.vocabSize()).toArray());

        LlamaModel a = new LlamaModel(c, new Random(1));
        CompAlgo generic = PtqAlgorithm.of(PTQConfig.smoothQuant());
        generic.apply(a, ApplyOptions.of(Map.of(PtqAlgorithm.HELPER, new LlamaHelper(a, 16, null), PtqAlgorithm.CALIBRATION, samples)));
        generic.convert(a);

        LlamaModel b = new LlamaModel(c, new Random(1));
        SmoothQuant typed = new SmoothQuant(PTQConfig.smoothQuant());
        typed.apply(b, new LlamaHelper(b, 16, null), samples);
        typed.convert(b);

        Map<String, float[]> ga = ((SmoothQuant) generic).smoothScales();
        assertEquals(typed.smoothScales().keySet(), ga.keySet());
        assertTrue(!ga.isEmpty());
        for (String k : ga.keySet()) assertArrayEquals(typed.smoothScales().get(k), ga.get(k), k);
        int[] ids = samples.getFirst();
        assertArrayEquals(b.logits(ids, 1, ids.length).data(), a.logits(ids, 1, ids.length).data(), "same network either way");

        var e = assertThrows(IllegalArgumentException.class, () -> PtqAlgorithm.of(PTQConfig.smoothQuant())
                .apply(new LlamaModel(c, new Random(1)), ApplyOptions.of(Map.of(PtqAlgorithm.CALIBRATION, List.of(new int[] {1}, "text")))));
        assertTrue(e.getMessage().contains("'calibration'[1]") && e.getMessage().contains("String"), e.getMessage());
    }

    @Test
    void deployTagsNameTheMethodAndWidths() {
        assertEquals("rtn-w8a16", PtqAlgorithm.of(PTQConfig.rtn()).deployTag());
        assertEquals("rtn-w4a16", PtqAlgorithm.of(PTQConfig.rtn(WeightScheme.of(4, 128, true))).deployTag());
        assertEquals("smoothquant-w8a8", PtqAlgorithm.of(PTQConfig.smoothQuant()).deployTag());
        assertEquals("awq-gptq-w4a16", new CalibratedWeightOnly(PTQConfig.rtn(WeightScheme.of(4, 128, true)),
                WeightMethod.Awq.defaults(WeightMethod.Gptq.defaults())).deployTag());
        var e = assertThrows(IllegalArgumentException.class, () -> new CalibratedWeightOnly(PTQConfig.rtn(), new WeightMethod.Rtn()));
        assertTrue(e.getMessage().contains("RoundToNearest"), e.getMessage());
    }
}
