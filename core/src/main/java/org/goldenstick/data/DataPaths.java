package org.goldenstick.data;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the project's data lives: data shipped in the repository under {@code data/}, fetched data under
 * {@code data-cache/} (filled by {@code ./gstick data fetch}, i.e. {@code scripts/fetch-data.sh}).
 *
 * <p>The project root is the system property {@code gstick.root} (set by surefire and {@code ./gstick}),
 * else the nearest folder at or above the working directory that holds the {@code gstick} launcher.
 *
 * <pre>{@code
 * Path images = DataPaths.cached("fashion-mnist", "fashion-mnist/train-images-idx3-ubyte.gz");
 * }</pre>
 */
public final class DataPaths {
    private DataPaths() {}

    /** The project root. */
    public static Path root() {
        String prop = System.getProperty("gstick.root");
        if (prop != null && !prop.isBlank()) return Path.of(prop).toAbsolutePath().normalize();
        Path start = Path.of("").toAbsolutePath();
        for (Path p = start; p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("gstick"))) return p;
        }
        throw new IllegalStateException("cannot find the project root: no folder at or above " + start
                + " holds the 'gstick' launcher, and the system property gstick.root is not set");
    }

    /** {@code root/data-cache}: fetched data (not in git). */
    public static Path cacheDir() {
        return root().resolve("data-cache");
    }

    /** {@code root/data}: small data shipped in the repository. */
    public static Path shippedDir() {
        return root().resolve("data");
    }

    /**
     * The fetched file or folder {@code relative} (under {@link #cacheDir()}), which the fetch script's item
     * {@code item} provides; throws {@link MissingDataException} saying "run ./gstick data fetch" if absent.
     */
    public static Path cached(String item, String relative) {
        Path p = cacheDir().resolve(relative);
        if (!Files.exists(p)) throw new MissingDataException(p, item);
        return p;
    }

    /** A file shipped in the repository under {@code data/}. */
    public static Path shipped(String relative) {
        Path p = shippedDir().resolve(relative);
        if (!Files.exists(p)) throw new DataFileException(p, "missing from the repository checkout");
        return p;
    }
}
