package org.goldenstick.formats;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;

/**
 * Gives the pages of a read-only file mapping back to the operating system once they have been read. Touched pages of
 * a mapped file count in the process's resident set until it is unmapped; a pass over a checkpoint larger than RAM
 * (quantization, validation) calls {@link #release} on each piece it is done with, so that its resident memory stays
 * at about one piece instead of growing to the size of the file. The file's data stays in the page cache, and a
 * later read of the same bytes simply faults them in again.
 *
 * <p>On Linux this is {@code madvise(MADV_DONTNEED)} on the page-aligned range; elsewhere, or if native access is
 * denied, it does nothing (the program stays correct, only its resident memory is larger).
 *
 * <pre>{@code
 * MemorySegment rows = entry.segment().asSlice(from, length);
 * convert(rows);
 * MappedPages.release(rows);
 * }</pre>
 */
public final class MappedPages {
    private static final long PAGE = 4096;
    private static final int MADV_DONTNEED = 4;
    private static final MethodHandle MADVISE = lookup();

    private MappedPages() {}

    private static MethodHandle lookup() {
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) return null;
        try {
            Linker linker = Linker.nativeLinker();
            return linker.defaultLookup().find("madvise")
                    .map(a -> linker.downcallHandle(a, FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT)))
                    .orElse(null);
        } catch (RuntimeException | Error e) {
            return null; // native access disabled: releasing is an optimisation only
        }
    }

    /** Whether {@link #release} actually releases pages on this platform. */
    public static boolean supported() {
        return MADVISE != null;
    }

    /**
     * Drops the resident pages of {@code mapped}, a slice of a <b>read-only</b> file mapping (never of a writable or
     * anonymous one: their content would be lost). Pages shared with neighbouring bytes are dropped too; they are read
     * back from the file on the next access.
     */
    public static void release(MemorySegment mapped) {
        if (MADVISE == null || !mapped.isNative() || mapped.byteSize() == 0) return;
        long start = mapped.address() & -PAGE, end = (mapped.address() + mapped.byteSize() + PAGE - 1) & -PAGE;
        try {
            int ignored = (int) MADVISE.invokeExact(MemorySegment.ofAddress(start), end - start, MADV_DONTNEED);
        } catch (Throwable e) {
            // best effort: a failure leaves the pages resident, nothing else
        }
    }
}
