package org.goldenstick.data;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetsTest {
    @TempDir
    Path dir;

    static byte[] gzip(byte[] raw) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(bos)) {
            gz.write(raw);
        }
        return bos.toByteArray();
    }

    Path gzFile(String name, byte[] raw) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, gzip(raw));
        return p;
    }

    static byte[] idx(int magic, int[] dims, byte[] data) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bos);
        out.writeInt(magic);
        for (int d : dims) out.writeInt(d);
        out.write(data);
        return bos.toByteArray();
    }

    @Test
    void shippedDigitsHaveTheDocumentedShapeAndClassBalance() {
        Dataset ds = Datasets.digits();
        assertEquals(1797, ds.size());
        assertArrayEquals(new int[] {1, 8, 8}, ds.sampleShape());
        assertEquals(10, ds.numClasses());
        int[] counts = new int[10];
        for (int y : ds.labels()) counts[y]++;
        for (int c : counts) assertTrue(c >= 174 && c <= 183, "class counts 174..183 per data.md: " + Arrays.toString(counts));
        // First row of the file: 0,0,5,13,9,1,0,0,0,0,13,15,10,15,5,0,... label 0.
        float[] x = ds.sample(0);
        assertEquals(0, ds.label(0));
        assertEquals(5f / 16, x[2], 1e-7);
        assertEquals(13f / 16, x[3], 1e-7);
        assertEquals(15f / 16, x[11], 1e-7);
        for (int i = 0; i < ds.size(); i++) {
            for (float v : ds.sample(i)) assertTrue(v >= 0 && v <= 1);
        }
    }

    @Test
    void digitsCsvErrorsNameFileAndLine() throws IOException {
        String good = "0,".repeat(64) + "3\n";
        assertEquals(2, Datasets.digits(gzFile("ok.csv.gz", (good + good).getBytes())).size());

        String shortRow = "0,".repeat(10) + "3\n";
        var e = assertThrows(DataFileException.class, () -> Datasets.digits(gzFile("short.csv.gz", (good + good + shortRow).getBytes())));
        assertTrue(e.getMessage().contains("short.csv.gz") && e.getMessage().contains("line 3") && e.getMessage().contains("11 fields"), e.getMessage());

        String word = "0,".repeat(20) + "x," + "0,".repeat(43) + "3\n";
        e = assertThrows(DataFileException.class, () -> Datasets.digits(gzFile("word.csv.gz", (good + word).getBytes())));
        assertTrue(e.getMessage().contains("line 2, field 21") && e.getMessage().contains("'x'"), e.getMessage());

        String big = "17," + "0,".repeat(63) + "3\n";
        e = assertThrows(DataFileException.class, () -> Datasets.digits(gzFile("big.csv.gz", big.getBytes())));
        assertTrue(e.getMessage().contains("line 1, field 1") && e.getMessage().contains("17"), e.getMessage());

        String badLabel = "0,".repeat(64) + "10\n";
        e = assertThrows(DataFileException.class, () -> Datasets.digits(gzFile("label.csv.gz", badLabel.getBytes())));
        assertTrue(e.getMessage().contains("field 65"), e.getMessage());

        byte[] gz = gzip((good.repeat(50)).getBytes());
        Path trunc = dir.resolve("trunc.csv.gz");
        Files.write(trunc, Arrays.copyOf(gz, gz.length / 2));
        e = assertThrows(DataFileException.class, () -> Datasets.digits(trunc));
        assertTrue(e.getMessage().contains("trunc.csv.gz") && e.getMessage().contains("gzip"), e.getMessage());

        Path plain = dir.resolve("plain.csv.gz");
        Files.writeString(plain, good, StandardCharsets.US_ASCII);
        e = assertThrows(DataFileException.class, () -> Datasets.digits(plain));
        assertTrue(e.getMessage().contains("plain.csv.gz"), e.getMessage());

        e = assertThrows(DataFileException.class, () -> Datasets.digits(dir.resolve("absent.csv.gz")));
        assertTrue(e.getMessage().contains("absent.csv.gz") && e.getMessage().contains("missing"), e.getMessage());

        e = assertThrows(DataFileException.class, () -> Datasets.digits(gzFile("empty.csv.gz", new byte[0])));
        assertTrue(e.getMessage().contains("no rows"), e.getMessage());
    }

    @Test
    void idxLoaderReadsAndValidates() throws IOException {
        byte[] px = {0, (byte) 255, 10, 20, 30, 40, 50, 60, 70, 80, 90, (byte) 128};
        Path images = gzFile("img.gz", idx(0x803, new int[] {3, 2, 2}, px));
        Path labels = gzFile("lab.gz", idx(0x801, new int[] {3}, new byte[] {2, 0, 9}));
        Dataset ds = Datasets.idxImages(images, labels, 10);
        assertEquals(3, ds.size());
        assertArrayEquals(new int[] {1, 2, 2}, ds.sampleShape());
        assertArrayEquals(new float[] {0, 1, 10f / 255, 20f / 255}, ds.sample(0), 1e-7f);
        assertEquals(128f / 255, ds.sample(2)[3], 1e-7);
        assertArrayEquals(new int[] {2, 0, 9}, ds.labels());

        var e = assertThrows(DataFileException.class, () -> Datasets.idxImages(gzFile("magic.gz", idx(0x801, new int[] {3, 2, 2}, px)), labels, 10));
        assertTrue(e.getMessage().contains("magic.gz") && e.getMessage().contains("wrong magic 0x00000801"), e.getMessage());

        e = assertThrows(DataFileException.class, () -> Datasets.idxImages(gzFile("short.gz", idx(0x803, new int[] {5, 2, 2}, px)), labels, 10));
        assertTrue(e.getMessage().contains("short.gz") && e.getMessage().contains("truncated") && e.getMessage().contains("5 items") && e.getMessage().contains("after 3 items"), e.getMessage());

        Path twoLabels = gzFile("two.gz", idx(0x801, new int[] {2}, new byte[] {1, 1}));
        e = assertThrows(DataFileException.class, () -> Datasets.idxImages(images, twoLabels, 10));
        assertTrue(e.getMessage().contains("two.gz") && e.getMessage().contains("count mismatch"), e.getMessage());

        Path extra = gzFile("extra.gz", idx(0x801, new int[] {3}, new byte[] {1, 1, 1, 1}));
        e = assertThrows(DataFileException.class, () -> Datasets.idxImages(images, extra, 10));
        assertTrue(e.getMessage().contains("extra.gz") && e.getMessage().contains("count mismatch"), e.getMessage());

        Path badLabel = gzFile("bl.gz", idx(0x801, new int[] {3}, new byte[] {1, 10, 1}));
        e = assertThrows(DataFileException.class, () -> Datasets.idxImages(images, badLabel, 10));
        assertTrue(e.getMessage().contains("label 10 of item 1"), e.getMessage());

        Path absurd = gzFile("absurd.gz", idx(0x803, new int[] {Integer.MAX_VALUE, 28, 28}, new byte[0]));
        e = assertThrows(DataFileException.class, () -> Datasets.idxImages(absurd, labels, 10));
        assertTrue(e.getMessage().contains("absurd.gz"), e.getMessage());

        byte[] gz = Files.readAllBytes(images);
        Path cut = dir.resolve("cut.gz");
        Files.write(cut, Arrays.copyOf(gz, gz.length - 12));
        e = assertThrows(DataFileException.class, () -> Datasets.idxImages(cut, labels, 10));
        assertTrue(e.getMessage().contains("cut.gz"), e.getMessage());
    }

    @Test
    void fashionMnistTestSetHasTenBalancedClasses() {
        Dataset test = Datasets.fashionMnist(false);
        assertEquals(10_000, test.size());
        assertArrayEquals(new int[] {1, 28, 28}, test.sampleShape());
        int[] counts = new int[10];
        for (int y : test.labels()) counts[y]++;
        for (int c : counts) assertEquals(1000, c, Arrays.toString(counts));
        float max = 0;
        for (int i = 0; i < 100; i++) for (float v : test.sample(i)) max = Math.max(max, v);
        assertEquals(1f, max, 1e-6, "some pixel is 255 in the first 100 images");
    }

    @Test
    void fashionMnistTrainSetHasSixThousandPerClass() {
        Dataset train = Datasets.fashionMnist(true);
        assertEquals(60_000, train.size());
        int[] counts = new int[10];
        for (int y : train.labels()) counts[y]++;
        for (int c : counts) assertEquals(6000, c);
    }

    @Test
    void missingCachedFileSaysHowToFetch() {
        var e = assertThrows(MissingDataException.class, () -> DataPaths.cached("fashion-mnist", "no-such-folder/x.gz"));
        assertTrue(e.getMessage().contains("DataFetch.fetch(\"fashion-mnist\")") && e.getMessage().contains("./gstick data fetch --only fashion-mnist")
                && e.getMessage().contains("x.gz"), e.getMessage());
        assertTrue(Files.isRegularFile(DataPaths.root().resolve("gstick")));
        assertEquals(DataPaths.root().resolve("data-cache"), DataPaths.cacheDir(), "inside a checkout the cache is its data-cache/");
    }

    @Test
    void cacheFolderPropertyWinsOverTheCheckout(@TempDir Path dir) {
        String old = System.getProperty(DataPaths.CACHE_PROPERTY);
        System.setProperty(DataPaths.CACHE_PROPERTY, dir.toString());
        try {
            assertEquals(dir.toAbsolutePath().normalize(), DataPaths.cacheDir());
            var e = assertThrows(MissingDataException.class, () -> Datasets.fashionMnist(false));
            assertTrue(e.getMessage().startsWith(dir.toAbsolutePath().normalize().resolve("fashion-mnist").toString()), e.getMessage());
            assertEquals(Datasets.DIGITS_ROWS, Datasets.digits().size(), "digits come from the jar, not the cache");
        } finally {
            if (old == null) System.clearProperty(DataPaths.CACHE_PROPERTY);
            else System.setProperty(DataPaths.CACHE_PROPERTY, old);
        }
    }

    @Test
    void fetchRejectsUnknownItemsByName() {
        var e = assertThrows(IllegalArgumentException.class, () -> DataFetch.fetch("cifar10"));
        assertTrue(e.getMessage().contains("'cifar10'") && e.getMessage().contains("fashion-mnist"), e.getMessage());
        try (var in = DataFetch.class.getResourceAsStream("fetch-data.sh")) {
            assertNotNull(in, "the fetch script is packed next to DataFetch");
            assertEquals(Files.readString(DataPaths.root().resolve("scripts/fetch-data.sh")), new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException x) {
            throw new java.io.UncheckedIOException(x);
        }
    }
}
