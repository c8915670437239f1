package org.goldenstick.data;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.zip.Deflater;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TextCorporaTest {
    @TempDir
    Path dir;

    @Test
    void mobyDickAndSotuMatchTheDocumentedSizes() {
        String moby = TextCorpora.mobyDick();
        assertEquals(1_204_997, moby.getBytes(StandardCharsets.UTF_8).length);
        assertTrue(moby.startsWith("CHAPTER 1. Loomings."));
        assertTrue(TextCorpora.mobyDickChapter(1).contains("Call me Ishmael"));
        List<TextCorpora.Speech> all = TextCorpora.sotuSpeeches(1790, 2021);
        assertEquals(233, all.size());
        assertEquals(1790, all.getFirst().year());
        assertEquals(2021, all.getLast().year());
        List<TextCorpora.Speech> late = TextCorpora.sotuSpeeches(1991, 2021);
        assertTrue(late.stream().allMatch(s -> s.year() >= 1991));
        assertTrue(late.size() > 25 && late.size() < 40);
        assertTrue(TextCorpora.sotu(1790, 1790).startsWith("Fellow-Citizens of the Senate"));
    }

    @Test
    void austenHasSixNovelsWithTheDocumentedLineCount() {
        Map<AustenCorpus.Book, List<String>> books = AustenCorpus.readAll(AustenCorpus.defaultFile());
        assertEquals(6, books.size());
        assertEquals(73_422, books.values().stream().mapToInt(List::size).sum(), "line count per data.md");
        String persuasion = TextCorpora.austen(AustenCorpus.Book.PERSUASION);
        assertTrue(persuasion.length() > 400_000 && persuasion.length() < 500_000, "Persuasion is about 0.47 M chars: " + persuasion.length());
        assertTrue(TextCorpora.austen(AustenCorpus.Book.PRIDE_AND_PREJUDICE).contains("It is a truth universally acknowledged"));
    }

    /** An R XDR (version 3) serialisation of a character vector, zlib-compressed with its length prefix. */
    static byte[] chunk(String... lines) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bos);
        out.writeBytes("X\n");
        out.writeInt(3);
        out.writeInt(0x40201);
        out.writeInt(0x30500);
        out.writeInt(5);
        out.writeBytes("UTF-8");
        out.writeInt(16);
        out.writeInt(lines.length);
        for (String l : lines) {
            out.writeInt(0x40009);
            if (l == null) {
                out.writeInt(-1);
            } else {
                byte[] b = l.getBytes(StandardCharsets.UTF_8);
                out.writeInt(b.length);
                out.write(b);
            }
        }
        byte[] raw = bos.toByteArray();
        Deflater d = new Deflater();
        d.setInput(raw);
        d.finish();
        byte[] buf = new byte[raw.length + 64];
        int n = d.deflate(buf);
        d.end();
        ByteArrayOutputStream c = new ByteArrayOutputStream();
        new DataOutputStream(c).writeInt(raw.length);
        c.write(buf, 0, n);
        return c.toByteArray();
    }

    @Test
    void austenReaderDecodesSyntheticDatabaseAndRejectsDamage() throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (AustenCorpus.Book b : AustenCorpus.Book.values()) all.write(chunk(b.title(), "", "Line of " + b.name() + " ünï", null));
        Path rdb = dir.resolve("Rdata.rdb");
        Files.write(rdb, all.toByteArray());
        Map<AustenCorpus.Book, List<String>> books = AustenCorpus.readAll(rdb);
        assertEquals(List.of("EMMA", "", "Line of EMMA ünï", ""), books.get(AustenCorpus.Book.EMMA));

        byte[] bytes = all.toByteArray();
        Path cut = dir.resolve("cut.rdb");
        Files.write(cut, Arrays.copyOf(bytes, bytes.length - 5));
        var e = assertThrows(DataFileException.class, () -> AustenCorpus.readAll(cut));
        assertTrue(e.getMessage().contains("cut.rdb") && e.getMessage().contains("chunk 5"), e.getMessage());

        Path five = dir.resolve("five.rdb");
        Files.write(five, Arrays.copyOf(bytes, bytes.length - chunk(AustenCorpus.Book.SENSE_AND_SENSIBILITY.title(), "", "Line of SENSE_AND_SENSIBILITY ünï", null).length));
        e = assertThrows(DataFileException.class, () -> AustenCorpus.readAll(five));
        assertTrue(e.getMessage().contains("SENSE_AND_SENSIBILITY"), e.getMessage());

        Path odd = dir.resolve("odd.rdb");
        Files.write(odd, chunk("Some other book"));
        e = assertThrows(DataFileException.class, () -> AustenCorpus.readAll(odd));
        assertTrue(e.getMessage().contains("Some other book"), e.getMessage());

        byte[] garbage = bytes.clone();
        for (int i = 10; i < 40; i++) garbage[i] ^= 0x5A;
        Path bad = dir.resolve("bad.rdb");
        Files.write(bad, garbage);
        e = assertThrows(DataFileException.class, () -> AustenCorpus.readAll(bad));
        assertTrue(e.getMessage().contains("bad.rdb") && e.getMessage().contains("chunk 0"), e.getMessage());
    }
}
