package org.goldenstick.data;

import java.io.BufferedReader;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * The project's image data sets, loaded and validated.
 *
 * <pre>{@code
 * Dataset digits = Datasets.digits();              // 1797 x 1x8x8, inside the library jar
 * Dataset train = Datasets.fashionMnist(true);     // 60000 x 1x28x28, from the data cache (DataFetch.fetch("fashion-mnist"))
 * }</pre>
 */
public final class Datasets {
    private Datasets() {}

    /** Rows in the shipped scikit-learn digits file. */
    public static final int DIGITS_ROWS = 1797;

    /** Where the digits file sits among the library's resources. */
    static final String DIGITS_RESOURCE = "digits/digits.csv.gz";

    /** The scikit-learn 8x8 digits (inside the library jar), pixels 0..16 scaled to [0, 1], shape 1x8x8. */
    public static Dataset digits() {
        Path name = Path.of("goldenstick-core.jar!/org/goldenstick/data/" + DIGITS_RESOURCE);
        InputStream in = Datasets.class.getResourceAsStream(DIGITS_RESOURCE);
        if (in == null) throw new DataFileException(name, "missing from the library's resources");
        Dataset ds = digits(in, name);
        if (ds.size() != DIGITS_ROWS) throw new DataFileException(name, "count mismatch: " + ds.size() + " rows, expected " + DIGITS_ROWS);
        return ds;
    }

    /**
     * Reads a digits-format gzip CSV: no header, each row 64 integer pixels in 0..16 then a label in 0..9.
     * Bad rows fail with the file and line number.
     */
    public static Dataset digits(Path file) {
        InputStream in;
        try {
            in = Files.newInputStream(file);
        } catch (NoSuchFileException e) {
            throw new DataFileException(file, "missing", e);
        } catch (IOException e) {
            throw new DataFileException(file, "cannot read: " + e, e);
        }
        return digits(in, file);
    }

    /** {@link #digits(Path)} from a stream (closed here); {@code file} names it in errors. */
    private static Dataset digits(InputStream stream, Path file) {
        var pixels = new java.io.ByteArrayOutputStream();
        var labels = new java.util.ArrayList<Integer>();
        int lineNo = 0;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(new GZIPInputStream(stream), StandardCharsets.US_ASCII))) {
            for (String line; (line = r.readLine()) != null; ) {
                lineNo++;
                String[] f = line.split(",", -1);
                if (f.length != 65) throw new DataFileException(file, "line " + lineNo + ": " + f.length + " fields, expected 65 (64 pixels and a label)");
                for (int i = 0; i < 65; i++) {
                    int v = parseInt(file, lineNo, i, f[i]);
                    int max = i < 64 ? 16 : 9;
                    if (v < 0 || v > max) throw new DataFileException(file, "line " + lineNo + ", field " + (i + 1) + ": " + v + " is outside [0, " + max + "]");
                    if (i < 64) pixels.write(v); else labels.add(v);
                }
            }
        } catch (ZipException | EOFException e) {
            throw new DataFileException(file, "corrupt or truncated gzip stream after line " + lineNo + ": " + e.getMessage(), e);
        } catch (NoSuchFileException e) {
            throw new DataFileException(file, "missing", e);
        } catch (IOException e) {
            throw new DataFileException(file, "cannot read: " + e, e);
        }
        if (labels.isEmpty()) throw new DataFileException(file, "no rows");
        int[] y = labels.stream().mapToInt(Integer::intValue).toArray();
        return new PixelDataset(pixels.toByteArray(), y, new int[] {1, 8, 8}, 10, 1f / 16);
    }

    private static int parseInt(Path file, int lineNo, int field, String s) {
        String t = s.strip();
        // The scikit-learn file is integral but may spell values as "3.0".
        if (t.endsWith(".0")) t = t.substring(0, t.length() - 2);
        try {
            return Integer.parseInt(t);
        } catch (NumberFormatException e) {
            throw new DataFileException(file, "line " + lineNo + ", field " + (field + 1) + ": '" + s + "' is not an integer");
        }
    }

    /** Fashion-MNIST from the data cache folder's {@code fashion-mnist/} ({@link DataFetch#fetch DataFetch.fetch("fashion-mnist")}; train: 60000, test: 10000), pixels scaled to [0, 1], shape 1x28x28. */
    public static Dataset fashionMnist(boolean train) {
        String prefix = train ? "train" : "t10k";
        Path images = DataPaths.cached("fashion-mnist", "fashion-mnist/" + prefix + "-images-idx3-ubyte.gz");
        Path labels = DataPaths.cached("fashion-mnist", "fashion-mnist/" + prefix + "-labels-idx1-ubyte.gz");
        return idxImages(images, labels, 10);
    }

    /** An IDX image file ({@code [N, H, W]} unsigned bytes) with its IDX label file ({@code [N]}), shape 1xHxW, scaled to [0, 1]. */
    public static Dataset idxImages(Path imagesFile, Path labelsFile, int numClasses) {
        Idx.Array images = Idx.read(imagesFile, 3);
        Idx.Array labels = Idx.read(labelsFile, 1);
        int n = images.dims()[0];
        if (labels.dims()[0] != n) {
            throw new DataFileException(labelsFile, "count mismatch: " + labels.dims()[0] + " labels but " + imagesFile.getFileName() + " has " + n + " images");
        }
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = labels.data()[i] & 0xFF;
            if (y[i] >= numClasses) throw new DataFileException(labelsFile, "label " + y[i] + " of item " + i + " is outside [0, " + numClasses + ")");
        }
        return new PixelDataset(images.data(), y, new int[] {1, images.dims()[1], images.dims()[2]}, numClasses, 1f / 255);
    }
}
