package org.goldenstick.data;

import java.util.Arrays;

/**
 * Images held as unsigned bytes and scaled to floats on access (so a 60k-image set costs 47 MB, not 188 MB).
 *
 * <pre>{@code
 * Dataset ds = new PixelDataset(pixels, labels, new int[] {1, 28, 28}, 10, 1f / 255);
 * }</pre>
 */
public final class PixelDataset implements Dataset {
    private final byte[] pixels;
    private final int[] labels;
    private final int[] shape;
    private final int sampleSize;
    private final int numClasses;
    private final float scale;

    /**
     * @param pixels     {@code labels.length * prod(shape)} unsigned values, sample-major (not copied)
     * @param labels     one label per sample in {@code [0, numClasses)} (not copied)
     * @param scale      factor applied to each unsigned pixel value
     */
    public PixelDataset(byte[] pixels, int[] labels, int[] sampleShape, int numClasses, float scale) {
        this.shape = sampleShape.clone();
        int n = 1;
        for (int d : shape) n *= d;
        this.sampleSize = n;
        if ((long) n * labels.length != pixels.length) {
            throw new IllegalArgumentException("PixelDataset: " + pixels.length + " pixels for " + labels.length + " samples of shape " + Arrays.toString(shape));
        }
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= numClasses) throw new IllegalArgumentException("PixelDataset: label " + labels[i] + " of sample " + i + " is outside [0, " + numClasses + ")");
        }
        this.pixels = pixels;
        this.labels = labels;
        this.numClasses = numClasses;
        this.scale = scale;
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
        return numClasses;
    }

    @Override
    public void fill(int index, float[] dst, int offset) {
        int base = index * sampleSize;
        for (int i = 0; i < sampleSize; i++) dst[offset + i] = (pixels[base + i] & 0xFF) * scale;
    }

    @Override
    public int label(int index) {
        return labels[index];
    }
}
