package org.goldenstick.tensor.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The code-level residual sum against a reference written here from its definition in double-free float steps (dequantize
 * each code as the int8 layers do, add, ReLU, quantize by {@code round-half-even(y / scale) + zp}, saturated), vector
 * and scalar paths, signed and unsigned grids, with and without ReLU and output codes, on lengths that leave tails.
 */
@ExtendWith(KernelSettings.class)
class ResidualAddTest {
    private static float value(int code, boolean signed, float scale, int zp) {
        return (code - zp) * scale; // codes are never below qmin
    }

    private static int quantize(float y, float scale, int zp, boolean unsigned) {
        float q = (float) Math.rint(y / scale); // ties to even, as ONNX QuantizeLinear
        int lo = unsigned ? 0 : -128, hi = unsigned ? 255 : 127;
        return (int) Math.max(lo, Math.min(hi, q + zp));
    }

    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void sumsMatchTheFloatExpression(boolean vector) {
        Kernels.useVector(vector);
        Random rnd = new Random(7);
        for (int n : new int[] {1, 37, 1024, 3000}) {
            for (boolean aSigned : new boolean[] {true, false}) {
                for (boolean bSigned : new boolean[] {true, false}) {
                    for (boolean relu : new boolean[] {true, false}) {
                        float sa = 0.031f, sb = 0.047f, so = 0.05f;
                        int za = aSigned ? -7 : 120, zb = bSigned ? 3 : 131, zo = relu ? -128 : 5;
                        var ga = new ResidualAdd.Grid(aSigned, sa, za, aSigned ? -128 : 0);
                        var gb = new ResidualAdd.Grid(bSigned, sb, zb, bSigned ? -128 : 0);
                        byte[] a = new byte[n], b = new byte[n];
                        rnd.nextBytes(a);
                        rnd.nextBytes(b);
                        float[] f = new float[n];
                        for (int i = 0; i < n; i++) f[i] = (float) rnd.nextGaussian() * 3f;
                        f[0] = -0f; // −0 + a zero code value: ReLU gives +0
                        a[0] = (byte) za;
                        int from = n > 1 ? 1 : 0; // an offset start: the range is honoured
                        float[] y1 = new float[n], y2 = new float[n];
                        byte[] o1 = new byte[n], o2 = new byte[n];
                        ResidualAdd.codesPlusFloats(a, ga, f, relu, y1, from, n, ResidualAdd.Codes.beside(o1, so, zo, false));
                        ResidualAdd.codesPlusCodes(a, ga, b, gb, relu, y2, from, n, ResidualAdd.Codes.beside(o2, so, zo, false));
                        for (int i = from; i < n; i++) {
                            int ca = aSigned ? a[i] : a[i] & 0xFF, cb = bSigned ? b[i] : b[i] & 0xFF;
                            float s1 = value(ca, aSigned, sa, za) + f[i], s2 = value(ca, aSigned, sa, za) + value(cb, bSigned, sb, zb);
                            float e1 = relu ? (s1 > 0f ? s1 : 0f) : s1, e2 = relu ? (s2 > 0f ? s2 : 0f) : s2;
                            String at = "n=" + n + " i=" + i + " signed=" + aSigned + "/" + bSigned + " relu=" + relu;
                            assertEquals(Float.floatToRawIntBits(e1), Float.floatToRawIntBits(y1[i]), at + ": codes + floats");
                            assertEquals(Float.floatToRawIntBits(e2), Float.floatToRawIntBits(y2[i]), at + ": codes + codes");
                            assertEquals(quantize(e1, so, zo, false), o1[i], at + ": output code");
                            assertEquals(quantize(e2, so, zo, false), o2[i], at + ": output code");
                        }
                        if (from == 1) assertEquals(0f, y1[0], "before the range: untouched");
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void unsignedOutputCodesAndNoCodes(boolean vector) {
        Kernels.useVector(vector);
        Random rnd = new Random(8);
        int n = 517;
        var ga = new ResidualAdd.Grid(false, 0.02f, 128, 0);
        byte[] a = new byte[n];
        rnd.nextBytes(a);
        float[] f = new float[n], y = new float[n], yNoCodes = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) rnd.nextGaussian();
        byte[] out = new byte[n];
        ResidualAdd.codesPlusFloats(a, ga, f, true, y, 0, n, ResidualAdd.Codes.beside(out, 0.01f, 0, true));
        ResidualAdd.codesPlusFloats(a, ga, f, true, yNoCodes, 0, n, null);
        for (int i = 0; i < n; i++) {
            float e = Math.max(((a[i] & 0xFF) - 128) * 0.02f + f[i], 0f);
            assertEquals(e, y[i]);
            assertEquals(e, yNoCodes[i]);
            assertEquals(quantize(e, 0.01f, 0, true), out[i] & 0xFF, "i=" + i);
        }
    }

    @ParameterizedTest(name = "vector={0}")
    @ValueSource(booleans = {true, false})
    void onGridCodesReplaceTheSumByTheirValues(boolean vector) {
        Kernels.useVector(vector);
        Random rnd = new Random(9);
        int n = 1500;
        var ga = new ResidualAdd.Grid(true, 0.03f, 4, -128);
        var gb = new ResidualAdd.Grid(false, 0.02f, 100, 0);
        byte[] a = new byte[n], b = new byte[n], out = new byte[n];
        rnd.nextBytes(a);
        rnd.nextBytes(b);
        float[] y = new float[n];
        float s = 0.04f;
        int zp = -20, lo = zp, hi = 90; // ReLU6-like clamp on the grid
        ResidualAdd.codesPlusCodes(a, ga, b, gb, false, y, 0, n, ResidualAdd.Codes.onGrid(out, s, zp, false, lo, hi, -128));
        byte[] codesOnly = new byte[n], codesOnlyF = new byte[n], outF = new byte[n];
        ResidualAdd.codesPlusCodes(a, ga, b, gb, false, null, 0, n, ResidualAdd.Codes.onGrid(codesOnly, s, zp, false, lo, hi, -128));
        assertArrayEquals(out, codesOnly, "codes only (no float output): the same codes");
        float[] f = new float[n], yF = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) rnd.nextGaussian();
        ResidualAdd.codesPlusFloats(a, ga, f, true, yF, 0, n, ResidualAdd.Codes.onGrid(outF, s, zp, false, lo, hi, -128));
        ResidualAdd.codesPlusFloats(a, ga, f, true, null, 0, n, ResidualAdd.Codes.onGrid(codesOnlyF, s, zp, false, lo, hi, -128));
        assertArrayEquals(outF, codesOnlyF, "codes only, float operand");
        assertThrows(IllegalArgumentException.class, () -> ResidualAdd.codesPlusFloats(a, ga, f, true, null, 0, n, null));
        for (int i = 0; i < n; i++) {
            int qf = Math.max(lo, Math.min(hi, quantize(Math.max((a[i] - 4) * 0.03f + f[i], 0f), s, zp, false)));
            assertEquals(qf, outF[i], "i=" + i + ": codes of relu(a + f)");
            assertEquals((qf - zp) * s, yF[i], "i=" + i);
            float sum = (a[i] - 4) * 0.03f + ((b[i] & 0xFF) - 100) * 0.02f;
            int q = Math.max(lo, Math.min(hi, quantize(sum, s, zp, false)));
            assertEquals(q, out[i], "i=" + i);
            assertEquals((q - zp) * s, y[i], "i=" + i + ": the code's value");
        }
    }
}
