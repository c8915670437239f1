package org.goldenstick.tensor.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * exp(x) on float lanes from basic IEEE operations only (multiply, add, fused multiply-add, compare, integer shift),
 * so that every execution mode gives the same bits.
 *
 * <p>{@code lanewise(VectorOperators.EXP)} is computed by a vector math library once C2 compiles the loop and lane by
 * lane with {@code Math.exp} before that; the two differ in the last bit, which made results depend on when the JIT
 * got to a kernel (a GPTQ run on a fresh JVM rounded a few weights differently from the same run later). Here:
 * {@code x = n·ln2 + r} with n rounded to nearest and |r| ≤ ln2/2, exp(r) by its degree-7 Taylor polynomial (error
 * below 1e-8 relative, under one float ulp), times 2ⁿ built in the exponent bits. Results are within 2 ulp of
 * {@code Math.exp} for x in [-87.33, 88.37]; below, 0 (where Math.exp would give a subnormal under 1.2e-38); above,
 * +∞; NaN stays NaN. {@link #scalar} performs the same operations on one float, bit for bit.
 *
 * <pre>{@code
 * FloatVector e = VectorExp.exp(x);   // instead of x.lanewise(VectorOperators.EXP)
 * }</pre>
 */
public final class VectorExp {
    private VectorExp() {}

    static final float LO = -87.33654f, HI = 88.37626f;
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    private static final float ROUND = 12582912f; // 1.5·2²³: adding and subtracting it rounds to the nearest integer
    private static final float[] C = {1f / 5040, 1f / 720, 1f / 120, 1f / 24, 1f / 6, 0.5f, 1f, 1f};

    public static FloatVector exp(FloatVector x) {
        VectorMask<Float> under = x.compare(VectorOperators.LT, LO), over = x.compare(VectorOperators.GT, HI);
        FloatVector xc = x.max(LO).min(HI);
        FloatVector n = xc.mul(LOG2E).add(ROUND).sub(ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(x.species(), -LN2_HI), xc);
        r = n.fma(FloatVector.broadcast(x.species(), -LN2_LO), r);
        FloatVector p = FloatVector.broadcast(x.species(), C[0]);
        for (int i = 1; i < C.length; i++) p = p.fma(r, FloatVector.broadcast(x.species(), C[i]));
        IntVector bits = ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        FloatVector result = p.mul(bits.reinterpretAsFloats());
        return result.blend(0f, under).blend(Float.POSITIVE_INFINITY, over);
    }

    /** The same operations on one value (the reference the tests compare {@link #exp} with, bit for bit). */
    public static float scalar(float x) {
        if (Float.isNaN(x)) return x;
        if (x < LO) return 0f;
        if (x > HI) return Float.POSITIVE_INFINITY;
        float n = (x * LOG2E + ROUND) - ROUND;
        float r = Math.fma(n, -LN2_HI, x);
        r = Math.fma(n, -LN2_LO, r);
        float p = C[0];
        for (int i = 1; i < C.length; i++) p = Math.fma(p, r, C[i]);
        return p * Float.intBitsToFloat(((int) n + 127) << 23);
    }
}
