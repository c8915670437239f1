package org.goldenstick.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.goldenstick.tensor.kernel.KernelSettings;
import org.goldenstick.tensor.kernel.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** {@link VectorKernels#copyRows} against index-by-index loops, on both paths, for widths around the vector length. */
@ExtendWith(KernelSettings.class)
class CopyRowsTest {
    @Test
    void copiesAndAddsRowsAndLeavesEverythingElse() {
        for (boolean vector : new boolean[] {true, false}) {
            Kernels.useVector(vector);
            Random r = new Random(5);
            for (int width = 1; width <= 40; width++)
                for (boolean add : new boolean[] {false, true}) {
                    int rows = 1 + r.nextInt(4), sStride = width + r.nextInt(3), dStride = width + r.nextInt(4), sOff = r.nextInt(3), dOff = r.nextInt(5);
                    float[] src = new float[sOff + rows * sStride];
                    float[] dst = new float[dOff + rows * dStride + 2];
                    for (int i = 0; i < src.length; i++) src[i] = r.nextFloat() - 0.5f;
                    for (int i = 0; i < dst.length; i++) dst[i] = r.nextFloat() - 0.5f;
                    float[] expected = dst.clone();
                    for (int row = 0; row < rows; row++)
                        for (int i = 0; i < width; i++) {
                            int d = dOff + row * dStride + i;
                            float v = src[sOff + row * sStride + i];
                            expected[d] = add ? expected[d] + v : v;
                        }
                    VectorKernels.copyRows(src, sOff, sStride, dst, dOff, dStride, rows, width, add);
                    for (int i = 0; i < dst.length; i++)
                        assertEquals(expected[i], dst[i], "vector=" + vector + " width " + width + " add=" + add + " at " + i);
                }
        }
    }
}
