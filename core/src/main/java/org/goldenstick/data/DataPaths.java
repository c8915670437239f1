package org.goldenstick.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Where the project's data lives. Small data (the digits set) is inside the library jar; fetched data lives in the
 * <b>data cache folder</b>, chosen in this order:
 * <ol>
 *   <li>the system property {@code gstick.data.cache};</li>
 *   <li>the environment variable {@code GSTICK_DATA_CACHE} (the fetch script honours the same variable);</li>
 *   <li>{@code data-cache/} of the project checkout, when running inside one (see {@link #findRoot()});</li>
 *   <li>the user cache folder: {@code $XDG_CACHE_HOME/goldenstick}, else {@code ~/.cache/goldenstick}.</li>
 * </ol>
 * {@link DataFetch#fetch} fills it ({@code ./gstick data fetch} does the same inside a checkout).
 *
 * <p>The project root (a checkout) is the system property {@code gstick.root} (set by surefire and {@code ./gstick}),
 * else the nearest folder at or above the working directory that holds the {@code gstick} launcher.
 *
 * <pre>{@code
 * Path images = DataPaths.cached("fashion-mnist", "fashion-mnist/train-images-idx3-ubyte.gz");
 * }</pre>
 */
public final class DataPaths {
    private DataPaths() {}

    /** System property naming the data cache folder (wins over everything else). */
    public static final String CACHE_PROPERTY = "gstick.data.cache";
    /** Environment variable naming the data cache folder (also read by {@code scripts/fetch-data.sh}). */
    public static final String CACHE_ENV = "GSTICK_DATA_CACHE";

    /** The project root (a checkout); throws if there is none, for code that needs checkout files. */
    public static Path root() {
        return findRoot().orElseThrow(() -> new IllegalStateException("cannot find the project root: no folder at or above "
                + Path.of("").toAbsolutePath() + " holds the 'gstick' launcher, and the system property gstick.root is not set"));
    }

    /** The project checkout this code runs in, if any. */
    public static Optional<Path> findRoot() {
        String prop = System.getProperty("gstick.root");
        if (prop != null && !prop.isBlank()) return Optional.of(Path.of(prop).toAbsolutePath().normalize());
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("gstick"))) return Optional.of(p);
        }
        return Optional.empty();
    }

    /** The data cache folder (see the class comment for the order); it need not exist yet. */
    public static Path cacheDir() {
        String prop = System.getProperty(CACHE_PROPERTY);
        if (prop != null && !prop.isBlank()) return Path.of(prop).toAbsolutePath().normalize();
        String env = System.getenv(CACHE_ENV);
        if (env != null && !env.isBlank()) return Path.of(env).toAbsolutePath().normalize();
        Optional<Path> root = findRoot();
        if (root.isPresent()) return root.get().resolve("data-cache");
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("goldenstick").toAbsolutePath().normalize();
    }

    /**
     * The fetched file or folder {@code relative} (under {@link #cacheDir()}), which the fetch script's item
     * {@code item} provides; throws {@link MissingDataException} saying how to fetch it if absent.
     */
    public static Path cached(String item, String relative) {
        Path p = cacheDir().resolve(relative);
        if (!Files.exists(p)) throw new MissingDataException(p, item);
        return p;
    }
}
