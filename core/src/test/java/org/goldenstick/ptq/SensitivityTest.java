package org.goldenstick.ptq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.goldenstick.llm.LlamaModel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The sensitivity scan's units and the budgeted 4/8/float allocation. */
class SensitivityTest {
    @BeforeAll
    static void quiet() {
        System.setProperty("gstick.quiet", "true");
    }

    @Test
    void allocationSpendsTheBudgetOnTheMostSensitiveUnits() {
        WeightScheme w4 = WeightScheme.of(4, 128, true);
        // equal sizes (1024 inputs: 4.125 bpw at 4 bits, 8.125 at 8); b is ten times as sensitive as a and c
        List<Sensitivity.Unit> units = List.of(
                new Sensitivity.Unit("a", List.of("a"), 1024 * 1024, 1024, 0.01, 0.0001),
                new Sensitivity.Unit("b", List.of("b"), 1024 * 1024, 1024, 0.10, 0.0010),
                new Sensitivity.Unit("c", List.of("c"), 1024 * 1024, 1024, 0.01, 0.0001));
        Map<String, WeightScheme> all4 = Sensitivity.allocate(units, 4.125, w4);
        assertEquals(Map.of("a", w4, "b", w4, "c", w4), all4);
        // room for one unit at 8 bits: b gets it
        Map<String, WeightScheme> one8 = Sensitivity.allocate(units, (4.125 * 2 + 8.125) / 3 + 1e-9, w4);
        assertEquals(8, one8.get("b").bits());
        assertEquals(4, one8.get("a").bits());
        assertTrue(Sensitivity.bitsPerWeight(units, one8) <= (4.125 * 2 + 8.125) / 3 + 1e-9);
        // everything float at 16 bits per weight
        assertTrue(Sensitivity.allocate(units, 16, w4).isEmpty());
        var e = assertThrows(IllegalArgumentException.class, () -> Sensitivity.allocate(units, 4.0, w4));
        assertTrue(e.getMessage().contains("all-4-bit"), e.getMessage());
    }

    @Test
    void scanGroupsFusedShardsAndMeasuresMoreDamageAtFourBits() {
        LlamaModel m = LlamaFixtures.randomModel(LlamaFixtures.tinyConfig(), 4);
        List<String> targets = PtqAlgorithm.targets(m, PTQConfig.rtn());
        List<Sensitivity.Unit> units = Sensitivity.scan(m, W4OutlierModelTest.samples(2, 24, 1), targets, WeightScheme.of(4, 32, true));
        assertEquals(2 * 4, units.size()); // qkv, o, gate_up, down per layer
        assertEquals(List.of("model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.k_proj", "model.layers.0.self_attn.v_proj"), units.get(0).layers());
        assertEquals("model.layers.0.self_attn.qkv_proj", units.get(0).name());
        for (Sensitivity.Unit u : units) assertTrue(u.kld4() > u.kld8() && u.kld8() >= 0, u.toString());
        // the scan leaves the model in float
        for (String t : targets) assertFalse(m.module(t) instanceof WNA16Linear);
    }
}
