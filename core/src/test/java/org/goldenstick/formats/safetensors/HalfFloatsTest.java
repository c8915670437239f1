package org.goldenstick.formats.safetensors;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Checks the float32 → F16/BF16 conversions against a reference written with exact double arithmetic:
 * pick the nearer representable neighbour, ties to the even bit pattern.
 */
class HalfFloatsTest {
    /** Exact value of binary16 bits, decoded from the bit fields (not via the JDK). */
    static double f16Value(int h) {
        int sign = (h >> 15) & 1, exp = (h >> 10) & 0x1F, man = h & 0x3FF;
        double mag = exp == 0 ? Math.scalb((double) man, -24) : exp == 31 ? (man == 0 ? Double.POSITIVE_INFINITY : Double.NaN) : Math.scalb((double) (1024 + man), exp - 25);
        return sign == 1 ? -mag : mag;
    }

    /** Reference F16 rounding of a finite float. */
    static int referenceF16(float f) {
        double x = Math.abs((double) f);
        int sign = Float.floatToRawIntBits(f) < 0 ? 0x8000 : 0;
        // Binary search the largest non-negative finite pattern whose value is <= x (patterns are monotone).
        int lo = 0, hi = 0x7BFF;
        if (x >= f16Value(0x7BFF)) {
            lo = 0x7BFF;
        } else {
            while (lo < hi) {
                int mid = (lo + hi + 1) >>> 1;
                if (f16Value(mid) <= x) lo = mid; else hi = mid - 1;
            }
        }
        double below = f16Value(lo);
        // The next pattern above 0x7BFF is infinity, which rounds like the value 2^16 would.
        double above = lo == 0x7BFF ? 65536.0 : f16Value(lo + 1);
        if (below == x) return sign | lo;
        double dl = x - below, du = above - x;
        int pick = dl < du ? lo : du < dl ? lo + 1 : ((lo & 1) == 0 ? lo : lo + 1);
        if (x > 65536.0) pick = 0x7C00;
        return sign | pick;
    }

    /** Reference BF16 rounding of a finite float. */
    static int referenceBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = bits & 0x80000000;
        int mag = bits & 0x7FFFFFFF;
        int lo = mag & 0xFFFF0000, hi = lo + 0x10000;
        double x = Float.intBitsToFloat(mag);
        double below = Float.intBitsToFloat(lo);
        double above = hi == 0x7F800000 ? Math.scalb(1.0, 128) : Float.intBitsToFloat(hi);
        double dl = x - below, du = above - x;
        int pick = dl < du ? lo : du < dl ? hi : (((lo >>> 16) & 1) == 0 ? lo : hi);
        return ((sign | pick) >>> 16) & 0xFFFF;
    }

    @Test
    void f16MatchesReferenceOnMidpointsNeighboursAndRandomFloats() {
        int checked = 0;
        for (int h = 0; h < 0x7BFF; h++) {
            double mid = (f16Value(h) + f16Value(h + 1)) / 2;
            float m = (float) mid; // exact: halves' midpoints need at most 12 significant bits
            for (float x : new float[] {m, Math.nextUp(m), Math.nextDown(m), (float) f16Value(h), -m, -Math.nextUp(m)}) {
                assertEquals(referenceF16(x), HalfFloats.toF16(x) & 0xFFFF, () -> "f16 of " + x + " (bits " + Integer.toHexString(Float.floatToRawIntBits(x)) + ")");
                checked++;
            }
        }
        Random rng = new Random(7);
        for (int i = 0; i < 200_000; i++) {
            float x = Float.intBitsToFloat(rng.nextInt());
            if (Float.isNaN(x) || Float.isInfinite(x)) continue;
            assertEquals(referenceF16(x), HalfFloats.toF16(x) & 0xFFFF, () -> "f16 of " + x);
            checked++;
        }
        for (float x : new float[] {65504f, 65519.99f, 65520f, 1e9f, 0x1p-25f, Math.nextUp(0x1p-25f), 0x1p-24f, 0x1.8p-24f, Float.MIN_VALUE, -0f}) {
            assertEquals(referenceF16(x), HalfFloats.toF16(x) & 0xFFFF, () -> "f16 edge " + x);
        }
        assertTrue(checked > 300_000);
        assertTrue(Float.isNaN(HalfFloats.f16ToFloat(HalfFloats.toF16(Float.NaN))));
        assertEquals(Float.POSITIVE_INFINITY, HalfFloats.f16ToFloat(HalfFloats.toF16(Float.POSITIVE_INFINITY)));
    }

    @Test
    void f16DecodingMatchesBitFields() {
        for (int h = 0; h < 0x10000; h++) {
            double ref = f16Value(h);
            float got = HalfFloats.f16ToFloat((short) h);
            if (Double.isNaN(ref)) assertTrue(Float.isNaN(got)); else assertEquals(ref, got, 0.0, "pattern " + h);
        }
    }

    @Test
    void bf16MatchesReferenceOnTiesNeighboursAndRandomFloats() {
        Random rng = new Random(8);
        int checked = 0;
        for (int i = 0; i < 300_000; i++) {
            int bits = rng.nextInt();
            // Every third sample is forced onto an exact tie (lower half 0x8000), where rounding direction matters.
            if (i % 3 == 0) bits = (bits & 0xFFFF0000) | 0x8000;
            float x = Float.intBitsToFloat(bits);
            if (Float.isNaN(x) || Float.isInfinite(x)) continue;
            assertEquals(referenceBf16(x), HalfFloats.toBf16(x) & 0xFFFF, () -> "bf16 of " + x + " bits " + Integer.toHexString(Float.floatToRawIntBits(x)));
            checked++;
        }
        assertTrue(checked > 250_000);
        assertEquals(0x3F80, HalfFloats.toBf16(Float.intBitsToFloat(0x3F808000)) & 0xFFFF, "tie to even (down)");
        assertEquals(0x3F82, HalfFloats.toBf16(Float.intBitsToFloat(0x3F818000)) & 0xFFFF, "tie to even (up)");
        assertEquals(0x7F80, HalfFloats.toBf16(Float.MAX_VALUE) & 0xFFFF, "overflow to infinity");
        assertTrue(Float.isNaN(HalfFloats.bf16ToFloat(HalfFloats.toBf16(Float.intBitsToFloat(0x7F800001)))), "signalling NaN stays NaN");
        assertEquals(0xFF80, HalfFloats.toBf16(Float.NEGATIVE_INFINITY) & 0xFFFF);
    }
}
