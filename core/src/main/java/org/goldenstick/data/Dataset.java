package org.goldenstick.data;

/**
 * A fixed-size labelled data set of float samples, each of the same shape.
 *
 * <pre>{@code
 * Dataset ds = Datasets.digits();
 * float[] x = new float[ds.sampleSize()];
 * ds.fill(0, x, 0);                // the first image, 1x8x8, values in [0, 1]
 * int y = ds.label(0);
 * }</pre>
 */
public interface Dataset {
    /** Number of samples. */
    int size();

    /** Shape of one sample, e.g. {@code {1, 28, 28}} (channels, height, width) for an image. */
    int[] sampleShape();

    /** Number of classes; labels are in {@code [0, numClasses)}. */
    int numClasses();

    /** Writes sample {@code index} into {@code dst[offset .. offset + sampleSize())}. */
    void fill(int index, float[] dst, int offset);

    /** The class label of sample {@code index}. */
    int label(int index);

    /** Number of floats in one sample. */
    default int sampleSize() {
        int n = 1;
        for (int d : sampleShape()) n *= d;
        return n;
    }

    /** Sample {@code index} as a new array. */
    default float[] sample(int index) {
        float[] x = new float[sampleSize()];
        fill(index, x, 0);
        return x;
    }

    /** All labels, in order. */
    default int[] labels() {
        int[] y = new int[size()];
        for (int i = 0; i < y.length; i++) y[i] = label(i);
        return y;
    }
}
