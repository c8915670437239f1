package org.goldenstick.llm.train;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Reads the six Jane Austen novels from the R lazy-load database of Debian's {@code r-cran-janeaustenr}
 * ({@code data/Rdata.rdb}): back-to-back chunks of a 4-byte big-endian length and a zlib stream, each
 * inflating to an R XDR (version 3) serialized character vector, one element per line of the novel.
 * Chunks come in alphabetical order: Emma, Mansfield Park, Northanger Abbey, Persuasion, Pride and
 * Prejudice, Sense and Sensibility.
 */
public final class AustenRdb {
    public static final List<String> TITLES = List.of("Emma", "Mansfield Park", "Northanger Abbey", "Persuasion",
            "Pride and Prejudice", "Sense and Sensibility");

    private AustenRdb() {}

    /** The novels' texts (lines joined with '\n'), in {@link #TITLES} order. */
    public static List<String> read(Path rdb) throws IOException {
        byte[] all = Files.readAllBytes(rdb);
        List<String> books = new ArrayList<>();
        int pos = 0;
        while (pos + 4 <= all.length) {
            int len = ((all[pos] & 0xFF) << 24) | ((all[pos + 1] & 0xFF) << 16) | ((all[pos + 2] & 0xFF) << 8) | (all[pos + 3] & 0xFF);
            if (len < 0 || len > 64 << 20) throw new IOException(rdb + ": chunk at offset " + pos + " claims " + len + " bytes");
            Inflater inf = new Inflater();
            inf.setInput(all, pos + 4, all.length - pos - 4);
            byte[] out = new byte[len];
            try {
                int got = 0;
                while (got < len && !inf.finished()) {
                    int n = inf.inflate(out, got, len - got);
                    if (n == 0 && (inf.needsInput() || inf.needsDictionary())) break;
                    got += n;
                }
                if (got != len) throw new IOException(rdb + ": chunk at offset " + pos + " inflated to " + got + " of " + len + " bytes");
                int consumed = (int) inf.getBytesRead();
                pos += 4 + consumed;
            } catch (DataFormatException e) {
                throw new IOException(rdb + ": bad zlib data at offset " + pos + ": " + e.getMessage(), e);
            } finally {
                inf.end();
            }
            books.add(parseCharacterVector(out, rdb));
        }
        if (books.size() != TITLES.size()) throw new IOException(rdb + ": expected " + TITLES.size() + " novels, found " + books.size());
        return books;
    }

    private static String parseCharacterVector(byte[] b, Path rdb) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(b));
        if (in.readUnsignedByte() != 'X' || in.readUnsignedByte() != '\n') throw new IOException(rdb + ": chunk is not R XDR serialization");
        int version = in.readInt();
        in.readInt();
        in.readInt();
        if (version == 3) {
            int n = in.readInt();
            in.skipBytes(n);
        }
        int flags = in.readInt();
        if ((flags & 0xFF) != 16) throw new IOException(rdb + ": expected a character vector (STRSXP), got SEXP type " + (flags & 0xFF));
        int count = in.readInt();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < count; i++) {
            in.readInt();
            int len = in.readInt();
            if (len > 0) {
                byte[] s = new byte[len];
                in.readFully(s);
                sb.append(new String(s, StandardCharsets.UTF_8));
            }
            sb.append('\n');
        }
        return sb.toString();
    }
}
