package org.goldenstick.tensor.kernel;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SpreadRowsTest {
    @Test
    void everyRowIsStoredOnceAndRowsOfAPassLieInDifferentRuns() {
        for (int ways : new int[] {2, SpreadRows.WAYS})
        for (int r0 : new int[] {0, 7, 32})
            for (int n = 1; n <= 41; n++) {
                int r1 = r0 + n, passes = SpreadRows.passes(r0, r1, ways);
                if (ways == SpreadRows.WAYS) assertEquals(passes, SpreadRows.passes(r0, r1));
                int[] seen = new int[n];
                for (int p = 0; p < passes; p++)
                    for (int k = 0; k < ways; k++) {
                        int r = SpreadRows.row(r0, r1, p, k, ways);
                        if (ways == SpreadRows.WAYS) assertEquals(r, SpreadRows.row(r0, r1, p, k));
                        assertTrue(r >= r0 && r < r1, "row " + r + " outside [" + r0 + ", " + r1 + ")");
                        if (SpreadRows.stored(r0, r1, p, k, ways)) {
                            seen[r - r0]++;
                            assertEquals(r0 + p + k * passes, r, "stored rows are not clamped");
                        }
                    }
                for (int i = 0; i < n; i++) assertEquals(1, seen[i], "row " + (r0 + i) + " of " + n + ", " + ways + " ways");
                // a full pass of 32 rows reads rows 8 (four ways) or 16 (two ways) apart, not adjacent rows
                if (n == 32) assertEquals(r0 + 32 / ways, SpreadRows.row(r0, r1, 0, 1, ways));
            }
    }
}
