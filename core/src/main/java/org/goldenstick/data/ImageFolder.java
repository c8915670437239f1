package org.goldenstick.data;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/**
 * A labelled image data set read from a folder with one sub-folder per class (the class index is the position of the
 * folder's name in sorted order), PNG or JPEG files inside (other files are ignored), decoded with {@code javax.imageio}.
 * Every file is read and checked before anything else happens: an empty class folder, a file that does not decode, or
 * images of different sizes without {@link Preprocess#imageSize()} are errors naming the folder or file.
 *
 * <p>Preprocessing ({@link Preprocess}): an optional resize to {@code S×S} (bilinear), an optional conversion to one
 * grey channel (luma 0.299 R + 0.587 G + 0.114 B); then pixels are scaled to [0, 1] and normalised per channel,
 * {@code (x − mean[c]) / std[c]}. Without {@code --grayscale} the set has one channel when every image is grey, else three.
 * Pixels are kept as bytes (one per channel value), the normalisation is applied when a sample is read.
 *
 * <p>{@link #splits} reads {@code DIR/train} and {@code DIR/test} when both exist (their class folders must have the same
 * names), else splits {@code DIR} 80/20 with a seeded shuffle, as the bundled digits are.
 *
 * <pre>{@code
 * ImageFolder.Preprocess p = ImageFolder.Preprocess.of(28, true, new float[] {0.5f}, new float[] {0.5f});
 * Dataset calib = ImageFolder.load(Path.of("calib"), p);
 * ImageFolder.Split s = ImageFolder.splits(Path.of("fashion-png"), p, 0);
 * }</pre>
 */
public final class ImageFolder implements Dataset {
    /**
     * How images become tensors.
     *
     * @param imageSize resize every image to this square size, or null to keep sizes (which must then all be equal)
     * @param grayscale convert to one grey channel
     * @param mean      per-channel mean subtracted after scaling to [0, 1]: one value for all channels, or one per channel
     * @param std       per-channel divisor (all > 0), one value or one per channel
     */
    public record Preprocess(Integer imageSize, boolean grayscale, float[] mean, float[] std) {
        public Preprocess {
            if (imageSize != null && (imageSize < 1 || imageSize > 4096)) throw new IllegalArgumentException("--image-size must be in [1, 4096], got " + imageSize);
            mean = mean == null ? new float[] {0f} : mean.clone();
            std = std == null ? new float[] {1f} : std.clone();
            if (mean.length == 0 || std.length == 0) throw new IllegalArgumentException("--mean and --std need at least one value");
            for (float s : std) if (!(s > 0) || !Float.isFinite(s)) throw new IllegalArgumentException("--std values must be finite and > 0, got " + Arrays.toString(std));
            for (float m : mean) if (!Float.isFinite(m)) throw new IllegalArgumentException("--mean values must be finite, got " + Arrays.toString(mean));
        }

        public static Preprocess of(Integer imageSize, boolean grayscale, float[] mean, float[] std) {
            return new Preprocess(imageSize, grayscale, mean, std);
        }

        /** No resize, channels as found, pixels scaled to [0, 1]. */
        public static Preprocess none() {
            return new Preprocess(null, false, null, null);
        }

        float meanOf(int c) {
            return mean.length == 1 ? mean[0] : mean[c];
        }

        float stdOf(int c) {
            return std.length == 1 ? std[0] : std[c];
        }
    }

    /** A train and a test set with the same classes; {@code fromSubfolders} when they came from {@code train/} and {@code test/}. */
    public record Split(Dataset train, Dataset test, boolean fromSubfolders) {}

    private final Path root;
    private final List<String> classes;
    private final byte[] pixels;
    private final int[] labels;
    private final int[] shape;
    private final int sampleSize;
    private final float[] scale, shift;
    private final List<Path> files;

    private ImageFolder(Path root, List<String> classes, byte[] pixels, int[] labels, int[] shape, Preprocess p, List<Path> files) {
        this.root = root;
        this.classes = List.copyOf(classes);
        this.pixels = pixels;
        this.labels = labels;
        this.shape = shape;
        this.sampleSize = shape[0] * shape[1] * shape[2];
        this.files = List.copyOf(files);
        int c = shape[0];
        if (p.mean().length != 1 && p.mean().length != c) throw new IllegalArgumentException("--mean has " + p.mean().length + " values but the images of " + root + " have " + c + " channel(s); give 1 or " + c);
        if (p.std().length != 1 && p.std().length != c) throw new IllegalArgumentException("--std has " + p.std().length + " values but the images of " + root + " have " + c + " channel(s); give 1 or " + c);
        scale = new float[c];
        shift = new float[c];
        for (int i = 0; i < c; i++) {
            scale[i] = 1f / (255f * p.stdOf(i));
            shift[i] = -p.meanOf(i) / p.stdOf(i);
        }
    }

