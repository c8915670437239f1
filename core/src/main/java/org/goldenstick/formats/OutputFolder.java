package org.goldenstick.formats;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * An output model folder written atomically: everything goes into a hidden temporary folder next to the
 * target, which is renamed into place only when complete. A failure (or Ctrl-C: a shutdown hook removes the
 * temporary folder) never leaves a partial folder at the target path. Used for quantized model folders and HTML
 * reports.
 *
 * <pre>{@code
 * try (OutputFolder of = OutputFolder.create(Path.of("out"))) {
 *     Files.writeString(of.dir().resolve("index.html"), html);
 *     of.commit();                                   // without commit, close() deletes the temporary folder
 * }
 * }</pre>
 */
public final class OutputFolder implements AutoCloseable {
    private final Path target;
    private final Path tmp;
    private final Thread cleanup;
    private boolean committed;

    private OutputFolder(Path target, Path tmp) {
        this.target = target;
        this.tmp = tmp;
        this.cleanup = new Thread(() -> deleteTree(tmp), "gstick-output-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
    }

    /** Checks the target does not exist yet (before any work starts). */
    public static void requireAbsent(Path target) {
        if (Files.exists(target)) throw new IllegalArgumentException(target + ": output folder already exists; remove it or choose another --out");
    }

    public static OutputFolder create(Path target) throws IOException {
        Path abs = target.toAbsolutePath().normalize();
        requireAbsent(abs);
        Path parent = abs.getParent();
        Files.createDirectories(parent);
        return new OutputFolder(abs, Files.createTempDirectory(parent, "." + abs.getFileName() + ".tmp-"));
    }

    /** The temporary folder to write into. */
    public Path dir() {
        return tmp;
    }

    public Path target() {
        return target;
    }

    /** Renames the complete folder into place. */
    public void commit() throws IOException {
        requireAbsent(target);
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("cannot atomically move " + tmp + " to " + target, e);
        }
        committed = true;
    }

    @Override
    public void close() {
        if (!committed) deleteTree(tmp);
        try {
            Runtime.getRuntime().removeShutdownHook(cleanup);
        } catch (IllegalStateException ignored) {
            // already shutting down: the hook does the cleanup
        }
    }

    static void deleteTree(Path p) {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            s.sorted(Comparator.reverseOrder()).forEach(f -> {
                try {
                    Files.deleteIfExists(f);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            System.err.println("warning: could not remove temporary folder " + p + ": " + e.getMessage());
        }
    }
}
