package org.goldenstick.data;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Reads Jane Austen's six novels from the R lazy-load database {@code Rdata.rdb} of the Debian package
 * {@code r-cran-janeaustenr} (fetched to {@code data-cache/janeaustenr}).
 *
 * <p>The file is a sequence of chunks, one per R object: a 4-byte big-endian uncompressed length, then a
 * zlib stream holding R's XDR serialisation (format 2 or 3) of a character vector, one element per line
 * of the book. Each book's first line is its title, which identifies the chunk.
 *
 * <pre>{@code
 * String persuasion = AustenCorpus.text(AustenCorpus.Book.PERSUASION);
 * }</pre>
 */
public final class AustenCorpus {
    private AustenCorpus() {}

    /** The six novels, with the title line that opens each. */
    public enum Book {
        EMMA("EMMA"),
        MANSFIELD_PARK("MANSFIELD PARK"),
        NORTHANGER_ABBEY("NORTHANGER ABBEY"),
        PERSUASION("PERSUASION"),
        PRIDE_AND_PREJUDICE("PRIDE AND PREJUDICE"),
        SENSE_AND_SENSIBILITY("SENSE AND SENSIBILITY");

        private final String title;

        Book(String title) {
            this.title = title;
        }

        /** The title as the first line of the text spells it (ignoring case). */
        public String title() {
            return title;
        }
    }

    private static final int STRSXP = 16;
    private static final int CHARSXP = 9;
    private static final int MAX_CHUNK = 64 << 20;

    /** The fetched database file. */
    public static Path defaultFile() {
        return DataPaths.cached("janeaustenr", "janeaustenr/Rdata.rdb");
    }

    /** The lines of {@code book} from the fetched database. */
    public static List<String> lines(Book book) {
        return readAll(defaultFile()).get(book);
    }

    /** The text of {@code book}: its lines joined with newlines (blank lines separate paragraphs). */
    public static String text(Book book) {
        return String.join("\n", lines(book));
    }

    /** Every book in {@code rdb}; all six must be present. */
    public static Map<Book, List<String>> readAll(Path rdb) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(rdb);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new DataFileException(rdb, "missing", e);
        } catch (IOException e) {
            throw new DataFileException(rdb, "cannot read: " + e, e);
        }
        Map<Book, List<String>> books = new EnumMap<>(Book.class);
        int off = 0;
        int chunk = 0;
        while (off < bytes.length) {
            String where = "chunk " + chunk + " at byte " + off;
            if (bytes.length - off < 4) throw new DataFileException(rdb, where + ": truncated length field");
            int len = ByteBuffer.wrap(bytes, off, 4).getInt();
            if (len < 0 || len > MAX_CHUNK) throw new DataFileException(rdb, where + ": uncompressed length " + len + " is out of range");
            byte[] out = new byte[len];
            Inflater inf = new Inflater();
            int consumed;
            try {
                inf.setInput(bytes, off + 4, bytes.length - off - 4);
                int got = 0;
                while (got < len && !inf.finished()) {
                    int k = inf.inflate(out, got, len - got);
                    if (k == 0 && (inf.needsInput() || inf.needsDictionary())) break;
                    got += k;
                }
                if (got != len || !inf.finished()) throw new DataFileException(rdb, where + ": zlib stream gives " + got + " bytes" + (inf.finished() ? "" : " and does not end") + ", length field says " + len);
                consumed = (int) inf.getBytesRead();
            } catch (DataFormatException e) {
                throw new DataFileException(rdb, where + ": corrupt zlib stream: " + e.getMessage(), e);
            } finally {
                inf.end();
            }
            List<String> lines = parseStrings(rdb, where, out);
            Book book = identify(lines);
            if (book == null) throw new DataFileException(rdb, where + ": first line '" + (lines.isEmpty() ? "" : lines.getFirst()) + "' is not one of the six titles");
            if (books.put(book, lines) != null) throw new DataFileException(rdb, where + ": " + book + " appears twice");
            off += 4 + consumed;
            chunk++;
        }
        if (books.size() != Book.values().length) {
            List<Book> missing = new ArrayList<>(Arrays.asList(Book.values()));
            missing.removeAll(books.keySet());
            throw new DataFileException(rdb, "books missing: " + missing);
        }
        return books;
    }

    private static Book identify(List<String> lines) {
        if (lines.isEmpty()) return null;
        String first = lines.getFirst().strip().toUpperCase(Locale.ROOT);
        for (Book b : Book.values()) if (first.equals(b.title())) return b;
        return null;
    }

    /** Decodes an R XDR serialisation of a character vector. */
    static List<String> parseStrings(Path file, String where, byte[] s) {
        ByteBuffer b = ByteBuffer.wrap(s); // big-endian, as XDR is
        try {
            if (s.length < 2 || s[0] != 'X' || s[1] != '\n') throw new DataFileException(file, where + ": not an R XDR serialisation (no 'X\\n' header)");
            b.position(2);
            int version = b.getInt();
            b.getInt(); // writer R version
            b.getInt(); // minimal reader R version
            if (version == 3) {
                int n = b.getInt();
                if (n < 0 || n > 64) throw new DataFileException(file, where + ": bad native-encoding length " + n);
                b.position(b.position() + n);
            } else if (version != 2) {
                throw new DataFileException(file, where + ": unsupported serialisation version " + version);
            }
            int flags = b.getInt();
            if ((flags & 0xFF) != STRSXP) throw new DataFileException(file, where + ": object type " + (flags & 0xFF) + " is not a character vector (16)");
            int count = b.getInt();
            if (count < 0 || count > b.remaining() / 8) throw new DataFileException(file, where + ": vector length " + count + " does not fit the " + b.remaining() + " bytes left");
            List<String> lines = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                int f = b.getInt();
                if ((f & 0xFF) != CHARSXP) throw new DataFileException(file, where + ": element " + i + " has type " + (f & 0xFF) + ", not a string (9)");
                int len = b.getInt();
                if (len == -1) {
                    lines.add(""); // NA
                    continue;
                }
                if (len < 0 || len > b.remaining()) throw new DataFileException(file, where + ": element " + i + " length " + len + " runs past the end");
                lines.add(new String(s, b.position(), len, StandardCharsets.UTF_8));
                b.position(b.position() + len);
            }
            return lines;
        } catch (java.nio.BufferUnderflowException e) {
            throw new DataFileException(file, where + ": serialisation ends early", e);
        }
    }
}
