package org.goldenstick.tensor.kernel;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Vectorised byte → float widening used while packing quantised operands: {@code out = (q − zero) · scale}. */
final class Widen {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(F.length() * 8));
    private static final int L = F.length();

    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[PackedGemm.KC]);

    private Widen() {}

    /** A per-thread buffer of {@link PackedGemm#KC} floats for one packed row. */
    static float[] scratch() {
        return SCRATCH.get();
    }

    /** dst[d + p·stride] = src[p] for p in [0, len): scatters a widened row into a packed panel. */
    static void scatter(float[] src, int len, float[] dst, int d, int stride) {
        for (int p = 0; p < len; p++, d += stride) dst[d] = src[p];
    }

    /** out[o + i] = (q[off + i] − zero) · scale for i in [0, len); q read as int8 or uint8. */
    static void row(MemorySegment seg, long off, int len, boolean unsigned, int zero, float scale, float[] out, int o) {
        int i = 0;
        FloatVector z = FloatVector.broadcast(F, (float) zero), s = FloatVector.broadcast(F, scale);
        for (; i + L <= len; i += L) {
            ByteVector bv = ByteVector.fromMemorySegment(B, seg, off + i, ByteOrder.nativeOrder());
            FloatVector f;
            if (unsigned) {
                IntVector iv = ((IntVector) bv.convertShape(VectorOperators.B2I, I, 0)).and(0xFF);
                f = (FloatVector) iv.convert(VectorOperators.I2F, 0);
            } else {
                f = (FloatVector) bv.convertShape(VectorOperators.B2F, F, 0);
            }
            f.sub(z).mul(s).intoArray(out, o + i);
        }
        int mask = unsigned ? 0xFF : -1;
        for (; i < len; i++) out[o + i] = ((seg.get(ValueLayout.JAVA_BYTE, off + i) & mask) - zero) * scale;
    }
}
