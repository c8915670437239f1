package org.goldenstick.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Random;
import org.goldenstick.tensor.kernel.Kernels;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.extension.ExtendWith;
import org.goldenstick.tensor.kernel.KernelSettings;

/** The code passes of the deploy layers (code tables, dequantization) against plain per-element loops, both paths. */
@ExtendWith(KernelSettings.class)
class Int8OpsCodesTest {

    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void mapCodesLooksUpEveryByteInTheTable(boolean vector) {
        Kernels.useVector(vector);
        Random rng = new Random(11);
        byte[] table = new byte[256];
        rng.nextBytes(table);
        for (int n : new int[] {1, 63, 64, 200, 1000}) {
            byte[] src = new byte[n + 5], dst = new byte[n + 5], want = new byte[n + 5];
            rng.nextBytes(src);
            for (int i = 3; i < n + 3; i++) want[i] = table[src[i] & 0xFF]; // every byte value, signed and unsigned halves
            Int8Ops.mapCodes(src, table, dst, 3, n + 3);
            assertArrayEquals(want, dst, "n=" + n);
        }
    }

    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void dequantizeEqualsTheGridsTable(boolean vector) {
        Kernels.useVector(vector);
        Random rng = new Random(12);
        QuantParams u8 = QuantMath.calQuantizationParams(new float[] {-1.3f}, new float[] {4.1f}, 8, false, false, false, -1);
        QuantParams s8 = QuantMath.calQuantizationParams(new float[] {-2.5f}, new float[] {1.7f}, 8, true, false, false, -1);
        QuantParams narrow = QuantMath.calQuantizationParams(new float[] {-3f}, new float[] {3f}, 8, true, true, true, -1);
        for (QuantParams p : new QuantParams[] {u8, s8, narrow}) {
            float[] lut = Int8Ops.dequantTable(p);
            for (int n : new int[] {5, 16, 77, 256}) {
                byte[] q = new byte[n + 2];
                rng.nextBytes(q);
                float[] got = new float[n + 2], want = new float[n + 2];
                for (int i = 2; i < n + 2; i++) want[i] = lut[q[i] & 0xFF];
                Int8Ops.dequantize(q, p, got, 2, n + 2);
                assertArrayEquals(want, got, p + " n=" + n);
            }
        }
    }
}
