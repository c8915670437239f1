package org.goldenstick.ptq;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The hidden states of the calibration samples at the input of one decoder layer, one {@code float[]} per sample,
 * held in memory up to {@code memoryLimitBytes} and spilled to a temporary file beyond it (read back one sample at a
 * time). Layer-by-layer calibration keeps two of these: the current layer's inputs and the next layer's.
 *
 * <pre>{@code
 * try (CalibrationStates next = new CalibrationStates(256L << 20, stagingDir)) {
 *     next.add(x);              // sample 0
 *     float[] again = next.get(0);
 * }
 * }</pre>
 */
final class CalibrationStates implements AutoCloseable {
    private final long memoryLimitBytes;
    private final Path spillDir;
    private final List<float[]> inMemory = new ArrayList<>();
    private final List<long[]> spilled = new ArrayList<>(); // per sample: {file offset, floats}, or null when in memory
    private long memoryBytes;
    private Path file;
    private FileChannel channel;

    /** @param spillDir where the temporary file is made (it is deleted on {@link #close}) */
    CalibrationStates(long memoryLimitBytes, Path spillDir) {
        this.memoryLimitBytes = memoryLimitBytes;
        this.spillDir = spillDir;
    }

    int size() {
        return inMemory.size();
    }

    /** Bytes written to the temporary file. */
    long spilledBytes() {
        try {
            return channel == null ? 0 : channel.size();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Appends the next sample's states (the array is kept, or written out and dropped). */
    void add(float[] x) {
        if (memoryBytes + 4L * x.length <= memoryLimitBytes) {
            inMemory.add(x);
            spilled.add(null);
            memoryBytes += 4L * x.length;
            return;
        }
        try {
            if (channel == null) {
                file = Files.createTempFile(spillDir, ".gstick-calibration-", ".f32");
                channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
            }
            long at = channel.size();
            ByteBuffer b = ByteBuffer.allocate(4 * x.length).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(x);
            while (b.hasRemaining()) channel.write(b, at + b.position());
            inMemory.add(null);
            spilled.add(new long[] {at, x.length});
        } catch (IOException e) {
            throw new UncheckedIOException("cannot spill calibration activations to " + spillDir, e);
        }
    }

    /** Sample {@code i}'s states (a fresh array when it was spilled). */
    float[] get(int i) {
        float[] x = inMemory.get(i);
        if (x != null) return x;
        long[] where = spilled.get(i);
        try {
            ByteBuffer b = ByteBuffer.allocate(4 * (int) where[1]).order(ByteOrder.LITTLE_ENDIAN);
            while (b.hasRemaining()) {
                if (channel.read(b, where[0] + b.position()) < 0) throw new IOException(file + ": ends before sample " + i);
            }
            float[] out = new float[(int) where[1]];
            b.flip().asFloatBuffer().get(out);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read spilled calibration activations from " + file, e);
        }
    }

    @Override
    public void close() {
        inMemory.clear();
        if (channel != null) {
            try {
                channel.close();
                Files.deleteIfExists(file);
            } catch (IOException e) {
                System.err.println("warning: could not remove " + file + ": " + e.getMessage());
            }
            channel = null;
        }
    }
}
