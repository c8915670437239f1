package org.goldenstick.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Image folders: a round trip of real Fashion-MNIST images through PNG gives the IDX pixels back exactly; the class index
 * is the sorted folder name; resize, grey conversion and per-channel normalisation against hand-computed values; JPEG
 * read; and each bad input (empty class folder, undecodable file, mixed sizes without a size, no class folders) is an
 * error naming the folder or file.
 */
class ImageFolderTest {
    @TempDir
    Path dir;

    @Test
    void fashionMnistRoundTripsThroughPngExactly() throws Exception {
        Dataset idx = Subset.first(Datasets.fashionMnist(false), 200);
        ImageFolder.writePngs(idx, dir.resolve("test"), ImageFolder.FASHION_MNIST_CLASSES);
        ImageFolder.writePngs(Subset.first(Datasets.fashionMnist(true), 100), dir.resolve("train"), ImageFolder.FASHION_MNIST_CLASSES);
        ImageFolder.Split s = ImageFolder.splits(dir, ImageFolder.Preprocess.none(), 0);
        assertTrue(s.fromSubfolders());
        ImageFolder back = (ImageFolder) s.test();
        assertEquals(200, back.size());
        assertArrayEquals(new int[] {1, 28, 28}, back.sampleShape());
        assertEquals(ImageFolder.FASHION_MNIST_CLASSES, back.classes());
        // files are read class by class, so match each IDX sample to its file by name
        for (int i = 0; i < back.size(); i++) {
            String name = back.file(i).getFileName().toString();
            int original = Integer.parseInt(name.substring(0, name.indexOf('.')));
            assertEquals(idx.label(original), back.label(i), name);
            assertArrayEquals(idx.sample(original), back.sample(i), 0f, name);
        }
    }

    @Test
    void normalisesResizesAndConvertsToGrey() throws Exception {
        // one 2x2 RGB image per class; class folders given out of order: labels follow sorted names
        Path root = dir.resolve("set");
        writeRgb(root.resolve("b-second").resolve("x.png"), new int[][] {{0xFF0000, 0x00FF00}, {0x0000FF, 0xFFFFFF}});
        writeRgb(root.resolve("a-first").resolve("y.png"), new int[][] {{0x000000, 0x000000}, {0x000000, 0x808080}});
        ImageFolder rgb = ImageFolder.load(root, ImageFolder.Preprocess.of(null, false, new float[] {0.5f, 0f, 0f}, new float[] {0.5f, 1f, 2f}));
        assertEquals(List.of("a-first", "b-second"), rgb.classes());
        assertArrayEquals(new int[] {3, 2, 2}, rgb.sampleShape());
        int second = rgb.label(0) == 1 ? 0 : 1;
        float[] x = rgb.sample(second);
        // red plane: (1 - 0.5)/0.5 = 1 at (0,0); green plane at (0,1) = 1/1; blue plane at (1,0) = 1/2
        assertEquals(1f, x[0], 1e-6);
        assertEquals(-1f, x[1], 1e-6);
        assertEquals(1f, x[4 + 1], 1e-6);
        assertEquals(0.5f, x[8 + 2], 1e-6);
        ImageFolder grey = ImageFolder.load(root, ImageFolder.Preprocess.of(null, true, null, null));
        assertArrayEquals(new int[] {1, 2, 2}, grey.sampleShape());
        float[] g = grey.sample(second);
        assertEquals(Math.round(0.299f * 255) / 255f, g[0], 1e-6);
        assertEquals(Math.round(0.587f * 255) / 255f, g[1], 1e-6);
        assertEquals(1f, g[3], 1e-6);
        // resize 2x2 -> 4x4 (bilinear, centres aligned): corners keep their values, the middle mixes them
        ImageFolder big = ImageFolder.load(root, ImageFolder.Preprocess.of(4, true, null, null));
        assertArrayEquals(new int[] {1, 4, 4}, big.sampleShape());
        float[] b = big.sample(second);
        assertEquals(g[0], b[0], 1e-6);
        assertEquals(g[3], b[15], 1e-6);
        assertTrue(b[5] > Math.min(g[0], g[3]) && b[5] < Math.max(Math.max(g[0], g[1]), Math.max(g[2], g[3])));
    }

