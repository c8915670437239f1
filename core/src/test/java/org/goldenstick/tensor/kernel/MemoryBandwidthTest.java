package org.goldenstick.tensor.kernel;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MemoryBandwidthTest {
    @Test
    void measuresAPositiveFiniteRateOnOneAndTwoThreads() {
        for (int t = 1; t <= 2; t++) {
            double gbs = MemoryBandwidth.measure(t, 16L << 20, 0.05);   // checks its own sum internally
            assertTrue(gbs > 0 && Double.isFinite(gbs), "GB/s = " + gbs);
        }
    }

    @Test
    void vectorSumMatchesScalar() {
        float[] x = new float[1000];
        double ref = 0;
        for (int i = 0; i < x.length; i++) {
            x[i] = (i % 13) - 6;
            if (i >= 3 && i < 997) ref += x[i];
        }
        assertTrue(MemoryBandwidth.sum(x, 3, 997) == (float) ref);
    }

    @Test
    void rejectsBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> MemoryBandwidth.measure(0, 1L << 30, 1));
        assertThrows(IllegalArgumentException.class, () -> MemoryBandwidth.measure(1, 100, 1));
    }
}
