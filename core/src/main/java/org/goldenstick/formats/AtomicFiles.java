package org.goldenstick.formats;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The project's one atomic writer, for single files and for whole folders. Content goes to a hidden temporary
 * next to the target ({@code .NAME.gstick-tmp-PID-N}), is forced to disk, and is renamed over the target only
 * when complete: readers see the old output or the complete new one, never a part.
 *
 * <p>Temporaries carry the id of the process that made them. A process killed with {@code kill -9} cannot clean up,
 * so every write first removes the temporaries in its folder whose process no longer exists (and puts back a
 * previous output that a killed replace had moved aside). A normal exit or Ctrl-C removes the process's own
 * temporaries through a shutdown hook. Files and folders are created without explicit permissions, so they follow
 * the process umask like other tools' output (not the 0600/0700 of {@link Files#createTempFile}).
 *
 * <pre>{@code
 * AtomicFiles.write(Path.of("out.bin"), bytes);
 * AtomicFiles.writeString(Path.of("notes.txt"), "hello");
 * AtomicFiles.writeFolder(Path.of("model-out"), AtomicFiles.Existing.FAIL, tmp -> {
 *     AtomicFiles.writeString(tmp.resolve("config.json"), json);
 * });
 * try (AtomicFiles.StagedFolder f = AtomicFiles.stageFolder(Path.of("runs/qat"), AtomicFiles.Existing.REPLACE)) {
 *     write(f.dir().resolve("a.safetensors"));
 *     f.commit();   // without commit, close() discards everything
 * }
 * }</pre>
 */