    @Test
    void readsJpeg() throws Exception {
        Path root = dir.resolve("jpg");
        BufferedImage img = new BufferedImage(8, 8, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 8; y++) for (int x = 0; x < 8; x++) img.getRaster().setSample(x, y, 0, 200);
        Files.createDirectories(root.resolve("c"));
        ImageIO.write(img, "jpg", root.resolve("c").resolve("a.JPG").toFile());
        ImageFolder f = ImageFolder.load(root, ImageFolder.Preprocess.none());
        assertEquals(1, f.size());
        assertEquals(200 / 255f, f.sample(0)[27], 3 / 255f);
    }

    @Test
    void badInputIsAnErrorNamingTheFileOrFolder() throws Exception {
        Path empty = dir.resolve("empty");
        writeGrey(empty.resolve("ok").resolve("1.png"), 4, 4);
        Files.createDirectories(empty.resolve("nothing-here"));
        Files.writeString(empty.resolve("nothing-here").resolve("notes.txt"), "not an image");
        var e = assertThrows(DataFileException.class, () -> ImageFolder.load(empty, ImageFolder.Preprocess.none()));
        assertTrue(e.getMessage().contains("nothing-here") && e.getMessage().contains("no PNG or JPEG"), e.getMessage());

        Path broken = dir.resolve("broken");
        writeGrey(broken.resolve("a").resolve("1.png"), 4, 4);
        Files.createDirectories(broken.resolve("b"));
        byte[] junk = new byte[64];
        new Random(1).nextBytes(junk);
        Files.write(broken.resolve("b").resolve("bad.png"), junk);
        e = assertThrows(DataFileException.class, () -> ImageFolder.load(broken, ImageFolder.Preprocess.none()));
        assertTrue(e.getMessage().contains("bad.png"), e.getMessage());

        Path mixed = dir.resolve("mixed");
        writeGrey(mixed.resolve("a").resolve("1.png"), 4, 4);
        writeGrey(mixed.resolve("b").resolve("2.png"), 5, 4);
        e = assertThrows(DataFileException.class, () -> ImageFolder.load(mixed, ImageFolder.Preprocess.none()));
        assertTrue(e.getMessage().contains("2.png") && e.getMessage().contains("5x4") && e.getMessage().contains("--image-size"), e.getMessage());
        assertEquals(2, ImageFolder.load(mixed, ImageFolder.Preprocess.of(4, false, null, null)).size());

        Path flat = dir.resolve("flat");
        writeGrey(flat.resolve("1.png"), 4, 4);
        e = assertThrows(DataFileException.class, () -> ImageFolder.load(flat, ImageFolder.Preprocess.none()));
        assertTrue(e.getMessage().contains("no class sub-folders"), e.getMessage());
        assertEquals(1, ImageFolder.loadImages(flat, ImageFolder.Preprocess.none()).size());

        var m = assertThrows(IllegalArgumentException.class, () -> ImageFolder.load(mixed, ImageFolder.Preprocess.of(4, false, new float[] {0.1f, 0.2f}, null)));
        assertTrue(m.getMessage().contains("--mean has 2 values"), m.getMessage());
    }

    @Test
    void withoutTrainAndTestFoldersTheSetIsSplitBySeed() throws Exception {
        Path root = dir.resolve("one");
        for (int i = 0; i < 10; i++) writeGrey(root.resolve(i % 2 == 0 ? "even" : "odd").resolve(i + ".png"), 3, 3);
        ImageFolder.Split s = ImageFolder.splits(root, ImageFolder.Preprocess.none(), 7);
        assertEquals(8, s.train().size());
        assertEquals(2, s.test().size());
        assertArrayEquals(s.test().labels(), ImageFolder.splits(root, ImageFolder.Preprocess.none(), 7).test().labels());
    }

    static void writeGrey(Path f, int w, int h) throws Exception {
        Files.createDirectories(f.getParent());
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        ImageIO.write(img, "png", f.toFile());
    }

    static void writeRgb(Path f, int[][] rgb) throws Exception {
        Files.createDirectories(f.getParent());
        BufferedImage img = new BufferedImage(rgb[0].length, rgb.length, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < rgb.length; y++) for (int x = 0; x < rgb[0].length; x++) img.setRGB(x, y, rgb[y][x]);
        ImageIO.write(img, "png", f.toFile());
    }
}
