package org.goldenstick.data;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reader of the IDX format of (Fashion-)MNIST, gzipped: big-endian magic {@code 0x000008DD} (unsigned
 * byte data, {@code DD} dimensions), the dimension sizes, then the bytes.
 *
 * <pre>{@code
 * Idx.Array images = Idx.read(Path.of("train-images-idx3-ubyte.gz"), 3);   // dims {60000, 28, 28}
 * }</pre>
 */
public final class Idx {
    private Idx() {}

    /** The dimensions and the unsigned bytes of an IDX file. */
    public record Array(int[] dims, byte[] data) {}

    /** Largest array accepted (guards against absurd headers). */
    static final long MAX_BYTES = 1L << 30;

    /** Reads a gzipped IDX file of unsigned bytes with {@code rank} dimensions. */
    public static Array read(Path file, int rank) {
        int expectedMagic = 0x0800 | rank;
        try (InputStream raw = Files.newInputStream(file);
             DataInputStream in = new DataInputStream(new BufferedInputStream(new GZIPInputStream(raw, 1 << 16), 1 << 16))) {
            int magic;
            try {
                magic = in.readInt();
            } catch (EOFException e) {
                throw new DataFileException(file, "truncated: no IDX header");
            }
            if (magic != expectedMagic) {
                throw new DataFileException(file, String.format("wrong magic 0x%08X, expected 0x%08X (unsigned bytes, %d dimensions)", magic, expectedMagic, rank));
            }
            int[] dims = new int[rank];
            long total = 1;
            for (int i = 0; i < rank; i++) {
                try {
                    dims[i] = in.readInt();
                } catch (EOFException e) {
                    throw new DataFileException(file, "truncated: header ends before dimension " + i);
                }
                if (dims[i] < 0) throw new DataFileException(file, "dimension " + i + " is negative (" + dims[i] + ")");
                total *= dims[i];
                if (total > MAX_BYTES) throw new DataFileException(file, "header dimensions " + Arrays.toString(Arrays.copyOf(dims, i + 1)) + " describe more than " + MAX_BYTES + " bytes");
            }
            byte[] data = new byte[(int) total];
            int got = in.readNBytes(data, 0, data.length);
            if (got < data.length) {
                long itemSize = dims[0] == 0 ? 1 : total / dims[0];
                throw new DataFileException(file, "truncated: header promises " + dims[0] + " items (" + total + " bytes) but the data ends after " + (got / itemSize) + " items (" + got + " bytes)");
            }
            if (in.read() != -1) throw new DataFileException(file, "count mismatch: bytes follow the " + dims[0] + " items the header announces");
            return new Array(dims, data);
        } catch (ZipException | EOFException e) {
            throw new DataFileException(file, "corrupt or truncated gzip stream: " + e.getMessage(), e);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new DataFileException(file, "missing", e);
        } catch (IOException e) {
            throw new DataFileException(file, "cannot read: " + e, e);
        }
    }
}