    /** Reads {@code dir} (one sub-folder per class); every image is decoded and checked first. */
    public static ImageFolder load(Path dir, Preprocess p) throws IOException {
        return load(dir, p, null);
    }

    /**
     * Reads {@code dir}; with {@code expectedClasses}, its class folders must have exactly these names (a test set must
     * have the training set's classes).
     */
    public static ImageFolder load(Path dir, Preprocess p, List<String> expectedClasses) throws IOException {
        if (!Files.isDirectory(dir)) throw new DataFileException(dir, "image folder: no such directory");
        List<String> classes = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path c : s.filter(Files::isDirectory).toList()) if (!c.getFileName().toString().startsWith(".")) classes.add(c.getFileName().toString());
        }
        classes.sort(null);
        if (classes.isEmpty()) throw new DataFileException(dir, "image folder: no class sub-folders (expected one folder of PNG/JPEG images per class)");
        if (expectedClasses != null && !classes.equals(expectedClasses)) {
            throw new DataFileException(dir, "image folder: class folders " + classes + " differ from the training set's " + expectedClasses);
        }
        List<Path> files = new ArrayList<>();
        List<Integer> labelList = new ArrayList<>();
        addClassFolders(dir, classes, files, labelList);
        return decode(dir, classes, files, labelList, p);
    }

    /**
     * Unlabelled images for calibration: the PNG/JPEG files directly in {@code dir} (all of class 0), or, when there are
     * none, the images of its class sub-folders as {@link #load} reads them.
     */
    public static ImageFolder loadImages(Path dir, Preprocess p) throws IOException {
        if (!Files.isDirectory(dir)) throw new DataFileException(dir, "image folder: no such directory");
        List<Path> flat;
        try (Stream<Path> s = Files.list(dir)) {
            flat = s.filter(f -> Files.isRegularFile(f) && isImageName(f)).sorted().toList();
        }
        if (flat.isEmpty()) return load(dir, p);
        List<Integer> labels = new ArrayList<>();
        for (int i = 0; i < flat.size(); i++) labels.add(0);
        return decode(dir, List.of("."), new ArrayList<>(flat), labels, p);
    }

    private static void addClassFolders(Path dir, List<String> classes, List<Path> files, List<Integer> labelList) throws IOException {
        for (int k = 0; k < classes.size(); k++) {
            Path cdir = dir.resolve(classes.get(k));
            List<Path> imgs;
            try (Stream<Path> s = Files.list(cdir)) {
                imgs = s.filter(f -> Files.isRegularFile(f) && isImageName(f)).sorted().toList();
            }
            if (imgs.isEmpty()) throw new DataFileException(cdir, "image folder: class folder '" + classes.get(k) + "' has no PNG or JPEG image");
            for (Path f : imgs) {
                files.add(f);
                labelList.add(k);
            }
        }
    }

    private static ImageFolder decode(Path dir, List<String> classes, List<Path> files, List<Integer> labelList, Preprocess p) throws IOException {
        // decode everything (errors name the file) before building the set
        BufferedImage[] decoded = new BufferedImage[files.size()];
        boolean allGray = true;
        for (int i = 0; i < files.size(); i++) {
            Path f = files.get(i);
            BufferedImage img;
            try {
                img = ImageIO.read(f.toFile());
            } catch (IOException | RuntimeException e) {
                throw new DataFileException(f, "image folder: cannot decode the image (" + e.getMessage() + ")");
            }
            if (img == null) throw new DataFileException(f, "image folder: not a readable PNG or JPEG image");
            if (p.imageSize() == null && i > 0 && (img.getWidth() != decoded[0].getWidth() || img.getHeight() != decoded[0].getHeight())) {
                throw new DataFileException(f, "image folder: image is " + img.getWidth() + "x" + img.getHeight() + " but " + files.get(0) + " is "
                        + decoded[0].getWidth() + "x" + decoded[0].getHeight() + "; give --image-size to resize all images to one size");
            }
            allGray &= img.getColorModel().getNumColorComponents() == 1;
            decoded[i] = img;
        }
        int h = p.imageSize() != null ? p.imageSize() : decoded[0].getHeight();
        int w = p.imageSize() != null ? p.imageSize() : decoded[0].getWidth();
        int c = p.grayscale() || allGray ? 1 : 3;
        int per = c * h * w;
        byte[] pixels = new byte[Math.multiplyExact(per, files.size())];
        int[] labels = new int[files.size()];
        for (int i = 0; i < files.size(); i++) {
            writePixels(decoded[i], c, h, w, pixels, i * per);
            decoded[i] = null;
            labels[i] = labelList.get(i);
        }
        return new ImageFolder(dir, classes, pixels, labels, new int[] {c, h, w}, p, files);
    }

    /**
     * {@code dir/train} and {@code dir/test} when both exist; else {@code dir} split 80/20 by a shuffle seeded with
     * {@code seed} (the same rule as the bundled digits).
     */
    public static Split splits(Path dir, Preprocess p, long seed) throws IOException {
        Path train = dir.resolve("train"), test = dir.resolve("test");
        if (Files.isDirectory(train) && Files.isDirectory(test)) {
            ImageFolder tr = load(train, p);
            ImageFolder te = load(test, p, tr.classes());
            if (!Arrays.equals(tr.shape, te.shape)) {
                throw new DataFileException(test, "image folder: test images are " + Arrays.toString(te.shape) + " but training images are " + Arrays.toString(tr.shape)
                        + "; give --image-size (and --grayscale) so both have one shape");
            }
            return new Split(tr, te, true);
        }
        ImageFolder all = load(dir, p);
        if (all.size() < 3) throw new DataFileException(dir, "image folder: " + all.size() + " image(s) cannot be split into a training and a test part");
        Splits.Split s = Splits.trainTest(all, 0.2, seed);
        return new Split(s.train(), s.test(), false);
    }

    static boolean isImageName(Path f) {
        String n = f.getFileName().toString().toLowerCase(Locale.ROOT);
        return !n.startsWith(".") && (n.endsWith(".png") || n.endsWith(".jpg") || n.endsWith(".jpeg"));
    }

    /** Pixels of {@code img} as {@code c×h×w} bytes (bilinear resize when the size differs; luma for one channel). */
    private static void writePixels(BufferedImage img, int c, int h, int w, byte[] dst, int off) {
        int iw = img.getWidth(), ih = img.getHeight();
        int[] argb = img.getRGB(0, 0, iw, ih, null, 0, iw);
        boolean gray = img.getColorModel().getNumColorComponents() == 1;
        float[][] planes = new float[3][iw * ih];
        for (int i = 0; i < argb.length; i++) {
            int v = argb[i];
            planes[0][i] = (v >> 16) & 0xFF;
            planes[1][i] = (v >> 8) & 0xFF;
            planes[2][i] = v & 0xFF;
        }
        if (gray) {
            // a grey image's getRGB goes through its colour space (gamma); the raster holds the stored values
            img.getRaster().getSamples(0, 0, iw, ih, 0, planes[0]);
            if (img.getColorModel().getComponentSize(0) == 16) for (int i = 0; i < planes[0].length; i++) planes[0][i] /= 257f;
            planes[1] = planes[0];
            planes[2] = planes[0];
        }
        for (int ch = 0; ch < c; ch++) {
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    float v;
                    if (c == 1) {
                        v = gray ? sample(planes[0], iw, ih, x, y, w, h)
                                : 0.299f * sample(planes[0], iw, ih, x, y, w, h) + 0.587f * sample(planes[1], iw, ih, x, y, w, h) + 0.114f * sample(planes[2], iw, ih, x, y, w, h);
                    } else {
                        v = sample(planes[ch], iw, ih, x, y, w, h);
                    }
                    dst[off + (ch * h + y) * w + x] = (byte) Math.min(255, Math.max(0, Math.round(v)));
                }
            }
        }
    }

    /** Bilinear sample of output pixel (x, y) of a {@code w×h} resize (pixel centres aligned, as PIL and OpenCV do). */
    private static float sample(float[] plane, int iw, int ih, int x, int y, int w, int h) {
        if (iw == w && ih == h) return plane[y * iw + x];
        float sx = (x + 0.5f) * iw / w - 0.5f, sy = (y + 0.5f) * ih / h - 0.5f;
        sx = Math.min(Math.max(sx, 0), iw - 1);
        sy = Math.min(Math.max(sy, 0), ih - 1);
        int x0 = (int) sx, y0 = (int) sy, x1 = Math.min(x0 + 1, iw - 1), y1 = Math.min(y0 + 1, ih - 1);
        float fx = sx - x0, fy = sy - y0;
        float a = plane[y0 * iw + x0] * (1 - fx) + plane[y0 * iw + x1] * fx;
        float b = plane[y1 * iw + x0] * (1 - fx) + plane[y1 * iw + x1] * fx;
        return a * (1 - fy) + b * fy;
    }

    /** Fashion-MNIST's class names as folder names that sort in label order. */
    public static final List<String> FASHION_MNIST_CLASSES = List.of("0-tshirt-top", "1-trouser", "2-pullover", "3-dress", "4-coat", "5-sandal", "6-shirt",
            "7-sneaker", "8-bag", "9-ankle-boot");

    /**
     * Writes a data set of images with values in [0, 1] ({@code [C, H, W]}, C = 1 or 3) as PNG files into
     * {@code dir/<class name>/<index>.png} (8 bits per value), the layout {@link #load} reads back. Folder names must sort in
     * label order (e.g. {@link #FASHION_MNIST_CLASSES}).
     */
    public static void writePngs(Dataset ds, Path dir, List<String> classNames) throws IOException {
        int[] shape = ds.sampleShape();
        if (shape.length != 3 || (shape[0] != 1 && shape[0] != 3)) throw new IllegalArgumentException("writePngs: samples must be [1|3, H, W], got " + Arrays.toString(shape));
        if (classNames.size() != ds.numClasses()) throw new IllegalArgumentException("writePngs: " + classNames.size() + " class names for " + ds.numClasses() + " classes");
        List<String> sorted = new ArrayList<>(classNames);
        sorted.sort(null);
        if (!sorted.equals(classNames)) throw new IllegalArgumentException("writePngs: class folder names must sort in label order, got " + classNames);
        int c = shape[0], h = shape[1], w = shape[2];
        for (String n : classNames) Files.createDirectories(dir.resolve(n));
        float[] x = new float[ds.sampleSize()];
        int digits = Integer.toString(Math.max(1, ds.size() - 1)).length();
        for (int i = 0; i < ds.size(); i++) {
            ds.fill(i, x, 0);
            BufferedImage img = new BufferedImage(w, h, c == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < h; y++) {
                for (int xx = 0; xx < w; xx++) {
                    if (c == 1) {
                        img.getRaster().setSample(xx, y, 0, toByte(x[y * w + xx]));
                    } else {
                        int r = toByte(x[y * w + xx]), g = toByte(x[(h + y) * w + xx]), b = toByte(x[(2 * h + y) * w + xx]);
                        img.setRGB(xx, y, (r << 16) | (g << 8) | b);
                    }
                }
            }
            Path f = dir.resolve(classNames.get(ds.label(i))).resolve(String.format(Locale.ROOT, "%0" + digits + "d.png", i));
            if (!ImageIO.write(img, "png", f.toFile())) throw new IOException("no PNG writer in this JVM");
        }
    }

    private static int toByte(float v) {
        if (!(v >= 0f && v <= 1f)) throw new IllegalArgumentException("writePngs: value " + v + " outside [0, 1]");
        return Math.round(v * 255f);
    }

    /** The class names, in label order. */
    public List<String> classes() {
        return classes;
    }

    /** The file of sample {@code index}. */
    public Path file(int index) {
        return files.get(index);
    }

    public Path root() {
        return root;
    }

    @Override
    public int size() {
        return labels.length;
    }

    @Override
    public int[] sampleShape() {
        return shape.clone();
    }

    @Override
    public int sampleSize() {
        return sampleSize;
    }

    @Override
    public int numClasses() {
        return classes.size();
    }

    @Override
    public void fill(int index, float[] dst, int offset) {
        int base = index * sampleSize, plane = shape[1] * shape[2];
        for (int i = 0; i < sampleSize; i++) {
            int c = i / plane;
            dst[offset + i] = (pixels[base + i] & 0xFF) * scale[c] + shift[c];
        }
    }

    @Override
    public int label(int index) {
        return labels[index];
    }
}
