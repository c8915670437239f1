package org.goldenstick.formats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pages of a read-only mapping leave the resident set when released, and the bytes read back unchanged. */
class MappedPagesTest {
    @TempDir
    Path tmp;

    private static long rssKb() throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/self/status"))) if (l.startsWith("VmRSS:")) return Long.parseLong(l.replaceAll("[^0-9]", ""));
        return -1;
    }

    @Test
    void releasedPagesLeaveTheResidentSetAndReadBackTheSame() throws IOException {
        assumeTrue(MappedPages.supported() && Files.isReadable(Path.of("/proc/self/status")), "Linux only");
        int mb = 128;
        Path f = tmp.resolve("data.bin");
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
            byte[] chunk = new byte[1 << 20];
            for (int i = 0; i < mb; i++) {
                java.util.Arrays.fill(chunk, (byte) i);
                r.write(chunk);
            }
        }
        try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            MemorySegment m = ch.map(FileChannel.MapMode.READ_ONLY, 0, (long) mb << 20, arena);
            long before = rssKb(), sum = 0;
            for (long off = 0; off < m.byteSize(); off += 4096) sum += m.get(ValueLayout.JAVA_BYTE, off);
            long touched = rssKb();
            assertTrue(touched - before > mb * 1024L * 3 / 4, "touching the mapping made it resident: " + before + " -> " + touched + " kB");
            MappedPages.release(m);
            long released = rssKb();
            assertTrue(touched - released > mb * 1024L * 3 / 4, "released pages left the resident set: " + touched + " -> " + released + " kB");
            long again = 0;
            for (long off = 0; off < m.byteSize(); off += 4096) again += m.get(ValueLayout.JAVA_BYTE, off);
            assertEquals(sum, again, "the bytes read back from the file after release");
        }
    }
}
