package org.goldenstick.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.goldenstick.nn.Add;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.KernelSettings;
import org.goldenstick.tensor.kernel.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link CodeAdd} reads operands that carry codes without their floats (a deferred operand whose floats would throw),
 * gives what the float ops give ({@code add}, then {@code relu}, then the consumer's quantization), leaves the
 * consumer's codes beside the sum and marks the ReLU done; without codes it is the plain add.
 */
@ExtendWith(KernelSettings.class)
class CodeAddTest {
    private static final QuantParams GA = QuantParams.perTensor(8, true, false, false, 0.043f, -9);
    private static final QuantParams GB = QuantParams.perTensor(8, false, false, false, 0.021f, 117);
    private static final QuantParams OUT = QuantParams.perTensor(8, true, false, false, 0.05f, -128);

    private static Tensor codesOnly(byte[] codes, QuantParams grid, int... shape) {
        Tensor t = Tensor.deferred(() -> { throw new AssertionError("the floats of a code operand were read"); }, shape);
        GridCodes.remember(t, codes, grid);
        return t;
    }

    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void codesPlusFloatsWithFusedRelu(boolean vector) {
        Kernels.useVector(vector);
        Random rnd = new Random(3);
        int[] shape = {2, 3, 7, 9};
        int n = 2 * 3 * 7 * 9;
        byte[] qa = new byte[n];
        rnd.nextBytes(qa);
        Tensor x = Tensor.randn(rnd, shape);
        CodeReLU relu = new CodeReLU(OUT);
        Tensor a = codesOnly(qa, GA, shape);
        Tensor sum = new CodeAdd(relu, null).add(x, a); // shortcut first: the codes operand may be either

        Tensor ref = Tensor.of(Int8Ops.dequantizeActivations(qa, GA), shape).add(x).relu();
        assertArrayEquals(ref.data(), sum.data());
        assertArrayEquals(Int8Ops.quantizeActivations(ref.data(), OUT), GridCodes.codes(sum, OUT), "the consumer's codes");
        assertSame(sum, relu.forward(sum), "the ReLU was applied in the sum's pass and passes it through");
        assertNull(GridCodes.lookup(sum), "the sum is not on the consumer's grid: only that consumer may use the codes");
    }

    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void codesPlusCodesWritesTheConsumersCodes(boolean vector) {
        Kernels.useVector(vector);
        Random rnd = new Random(4);
        int[] shape = {3, 5, 11};
        int n = 3 * 5 * 11;
        byte[] qa = new byte[n], qb = new byte[n];
        rnd.nextBytes(qa);
        rnd.nextBytes(qb);
        Tensor sum = new CodeAdd(null, OUT).add(codesOnly(qa, GA, shape), codesOnly(qb, GB, shape));
        Tensor ref = Tensor.of(Int8Ops.dequantizeActivations(qa, GA), shape).add(Tensor.of(Int8Ops.dequantizeActivations(qb, GB), shape));
        assertArrayEquals(ref.data(), sum.data());
        assertArrayEquals(Int8Ops.quantizeActivations(ref.data(), OUT), GridCodes.codes(sum, OUT));
        float[] noCodes = new CodeAdd(null, null).add(codesOnly(qa, GA, shape), codesOnly(qb, GB, shape)).data();
        assertArrayEquals(ref.data(), noCodes);
    }

    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void fusedQuantizationPointWritesItsCodesAndDefersFloatsOnDemand(boolean vector) {
        Kernels.useVector(vector);
        Random rnd = new Random(7);
        int[] shape = {2, 4, 9, 9};
        int n = 2 * 4 * 9 * 9;
        byte[] qa = new byte[n], qb = new byte[n];
        rnd.nextBytes(qa);
        rnd.nextBytes(qb);
        QuantParams grid = QuantParams.perTensor(8, false, false, false, 0.06f, 0);
        QuantDequant point = new QuantDequant(new org.goldenstick.nn.ReLU(), grid);
        Tensor sumRef = Tensor.of(Int8Ops.dequantizeActivations(qa, GA), shape).add(Tensor.of(Int8Ops.dequantizeActivations(qb, GB), shape));
        float[] ref = point.forward(sumRef).data(); // the layer on the float sum
        for (boolean onDemand : new boolean[] {false, true}) {
            point.floatsOnDemand(onDemand);
            Tensor out = new CodeAdd(point, null).add(codesOnly(qa, GA, shape), codesOnly(qb, GB, shape));
            assertSame(out, point.forward(out), "the point was applied in the sum's pass");
            assertArrayEquals(Int8Ops.quantizeActivations(ref, grid), GridCodes.lookup(out).getValue(), "codes on the point's grid");
            assertArrayEquals(ref, out.data(), "values (deferred: " + onDemand + ")");
        }
    }

    @Test
    void withoutCodesOrOnABroadcastItIsThePlainAdd() {
        Random rnd = new Random(5);
        Tensor x = Tensor.randn(rnd, 2, 4), y = Tensor.randn(rnd, 2, 4), row = Tensor.randn(rnd, 1, 4);
        CodeReLU relu = new CodeReLU(OUT);
        Tensor s = new CodeAdd(relu, null).add(x, y);
        assertArrayEquals(x.add(y).data(), s.data(), "no ReLU applied: the ReLU layer runs on its own");
        assertNull(GridCodes.codes(s, OUT));
        byte[] q = new byte[8];
        rnd.nextBytes(q);
        Tensor a = Tensor.of(Int8Ops.dequantizeActivations(q, GA), 2, 4);
        GridCodes.remember(a, q, GA);
        assertArrayEquals(a.add(row).data(), new CodeAdd(relu, null).add(a, row).data());
        assertThrows(IllegalArgumentException.class, () -> new CodeAdd(new CodeReLU(null), null));
    }

    @Test
    void addModuleRunsItsComputationOutsideTraces() {
        Add add = new Add();
        Random rnd = new Random(6);
        Tensor x = Tensor.randn(rnd, 4, 6), y = Tensor.randn(rnd, 4, 6);
        assertArrayEquals(x.add(y).data(), add.forward(x, y).data());
        byte[] q = new byte[24];
        rnd.nextBytes(q);
        add.computeWith(new CodeAdd(null, OUT));
        Tensor s = add.forward(codesOnly(q, GA, 4, 6), y);
        assertNotNull(GridCodes.codes(s, OUT));
        assertEquals("Add(int8 codes, codes for the consumer)", add.describe());
        assertThrows(UnsupportedOperationException.class, () -> add.forward(x));
    }
}
