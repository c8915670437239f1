package org.goldenstick.ptq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class PTQConfigTest {
    @Test
    void defaultsAreValidAndDescribeTheMethod() {
        assertEquals("rtn", PTQConfig.rtn().methodName());
        assertEquals("smoothquant", PTQConfig.smoothQuant().methodName());
        assertEquals("w8a8", PTQConfig.naiveW8A8().methodName());
        assertEquals(BackendTarget.CPU, PTQConfig.rtn().backend());
        assertEquals(ActGranularity.PER_TOKEN, PTQConfig.smoothQuant().actGranularity());
        assertEquals(PTQConfig.DEFAULT_ALPHA, PTQConfig.smoothQuant().alpha());
    }

    @Test
    void ascendIsAcceptedAsAValueButRejectedWithAClearMessage() {
        var e = assertThrows(IllegalArgumentException.class, () -> PTQConfig.rtn().withBackend(BackendTarget.ASCEND));
        assertTrue(e.getMessage().contains("CPU only"), e.getMessage());
        assertEquals(BackendTarget.ASCEND, BackendTarget.valueOf("ASCEND"));
    }

    @Test
    void invalidCombinationsFail() {
        assertThrows(IllegalArgumentException.class, () -> PTQConfig.rtn().withBackend(BackendTarget.NONE).withMode(PTQMode.DEPLOY));
        assertThrows(IllegalArgumentException.class, () -> PTQConfig.rtn().withOutliers(OutlierSuppression.SMOOTH));
        assertThrows(IllegalArgumentException.class, () -> PTQConfig.rtn().withActGranularity(ActGranularity.PER_TENSOR));
        assertThrows(IllegalArgumentException.class, () -> PTQConfig.smoothQuant(1.5));
        assertThrows(IllegalArgumentException.class, () -> PTQConfig.smoothQuant(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> PTQConfig.rtn().withSkip(List.of("(unclosed")));
        // W8A8 with 4-bit or grouped weights, bad bit widths and group sizes
        assertThrows(IllegalArgumentException.class, () -> PTQConfig.smoothQuant().withWeights(WeightScheme.of(4, 128, true)));
        assertThrows(IllegalArgumentException.class, () -> WeightScheme.of(3, 128, true));
        assertThrows(IllegalArgumentException.class, () -> WeightScheme.of(4, 100, true));
        assertThrows(IllegalArgumentException.class, () -> WeightScheme.of(4, -1, true));
        // quantize-only with no backend is fine
        assertEquals(BackendTarget.NONE, PTQConfig.rtn().withBackend(BackendTarget.NONE).backend());
    }

    @Test
    void skipListIsAnUnanchoredRegex() {
        PTQConfig c = PTQConfig.rtn();
        assertTrue(c.skips("lm_head"));
        assertFalse(c.skips("model.layers.0.self_attn.q_proj"));
        PTQConfig sq = PTQConfig.smoothQuant();
        assertTrue(sq.skips("model.layers.1.mlp.down_proj"));
        assertFalse(sq.skips("model.layers.1.mlp.up_proj"));
        PTQConfig layer0 = c.withSkip(List.of("^model\\.layers\\.0\\."));
        assertTrue(layer0.skips("model.layers.0.mlp.up_proj"));
        assertFalse(layer0.skips("model.layers.10.mlp.up_proj"));
    }
}
