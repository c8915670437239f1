package org.goldenstick.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.Random;
import org.goldenstick.nn.MaxPool2d;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.ReLU;
import org.goldenstick.nn.ReLU6;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.KernelSettings;
import org.goldenstick.tensor.kernel.Kernels;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The code-carrying deploy layers against the float layers they stand for: pooled codes are the float max pool of the
 * dequantized values, ReLU on codes is ReLU on the values, the residual ReLU's codes are the consumer's quantization of
 * its float output, and the one-pass activation quantization equals activation, quantize, dequantize; vector and scalar.
 */
@ExtendWith(KernelSettings.class)
class CodeLayersTest {
    private static final QuantParams U8 = QuantMath.calQuantizationParams(new float[] {-1.3f}, new float[] {4.1f}, 8, false, false, false, -1);
    private static final QuantParams S8 = QuantMath.calQuantizationParams(new float[] {-2.5f}, new float[] {1.7f}, 8, true, false, false, -1);

    /** A tensor on {@code grid} with its codes remembered, as a deploy layer leaves it. */
    private static Tensor onGrid(Random rng, QuantParams grid, int... shape) {
        int n = 1;
        for (int d : shape) n *= d;
        byte[] codes = new byte[n];
        rng.nextBytes(codes);
        return GridCodes.output(Int8Ops.dequantizeActivations(codes, grid), codes, grid, null, shape);
    }

    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void maxPoolOnCodesIsTheFloatMaxPool(boolean vector) {
        Kernels.useVector(vector);
        Random rng = new Random(1);
        MaxPool2d[] pools = {new MaxPool2d(2), new MaxPool2d(3, 2, 1), new MaxPool2d(3, 2, 1, 1, 1, 0), new MaxPool2d(2, 1, 1)};
        for (QuantParams grid : new QuantParams[] {U8, S8}) {
            for (int[] shape : new int[][] {{2, 3, 9, 7}, {2, 3, 10, 8}, {3, 7, 7, 28}}) for (MaxPool2d p : pools) { // even widths: the 2×2 vector path
                Tensor x = onGrid(rng, grid, shape);
                Tensor got = CodeMaxPool2d.of(p).forward(x);
                Tensor want = p.forward(Tensor.of(x.data().clone(), x.shape())); // a copy: no codes known
                assertArrayEquals(want.shape(), got.shape(), p.describe());
                assertArrayEquals(want.data(), got.data(), grid + " " + p.describe());
                byte[] codes = GridCodes.codes(got, grid);
                assertNotNull(codes, "the pooled codes travel on");
                assertArrayEquals(Int8Ops.quantizeActivations(want.data(), grid), codes, "codes are the values' quantization");
            }
        }
    }

    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void reluOnCodesAndTheResidualReluQuantizingForItsConsumer(boolean vector) {
        Kernels.useVector(vector);
        Random rng = new Random(2);
        for (QuantParams grid : new QuantParams[] {U8, S8}) {
            Tensor x = onGrid(rng, grid, 3, 4, 5, 6);
            Tensor got = new CodeReLU(null).forward(x);
            Tensor want = new ReLU().forward(Tensor.of(x.data().clone(), x.shape()));
            assertArrayEquals(want.data(), got.data(), "ReLU on codes, " + grid);
            assertArrayEquals(Int8Ops.quantizeActivations(want.data(), grid), GridCodes.codes(got, grid), "codes keep the grid");

            Tensor f = Tensor.randn(rng, 3, 4, 5, 7); // a float sum (no codes); sizes off the vector width
            Tensor r = new CodeReLU(grid).forward(f);
            Tensor plain = new ReLU().forward(f);
            assertArrayEquals(plain.data(), r.data(), "the float output is ReLU's");
            assertArrayEquals(Int8Ops.quantizeActivations(plain.data(), grid), GridCodes.codes(r, grid), "codes for the consumer's grid");
            assertNull(GridCodes.lookup(r), "ReLU's exact floats are not on the consumer's grid: no code-level consumer may take them");
            QuantParams other = grid == U8 ? S8 : U8; // a consumer on another grid (a network whose grids were loaded after convert)
            assertArrayEquals(Int8Ops.quantizeActivations(plain.data(), other), GridCodes.codesOrQuantize(r, other), "another grid quantizes the floats");
        }
    }

    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void onePassActivationQuantizationIsActivationQuantizeDequantize(boolean vector) {
        Kernels.useVector(vector);
        Random rng = new Random(3);
        QuantParams narrow = QuantMath.calQuantizationParams(new float[] {-3f}, new float[] {3f}, 8, true, true, true, -1);
        for (QuantParams grid : new QuantParams[] {U8, S8, narrow}) {
            for (Module act : new Module[] {null, new ReLU(), new ReLU6()}) {
                float[] v = new float[1003];
                for (int i = 0; i < v.length; i++) v[i] = (float) (rng.nextGaussian() * 5);
                v[0] = 0.5f * grid.scale()[0]; // a tie
                Tensor x = Tensor.of(v, 1003);
                Tensor got = new QuantDequant(act, grid).forward(x);
                Tensor a = act == null ? x : act.forward(x);
                float[] want = Int8Ops.dequantizeActivations(Int8Ops.quantizeActivations(a.data(), grid), grid);
                assertArrayEquals(want, got.data(), grid + " " + (act == null ? "none" : act.describe()));
                assertNotSame(x.data(), got.data());
            }
        }
    }

    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void codesOnAnotherGridMapToTheConsumersQuantizationWithoutReadingFloats(boolean vector) {
        Kernels.useVector(vector);
        Random rng = new Random(4);
        for (QuantParams from : new QuantParams[] {U8, S8}) {
            for (QuantParams to : new QuantParams[] {U8, S8, QuantMath.calQuantizationParams(new float[] {0f}, new float[] {2.2f}, 8, false, false, false, -1)}) {
                byte[] codes = new byte[1037];
                rng.nextBytes(codes);
                float[] values = Int8Ops.dequantizeActivations(codes, from);
                Tensor onDemand = GridCodes.output(null, codes, from, null, 1037);
                byte[] got = GridCodes.codesOrQuantize(onDemand, to);
                assertArrayEquals(Int8Ops.quantizeActivations(values, to), got, from + " -> " + to);
                assertTrue(onDemand.valuesPending(), "the floats were not computed");
                assertArrayEquals(values, onDemand.data(), "the deferred floats are the dequantized codes");
                if (from.equals(to)) assertSame(codes, got);
            }
        }
        // a conv reading codes left on another grid gives what it gives on the floats
        QConv2d conv = QConv2d.quantize(Tensor.randn(rng, 4, 3, 3, 3), Tensor.randn(rng, 4), org.goldenstick.tensor.Conv2dSpec.of(1, 1, 1, 1),
                QuantMath.calQuantizationParams(new float[] {-1f, -1f, -1f, -1f}, new float[] {1f, 1f, 1f, 1f}, 8, true, true, true, 0), S8, U8);
        Tensor x = onGrid(rng, U8, 2, 3, 7, 9);
        assertArrayEquals(conv.forward(Tensor.of(x.data().clone(), x.shape())).data(), conv.forward(x).data());
    }
}
