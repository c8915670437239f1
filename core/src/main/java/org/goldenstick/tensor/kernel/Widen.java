package org.goldenstick.tensor.kernel;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Vectorised byte and nibble → float widening used while packing quantised operands: {@code out = (q − zero) · scale}. */
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

    /** Two columns per byte: {@link #nibbles} widens 2L columns (L bytes) per step. */
    private static final VectorSpecies<Byte> NB = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8));
    private static final VectorSpecies<Short> NS = VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16));

    /**
     * out[o + i] = (u_(c + i) − zero) · scale for i in [0, len): 4-bit codes u packed two to a byte from byte
     * {@code off} of the segment, column {@code c} in the low nibble of byte {@code c/2} when c is even (the
     * compressed-tensors pack-quantized rows: eight codes to a little-endian int32, the first in the lowest bits).
     * {@code c} is the first column's parity: 0 starts at a low nibble, 1 at a high one (scalar until the next byte).
     *
     * <p>Vector steps of 2L columns: L bytes widened to shorts, each short rebuilt as {@code lo | hi << 8} (the two
     * nibbles as two bytes in column order, a shift and two masks, no cross-lane shuffle), then the 2L bytes converted
     * to floats in two halves.
     */
    static void nibbles(MemorySegment seg, long off, int c, int len, int zero, float scale, float[] out, int o) {
        int i = 0;
        if ((c & 1) == 1 && len > 0) {
            out[o] = (((seg.get(ValueLayout.JAVA_BYTE, off) >>> 4) & 0xF) - zero) * scale;
            i = 1;
            off++;
        }
        FloatVector z = FloatVector.broadcast(F, (float) zero), s = FloatVector.broadcast(F, scale);
        for (; i + 2 * L <= len; i += 2 * L, off += L) {
            ShortVector b = (ShortVector) ByteVector.fromMemorySegment(NB, seg, off, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2S, NS, 0);
            ByteVector cols = b.and((short) 0x0F).or(b.and((short) 0xF0).lanewise(VectorOperators.LSHL, 4)).reinterpretAsBytes();
            ((FloatVector) cols.convertShape(VectorOperators.B2F, F, 0)).sub(z).mul(s).intoArray(out, o + i);
            ((FloatVector) cols.convertShape(VectorOperators.B2F, F, 1)).sub(z).mul(s).intoArray(out, o + i + L);
        }
        for (; i < len; i += 2, off++) {
            int v = seg.get(ValueLayout.JAVA_BYTE, off);
            out[o + i] = ((v & 0xF) - zero) * scale;
            if (i + 1 < len) out[o + i + 1] = (((v >>> 4) & 0xF) - zero) * scale;
        }
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