public final class AtomicFiles {
    private static final String TMP = ".gstick-tmp-";
    private static final String OLD = ".gstick-old-";
    /** {@code .NAME.gstick-tmp-PID-N} or {@code .NAME.gstick-old-PID-N}: group 1 = NAME, 2 = kind, 3 = pid. */
    private static final Pattern OURS = Pattern.compile("^\\.(.+)\\.gstick-(tmp|old)-(\\d+)-\\d+$");
    private static final long PID = ProcessHandle.current().pid();
    private static final AtomicLong SEQ = new AtomicLong();
    private static final Set<Path> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (Path p : List.copyOf(LIVE)) deleteQuietly(p);
        }, "gstick-atomic-cleanup"));
    }

    private AtomicFiles() {}

    /** What to do when the target folder exists already. */
    public enum Existing {
        /** Refuse: the caller's output must be new. */
        FAIL,
        /** Replace the whole folder atomically (the old one is removed after the new one is in place). */
        REPLACE,
        /**
         * Like {@link #REPLACE}, but the new folder starts with the old one's files (hard links, or copies), so that
         * files of earlier runs under other names stay; same-named files are replaced. Files in the staged folder must
         * be replaced through this class (a rename), never written in place, since a link shares the old file's data.
         */
        MERGE
    }

    /** Writes the content of a file through a channel. */
    @FunctionalInterface
    public interface Body {
        void writeTo(FileChannel channel) throws IOException;
    }

    /** Writes a file through a (buffered by the caller if needed) output stream. */
    @FunctionalInterface
    public interface StreamBody {
        void writeTo(OutputStream out) throws IOException;
    }

    /** Fills a folder. */
    @FunctionalInterface
    public interface FolderBody {
        void writeInto(Path dir) throws IOException;
    }

    /** Runs {@code body} against a temporary file next to {@code target}, then moves it into place atomically. */
    public static void write(Path target, Body body) throws IOException {
        Path abs = target.toAbsolutePath().normalize();
        if (Files.isDirectory(abs)) throw new FileAlreadyExistsException(abs.toString(), null, "is a folder; the output must be a file");
        Path dir = abs.getParent();
        Files.createDirectories(dir);
        removeStale(dir);
        Path tmp = newTemporary(abs, TMP);
        LIVE.add(tmp);
        boolean done = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                body.writeTo(ch);
                ch.force(true);
            }
            move(tmp, abs, true);
            done = true;
        } finally {
            if (!done) deleteQuietly(tmp);
            LIVE.remove(tmp);
        }
    }

    /** Writes {@code bytes} to {@code target} atomically. */
    public static void write(Path target, byte[] bytes) throws IOException {
        write(target, ch -> {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) ch.write(b);
        });
    }

    /** Writes {@code text} as UTF-8 to {@code target} atomically. */
    public static void writeString(Path target, String text) throws IOException {
        write(target, text.getBytes(StandardCharsets.UTF_8));
    }

    /** Writes {@code target} atomically through an output stream (not closed by the body). */
    public static void writeStream(Path target, StreamBody body) throws IOException {
        write(target, ch -> {
            OutputStream os = Channels.newOutputStream(ch);
            body.writeTo(os);
            os.flush();
        });
    }

    /** Fills a temporary folder with {@code body} and renames it into place at {@code target}. */
    public static void writeFolder(Path target, Existing existing, FolderBody body) throws IOException {
        try (StagedFolder f = stageFolder(target, existing)) {
            body.writeInto(f.dir());
            f.commit();
        }
    }

    /**
     * Checks before any work that {@code target} can become an output folder: it is absent, or (with
     * {@link Existing#REPLACE}) a folder, never a file. The message names the path and the fix.
     */
    public static void checkFolderTarget(Path target, Existing existing, String option) {
        Path abs = target.toAbsolutePath().normalize();
        if (Files.exists(abs) && !Files.isDirectory(abs)) {
            throw new IllegalArgumentException(option + " " + target + ": is a file; the output is a folder");
        }
        if (existing == Existing.FAIL && Files.exists(abs)) {
            throw new IllegalArgumentException(option + " " + target + ": output folder already exists; remove it or choose another " + option);
        }
        Path parent = abs.getParent();
        while (parent != null && !Files.exists(parent)) parent = parent.getParent();
        if (parent != null && !Files.isDirectory(parent)) throw new IllegalArgumentException(option + " " + target + ": " + parent + " is a file, not a folder");
        if (parent != null && !Files.isWritable(parent)) throw new IllegalArgumentException(option + " " + target + ": cannot write in " + parent);
    }

    /** Checks before any work that {@code target} can become an output file (absent, or a file with {@code replace}). */
    public static void checkFileTarget(Path target, boolean replace, String option, String replaceFlag) {
        Path abs = target.toAbsolutePath().normalize();
        if (Files.isDirectory(abs)) throw new IllegalArgumentException(option + " " + target + ": is a folder; the output is a file");
        if (Files.exists(abs) && !replace) {
            throw new IllegalArgumentException(option + " " + target + ": file already exists; remove it, choose another " + option
                    + (replaceFlag == null ? "" : " or pass " + replaceFlag));
        }
        Path parent = abs.getParent();
        while (parent != null && !Files.exists(parent)) parent = parent.getParent();
        if (parent != null && !Files.isDirectory(parent)) throw new IllegalArgumentException(option + " " + target + ": " + parent + " is a file, not a folder");
        if (parent != null && !Files.isWritable(parent)) throw new IllegalArgumentException(option + " " + target + ": cannot write in " + parent);
    }

    /**
     * Starts an output folder: a hidden temporary folder next to {@code target} that {@link StagedFolder#commit()}
     * renames into place. Closing without a commit deletes it.
     */
    public static StagedFolder stageFolder(Path target, Existing existing) throws IOException {
        Path abs = target.toAbsolutePath().normalize();
        Path parent = abs.getParent();
        Files.createDirectories(parent);
        removeStale(parent);
        if (Files.exists(abs) && !Files.isDirectory(abs)) throw new FileAlreadyExistsException(abs.toString(), null, "is a file; the output is a folder");
        if (Files.exists(abs) && existing == Existing.FAIL) throw new FileAlreadyExistsException(abs.toString(), null, "output folder already exists");
        Path tmp = newTemporary(abs, TMP);
        Files.createDirectory(tmp);
        LIVE.add(tmp);
        if (existing == Existing.MERGE && Files.isDirectory(abs)) {
            try (Stream<Path> s = Files.list(abs)) {
                for (Path f : s.filter(Files::isRegularFile).toList()) {
                    if (isTemporaryName(f.getFileName().toString())) continue;
                    try {
                        Files.createLink(tmp.resolve(f.getFileName()), f);
                    } catch (IOException | UnsupportedOperationException e) {
                        Files.copy(f, tmp.resolve(f.getFileName()));
                    }
                }
            }
        }
        return new StagedFolder(abs, tmp, existing);
    }

    /** An output folder being written; see {@link #stageFolder}. */
    public static final class StagedFolder implements AutoCloseable {
        private final Path target;
        private final Path tmp;
        private final Existing existing;
        private boolean committed;

        private StagedFolder(Path target, Path tmp, Existing existing) {
            this.target = target;
            this.tmp = tmp;
            this.existing = existing;
        }

        /** The temporary folder to write into. */
        public Path dir() {
            return tmp;
        }

        /** Where the folder appears on commit. */
        public Path target() {
            return target;
        }

        /** The final path of {@code p}, a path inside {@link #dir()}. */
        public Path finalPath(Path p) {
            return target.resolve(tmp.relativize(p.toAbsolutePath().normalize()));
        }

        /** Renames the complete folder into place (replacing a previous one if allowed). */
        public void commit() throws IOException {
            if (committed) throw new IllegalStateException("already committed: " + target);
            Path old = null;
            if (Files.exists(target)) {
                if (existing == Existing.FAIL) throw new FileAlreadyExistsException(target.toString(), null, "output folder appeared while writing");
                if (!Files.isDirectory(target)) throw new FileAlreadyExistsException(target.toString(), null, "is a file; the output is a folder");
                old = newTemporary(target, OLD);
                LIVE.add(old);
                move(target, old, false);
            }
            try {
                move(tmp, target, false);
            } catch (IOException e) {
                if (old != null) move(old, target, false);
                LIVE.remove(old);
                throw e;
            }
            LIVE.remove(tmp);
            committed = true;
            if (old != null) {
                deleteQuietly(old);
                LIVE.remove(old);
            }
        }

        @Override
        public void close() {
            if (!committed) {
                deleteQuietly(tmp);
                LIVE.remove(tmp);
            }
        }
    }

    /**
     * Removes this project's temporaries in {@code dir} whose process no longer runs, and puts back an output that
     * a killed replace had moved aside (its new version never arrived). Returns how many entries were removed or
     * restored. Temporaries of live processes (this one included) are left alone.
     */
    public static int removeStale(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return 0;
        List<Path> ours;
        try (Stream<Path> s = Files.list(dir)) {
            ours = s.filter(p -> OURS.matcher(p.getFileName().toString()).matches()).toList();
        } catch (NoSuchFileException e) {
            return 0;
        }
        int n = 0;
        for (Path p : ours) {
            Matcher m = OURS.matcher(p.getFileName().toString());
            if (!m.matches()) continue;
            long pid = Long.parseLong(m.group(3));
            if (pid == PID || processAlive(pid)) continue;
            Path target = dir.resolve(m.group(1));
            if (m.group(2).equals("old") && !Files.exists(target)) {
                try {
                    Files.move(p, target, StandardCopyOption.ATOMIC_MOVE);
                    n++;
                    continue;
                } catch (IOException e) {
                    // fall through: someone else restored it first
                }
            }
            deleteQuietly(p);
            n++;
        }
        return n;
    }

    /** True for an entry name this class makes (a temporary or a set-aside old output). */
    public static boolean isTemporaryName(String fileName) {
        return OURS.matcher(fileName).matches();
    }

    private static boolean processAlive(long pid) {
        Optional<ProcessHandle> h = ProcessHandle.of(pid);
        return h.isPresent() && h.get().isAlive();
    }

    private static Path newTemporary(Path target, String kind) {
        return target.resolveSibling("." + target.getFileName() + kind + PID + "-" + SEQ.incrementAndGet());
    }

    private static void move(Path from, Path to, boolean replace) throws IOException {
        try {
            if (replace) Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            else Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("cannot atomically rename " + from + " to " + to + " (the file system does not support atomic moves)", e);
        }
    }

    /** Deletes a file or a folder tree, best effort (a warning names what stayed). */
    public static void deleteQuietly(Path p) {
        if (p == null || !Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
        } catch (IOException | UncheckedIOException e) {
            System.err.println("warning: could not remove temporary " + p + ": " + e.getMessage());
        }
    }
}
