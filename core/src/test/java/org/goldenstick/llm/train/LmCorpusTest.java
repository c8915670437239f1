package org.goldenstick.llm.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.goldenstick.data.DataPaths;
import org.junit.jupiter.api.Test;

class LmCorpusTest {
    static Path textDir() {
        DataPaths.cached("sotu", "sotu");
        DataPaths.cached("moby-dick", "moby-dick/data.txt");
        DataPaths.cached("janeaustenr", "janeaustenr/Rdata.rdb");
        return DataPaths.cacheDir();
    }

    @Test
    void austenDatabaseDecodesToTheSixNovels() throws Exception {
        List<String> books = AustenRdb.read(textDir().resolve("janeaustenr/Rdata.rdb"));
        assertEquals(6, books.size());
        // spec/data.md §2.2: 73,422 lines, 4,025,028 chars in total.
        assertEquals(4_025_028, books.stream().mapToInt(String::length).sum());
        assertEquals(73_422, books.stream().mapToLong(b -> b.chars().filter(c -> c == '\n').count()).sum());
        assertTrue(books.get(0).startsWith("EMMA"));
        assertTrue(books.get(4).startsWith("PRIDE AND PREJUDICE"));
        assertTrue(books.get(4).contains("It is a truth universally acknowledged"));
    }

    @Test
    void heldOutSplitIsDisjointFromTraining() {
        LmCorpus c = LmCorpus.load(textDir());
        assertTrue(c.heldout().contains("CHAPTER 121."));
        assertTrue(c.heldout().length() > 200_000 && c.heldout().length() < 600_000, "held-out size " + c.heldout().length());
        String heldoutProbe = c.heldout().substring(c.heldout().indexOf("CHAPTER 121."), c.heldout().indexOf("CHAPTER 121.") + 200);
        for (String doc : c.train()) assertFalse(doc.contains(heldoutProbe), "held-out text leaked into training");
        assertEquals(6 + 1 + 233 - (2021 - LmCorpus.HELDOUT_FIRST_YEAR + 1) - countSpeechesInHeldoutYearsBeyondOne(), c.train().size());
    }

    /** Years with two addresses (none from 2016 on in this data set, but counted rather than assumed). */
    private static int countSpeechesInHeldoutYearsBeyondOne() {
        try (var s = Files.list(textDir().resolve("sotu"))) {
            long held = s.filter(p -> p.getFileName().toString().endsWith(".txt"))
                    .filter(p -> Integer.parseInt(p.getFileName().toString().substring(0, 4)) >= LmCorpus.HELDOUT_FIRST_YEAR).count();
            return (int) held - (2021 - LmCorpus.HELDOUT_FIRST_YEAR + 1);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
