package org.goldenstick.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class LrScheduleTest {
    @Test
    void stepLrDecaysAtEpochBoundaries() {
        var s = new LrSchedule.StepLR(2, 0.1);
        int spe = 5;
        assertEquals(1.0, s.lr(1.0, 0, spe), 1e-12);
        assertEquals(1.0, s.lr(1.0, 9, spe), 1e-12);     // epoch 1
        assertEquals(0.1, s.lr(1.0, 10, spe), 1e-12);    // epoch 2
        assertEquals(0.01, s.lr(1.0, 20, spe), 1e-12);   // epoch 4
    }

    @Test
    void cosineFollowsHalfCosine() {
        var s = new LrSchedule.CosineAnnealing(4, 0.0);
        int spe = 10;
        assertEquals(0.5, s.lr(0.5, 0, spe), 1e-12);
        assertEquals(0.25, s.lr(0.5, 20, spe), 1e-12);   // half way: cos(π/2) = 0
        assertEquals(0.5 * (1 + Math.cos(Math.PI * 0.25)) / 2, s.lr(0.5, 10, spe), 1e-12);
        assertEquals(0.0, s.lr(0.5, 40, spe), 1e-12);
        assertEquals(0.0, s.lr(0.5, 55, spe), 1e-12);    // stays at the minimum afterwards
        assertEquals(0.01, new LrSchedule.CosineAnnealing(4, 0.01).lr(0.5, 40, spe), 1e-12);
    }

    @Test
    void warmupRampsLinearlyThenHandsOver() {
        var s = new LrSchedule.Warmup(1, 0.1, new LrSchedule.StepLR(1, 0.5));
        int spe = 4;
        assertEquals(0.1, s.lr(1.0, 0, spe), 1e-12);
        assertEquals(0.1 + 0.9 * 2 / 4.0, s.lr(1.0, 2, spe), 1e-12);
        assertEquals(1.0, s.lr(1.0, 4, spe), 1e-12);     // inner schedule restarts at its step 0
        assertEquals(0.5, s.lr(1.0, 8, spe), 1e-12);
    }

    @Test
    void customAndConstant() {
        assertEquals(0.3, LrSchedule.constant().lr(0.3, 1000, 7), 0);
        var s = new LrSchedule.Custom((base, step, spe) -> base / (1 + step));
        assertEquals(0.25, s.lr(1.0, 3, 1), 1e-12);
    }

    @Test
    void badArgumentsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule.StepLR(0, 0.1));
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule.CosineAnnealing(0, 0));
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule.Warmup(1, 2, LrSchedule.constant()));
    }
}
