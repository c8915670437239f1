package org.goldenstick.tensor.kernel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The one kind of memory that weight matrices live in: plain native segments. Mapped checkpoint files are viewed as
 * native segments over the same pages ({@link #view}, zero copy), and weights built on the heap are copied into native
 * memory once ({@link #copy}), so every {@link MemorySegment} a decode kernel reads has the same implementation class.
 *
 * <p>Why: the JIT profiles the segment class at the JDK's shared access paths (the Vector API's
 * {@code fromMemorySegment}, the var handles behind {@code get}) for the whole process. Once heap, native and mapped
 * segments have all passed through them, C2 compiles every kernel with a megamorphic segment type and its loads
 * became ~1.7× slower per CPU-second (packed4 on a cache-resident matrix 15.8 → 9.1 G weights/s, on 600 MB 8.5 → 5.1;
 * docs/results.md, issue 18), in every later call of every kernel, for the rest of the process. One kind keeps those
 * sites monomorphic whatever order models, benchmarks and tests run in.
 *
 * <pre>{@code
 * MemorySegment w = WeightMemory.view(channel.map(READ_ONLY, 0, size, arena), arena); // same pages, native kind
 * MemorySegment h = WeightMemory.copy(MemorySegment.ofArray(bytes));                  // heap bytes -> native
 * assert WeightMemory.isWeightKind(w) && WeightMemory.isWeightKind(h);
 * }</pre>
 */
public final class WeightMemory {
    /** Alignment of copies: a cache line, so that a 512-bit vector load of a row start never splits one. */
    static final long ALIGNMENT = 64;

    private WeightMemory() {}

    /**
     * The bytes of {@code mapped} (a file mapping, or a slice of one) as a native segment of the same pages, valid as
     * long as {@code arena} (the arena the file was mapped in) is; read-only stays read-only. This is a restricted
     * method of the FFM API: the launcher and the tests enable native access; where it is denied
     * ({@code --illegal-native-access=deny}) this returns {@code mapped} itself (correct, but the kernels then see two kinds).
     */
    public static MemorySegment view(MemorySegment mapped, Arena arena) {
        if (!mapped.isMapped()) return mapped;
        try {
            return mapped.reinterpret(mapped.byteSize(), arena, null);
        } catch (IllegalCallerException e) {
            return mapped; // native access denied (--illegal-native-access=deny): stay correct, only slower
        }
    }

    /** A native copy of {@code src} (64-byte aligned, writable), freed when it is no longer reachable. */
    public static MemorySegment copy(MemorySegment src) {
        MemorySegment s = allocate(src.byteSize());
        s.copyFrom(src);
        return s;
    }

    /** A native copy of {@code src}'s bytes. */
    public static MemorySegment copy(byte[] src) {
        return copy(MemorySegment.ofArray(src));
    }

    /** {@code bytes} of zeroed native memory (64-byte aligned), freed when it is no longer reachable. */
    public static MemorySegment allocate(long bytes) {
        return Arena.ofAuto().allocate(Math.max(1, bytes), ALIGNMENT).asSlice(0, bytes);
    }

    /** Native memory holding {@code values} as little-endian int32 (the packed-word layout of {@link PackedIntWeights}). */
    static MemorySegment ofInts(int[] values, ValueLayout.OfInt layout) {
        MemorySegment s = allocate(4L * values.length);
        MemorySegment.copy(values, 0, s, layout, 0, values.length);
        return s;
    }

    /** Native memory holding {@code values} as little-endian float32. */
    static MemorySegment ofFloats(float[] values, ValueLayout.OfFloat layout) {
        MemorySegment s = allocate(4L * values.length);
        MemorySegment.copy(values, 0, s, layout, 0, values.length);
        return s;
    }

    /** Whether {@code s} is of the weights' kind (native, not a heap array, not a file mapping's own segment class). */
    public static boolean isWeightKind(MemorySegment s) {
        return s.isNative() && !s.isMapped();
    }

    /**
     * Whether {@code s} is of the weights' kind and read-only: a {@link #view} of a read-only file mapping (weights read
     * in place). Copies ({@link #copy}) are writable, so a loader that copied a tensor fails this check.
     */
    public static boolean isFileView(MemorySegment s) {
        return isWeightKind(s) && s.isReadOnly();
    }
}
