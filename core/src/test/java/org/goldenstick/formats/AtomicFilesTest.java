package org.goldenstick.formats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The one atomic writer: files, whole folders, stale temporaries of dead processes, and the umask. */
class AtomicFilesTest {
    @TempDir
    Path tmp;

    /** The id of a process that has exited (so no live process owns temporaries named after it). */
    static long deadPid() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        long pid = p.pid();
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
        return pid;
    }

    private List<String> names() throws IOException {
        try (Stream<Path> s = Files.list(tmp)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void fileAndFolderAppearWholeOrNotAtAll() throws IOException {
        Path f = tmp.resolve("a.bin");
        AtomicFiles.write(f, new byte[] {1, 2, 3});
        assertEquals(3, Files.size(f));
        assertThrows(IOException.class, () -> AtomicFiles.write(f, ch -> {
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {9}));
            throw new IOException("disk full (simulated)");
        }));
        assertEquals(3, Files.size(f), "the old file is kept");

        Path out = tmp.resolve("out");
        AtomicFiles.writeFolder(out, AtomicFiles.Existing.FAIL, d -> AtomicFiles.writeString(d.resolve("x.txt"), "one"));
        assertThrows(java.nio.file.FileAlreadyExistsException.class,
                () -> AtomicFiles.writeFolder(out, AtomicFiles.Existing.FAIL, d -> AtomicFiles.writeString(d.resolve("x.txt"), "two")));
        // a failed replace keeps the previous folder whole
        assertThrows(IOException.class, () -> AtomicFiles.writeFolder(out, AtomicFiles.Existing.REPLACE, d -> {
            AtomicFiles.writeString(d.resolve("y.txt"), "partial");
            throw new IOException("killed (simulated)");
        }));
        assertEquals(List.of("x.txt"), Files.list(out).map(p -> p.getFileName().toString()).toList());
        AtomicFiles.writeFolder(out, AtomicFiles.Existing.REPLACE, d -> AtomicFiles.writeString(d.resolve("y.txt"), "two"));
        assertEquals(List.of("y.txt"), Files.list(out).map(p -> p.getFileName().toString()).toList(), "replaced as a whole, no mix");
        assertEquals(List.of("a.bin", "out"), names(), "no temporaries left");
    }

    @Test
    void staleTemporariesOfDeadProcessesAreRemovedOnTheNextWrite() throws Exception {
        long dead = deadPid();
        long live = ProcessHandle.current().parent().orElseThrow().pid();
        Files.createDirectories(tmp.resolve(".out.gstick-tmp-" + dead + "-1").resolve("sub"));
        Files.writeString(tmp.resolve(".out.gstick-tmp-" + dead + "-1").resolve("sub/w.bin"), "partial");
        Files.writeString(tmp.resolve(".model.safetensors.gstick-tmp-" + dead + "-7"), "partial");
        Files.writeString(tmp.resolve(".other.gstick-tmp-" + live + "-3"), "a live process is still writing this");
        Files.writeString(tmp.resolve(".hidden-user-file"), "not ours");
        AtomicFiles.write(tmp.resolve("new.bin"), new byte[] {1});
        assertEquals(List.of(".hidden-user-file", ".other.gstick-tmp-" + live + "-3", "new.bin"), names());
    }

    @Test
    void aReplaceKilledBetweenTheTwoRenamesGetsTheOldOutputBack() throws Exception {
        long dead = deadPid();
        // killed after moving the previous output aside and before the new one arrived
        Path aside = tmp.resolve(".runs.gstick-old-" + dead + "-2");
        Files.createDirectories(aside);
        Files.writeString(aside.resolve("model.safetensors"), "previous run");
        assertEquals(1, AtomicFiles.removeStale(tmp));
        assertEquals("previous run", Files.readString(tmp.resolve("runs/model.safetensors")));
        assertEquals(List.of("runs"), names());
    }

    @Test
    void outputFollowsTheUmaskLikeOtherTools() throws IOException {
        if (!tmp.getFileSystem().supportedFileAttributeViews().contains("posix")) return;
        // what the process umask gives a plain new file and folder (no explicit permissions)
        Set<PosixFilePermission> fileRef = Files.getPosixFilePermissions(Files.createFile(tmp.resolve("ref-file")));
        Set<PosixFilePermission> dirRef = Files.getPosixFilePermissions(Files.createDirectory(tmp.resolve("ref-dir")));
        Path f = tmp.resolve("f.bin");
        AtomicFiles.write(f, new byte[] {1});
        assertEquals(fileRef, Files.getPosixFilePermissions(f));
        Path out = tmp.resolve("folder");
        AtomicFiles.writeFolder(out, AtomicFiles.Existing.FAIL, d -> AtomicFiles.writeString(d.resolve("c.json"), "{}"));
        assertEquals(dirRef, Files.getPosixFilePermissions(out));
        assertEquals(fileRef, Files.getPosixFilePermissions(out.resolve("c.json")));
        assertTrue(fileRef.contains(PosixFilePermission.OWNER_READ));
    }

    @Test
    void earlyTargetChecksNameTheOptionAndPath() throws IOException {
        Path file = Files.writeString(tmp.resolve("taken"), "x");
        var e = assertThrows(IllegalArgumentException.class, () -> AtomicFiles.checkFolderTarget(file, AtomicFiles.Existing.REPLACE, "--out"));
        assertTrue(e.getMessage().startsWith("--out " + file + ": is a file"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> AtomicFiles.checkFileTarget(tmp, false, "--out", "--overwrite"));
        assertTrue(e.getMessage().contains("is a folder"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> AtomicFiles.checkFileTarget(file, false, "--out", "--overwrite"));
        assertTrue(e.getMessage().contains("already exists") && e.getMessage().contains("--overwrite"), e.getMessage());
        AtomicFiles.checkFileTarget(file, true, "--out", "--overwrite");
        e = assertThrows(IllegalArgumentException.class, () -> AtomicFiles.checkFolderTarget(file.resolve("sub"), AtomicFiles.Existing.FAIL, "--out"));
        assertTrue(e.getMessage().contains("is a file, not a folder"), e.getMessage());
    }
}
