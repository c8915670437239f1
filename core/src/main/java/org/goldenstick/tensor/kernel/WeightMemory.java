package org.goldenstick.tensor.kernel;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;

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
 *
 * <p><b>Huge pages.</b> Allocations of {@value #HUGE_PAGE} bytes or more ({@link #allocate}, {@link #copy}) are
 * anonymous mappings aligned to 2 MB and advised {@code MADV_HUGEPAGE} before their first touch when Linux offers
 * transparent huge pages ({@code /sys/kernel/mm/transparent_hugepage/enabled} is {@code always} or {@code madvise};
 * see {@link #hugePagesAvailable()}), so the kernel backs them with 2 MB pages: a decode step streams every weight once,
 * and with 4 KB pages each 4 KB costs a TLB entry (W4 decode +7–11 % on one thread, docs/results.md). The mapping is
 * unmapped when the segment is no longer reachable, as an arena allocation is freed. On other systems, with THP off,
 * or on any failure the allocation falls back to an ordinary arena allocation (4 KB pages, same contents and kind).
 */
public final class WeightMemory {
    /** Alignment of copies: a cache line, so that a 512-bit vector load of a row start never splits one. */
    static final long ALIGNMENT = 64;

    /** The huge page size, and the smallest allocation that is mapped for huge pages. */
    static final long HUGE_PAGE = 2L << 20;

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

    /**
     * {@code bytes} of zeroed native memory (64-byte aligned; 2 MB aligned and on huge pages from {@value #HUGE_PAGE}
     * bytes up where the system has them), freed when it is no longer reachable.
     */
    public static MemorySegment allocate(long bytes) {
        return allocate(bytes, HugePages.MADV_HUGEPAGE);
    }

    /** {@link #allocate} with the given {@code madvise} advice for large sizes (tests pass an invalid one to make it fail). */
    static MemorySegment allocate(long bytes, int advice) {
        if (bytes >= HUGE_PAGE && HugePages.AVAILABLE) {
            MemorySegment s = HugePages.map(bytes, Arena.ofAuto(), advice);
            if (s != null) return s;
        }
        return Arena.ofAuto().allocate(Math.max(1, bytes), ALIGNMENT).asSlice(0, bytes);
    }

    /**
     * Whether {@link #allocate} puts large weights on transparent huge pages: Linux with THP {@code always} or
     * {@code madvise}, and native access to {@code mmap}/{@code madvise} granted (the launcher and tests grant it).
     */
    public static boolean hugePagesAvailable() {
        return HugePages.AVAILABLE;
    }

    /**
     * Anonymous memory for huge pages, through libc's {@code mmap}, {@code madvise} and {@code munmap}. Its segments are
     * made with {@code reinterpret}, so they are of the same class as an arena's (the kernels stay monomorphic).
     */
    static final class HugePages {
        static final int MADV_HUGEPAGE = 14;
        private static final int PROT_READ_WRITE = 0x1 | 0x2, MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;
        /** Lengths are rounded to this, a multiple of every Linux page size (4, 16, 64 KB), so the tail can be unmapped. */
        private static final long GRANULE = 64 << 10;
        private static final MethodHandle MMAP, MADVISE, MUNMAP;
        static final boolean AVAILABLE;

        static {
            MethodHandle mmap = null, madvise = null, munmap = null;
            boolean ok = false;
            try {
                if (System.getProperty("os.name", "").startsWith("Linux") && thpEnabled(Path.of("/sys/kernel/mm/transparent_hugepage/enabled"))) {
                    Linker linker = Linker.nativeLinker();
                    var libc = linker.defaultLookup();
                    mmap = linker.downcallHandle(libc.find("mmap").orElseThrow(), FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
                    madvise = linker.downcallHandle(libc.find("madvise").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
                    munmap = linker.downcallHandle(libc.find("munmap").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
                    ok = true;
                }
            } catch (RuntimeException | Error e) {
                ok = false; // no linker, no libc symbol, or native access denied: arena allocations only
            }
            MMAP = mmap;
            MADVISE = madvise;
            MUNMAP = munmap;
            AVAILABLE = ok;
        }

        private HugePages() {}

        /** Whether a THP {@code enabled} file (e.g. {@code always [madvise] never}) selects {@code always} or {@code madvise}. */
        static boolean thpEnabled(Path enabled) {
            try {
                String mode = Files.readString(enabled);
                return mode.contains("[always]") || mode.contains("[madvise]");
            } catch (IOException | RuntimeException e) {
                return false;
            }
        }

        /**
         * {@code bytes} (≥ 1) of zeroed anonymous memory at a 2 MB boundary, advised {@code advice} before anything
         * touches it and unmapped when {@code arena} is closed (or, for an automatic arena, unreachable); null if
         * {@code mmap} or {@code madvise} fails, with nothing left mapped.
         */
        static MemorySegment map(long bytes, Arena arena, int advice) {
            if (!AVAILABLE || bytes <= 0 || bytes > Long.MAX_VALUE / 2) return null;
            long len = mappedLength(bytes), total = len + HUGE_PAGE;
            try {
                MemorySegment raw = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, total, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0L);
                long p = raw.address();
                if (p == -1L || p == 0L) return null; // MAP_FAILED
                // over-map by 2 MB, then give back the head before the boundary and the tail after len
                long start = (p + HUGE_PAGE - 1) & -HUGE_PAGE, end = start + len;
                if (start > p) unmap(p, start - p);
                if (p + total > end) unmap(end, p + total - end);
                MemorySegment owned = null;
                try {
                    if ((int) MADVISE.invokeExact(MemorySegment.ofAddress(start), len, advice) == 0) {
                        owned = MemorySegment.ofAddress(start).reinterpret(len, arena, s -> unmap(start, len));
                    }
                } finally {
                    if (owned == null) unmap(start, len); // advice refused, or the arena is closed: leave nothing mapped
                }
                return owned == null ? null : owned.asSlice(0, bytes);
            } catch (Throwable t) {
                return null;
            }
        }

        /**
         * The length mapped for {@code bytes}: whole huge pages where that pads by at most an eighth (a [5632, 2048]
         * W4 matrix, 5.5 MiB, gets three 2 MB pages instead of two plus 1.5 MiB of 4 KB pages), else {@code bytes}
         * rounded to 64 KB (the part after the last whole 2 MB then stays on small pages).
         */
        static long mappedLength(long bytes) {
            long whole = (bytes + HUGE_PAGE - 1) & -HUGE_PAGE;
            return whole - bytes <= bytes / 8 ? whole : (bytes + GRANULE - 1) & -GRANULE;
        }

        /** {@code munmap}; true on success (it fails only for a range that was never mapped, a defect here). */
        private static boolean unmap(long address, long len) {
            try {
                return (int) MUNMAP.invokeExact(MemorySegment.ofAddress(address), len) == 0;
            } catch (Throwable t) {
                return false;
            }
        }
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
