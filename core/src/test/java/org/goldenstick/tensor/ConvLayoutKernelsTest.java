package org.goldenstick.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.goldenstick.tensor.kernel.KernelSettings;
import org.goldenstick.tensor.kernel.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The layout kernels around the wide convolution, {@link VectorKernels#copyRows} and {@link VectorKernels#gather},
 * against index-by-index loops, on both paths, for sizes around the vector length.
 */
@ExtendWith(KernelSettings.class)
class ConvLayoutKernelsTest {
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

    @Test
    void gatherReadsEachIndexIntoItsSlot() {
        for (boolean vector : new boolean[] {true, false}) {
            Kernels.useVector(vector);
            Random r = new Random(6);
            for (int count = 1; count <= 70; count++) {
                int plane = 1 + r.nextInt(9), sOff = r.nextInt(plane), dOff = r.nextInt(4);
                int[] index = new int[count];
                for (int i = 0; i < count; i++) index[i] = i * plane;
                float[] src = new float[sOff + count * plane];
                for (int i = 0; i < src.length; i++) src[i] = r.nextFloat() - 0.5f;
                float[] dst = new float[dOff + count + 3];
                for (int i = 0; i < dst.length; i++) dst[i] = 7f;
                VectorKernels.gather(src, sOff, index, count, dst, dOff);
                for (int i = 0; i < dst.length; i++) {
                    float expected = i >= dOff && i < dOff + count ? src[sOff + index[i - dOff]] : 7f;
                    assertEquals(expected, dst[i], "vector=" + vector + " count " + count + " at " + i);
                }
            }
        }
    }
}
