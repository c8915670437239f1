package org.goldenstick.formats.safetensors;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * One tensor of a {@link SafetensorsFile}: its name, dtype, shape and the memory-mapped bytes.
 * The bytes are a slice of the mapped file; nothing is read until they are accessed.
 *
 * <pre>{@code
 * SafetensorsEntry e = file.entry("layer.weight");
 * long n = e.numel();   // product of e.shape()
 * }</pre>
 */
public final class SafetensorsEntry {
    private final String name;
    private final DType dtype;
    private final int[] shape;
    private final long begin;
    private final long end;
    private final MemorySegment data;

    SafetensorsEntry(String name, DType dtype, int[] shape, long begin, long end, MemorySegment data) {
        this.name = name;
        this.dtype = dtype;
        this.shape = shape;
        this.begin = begin;
        this.end = end;
        this.data = data;
    }

    public String name() {
        return name;
    }

    public DType dtype() {
        return dtype;
    }

    /** A copy of the shape (empty for a scalar). */
    public int[] shape() {
        return shape.clone();
    }

    /** Number of elements (1 for a scalar). */
    public long numel() {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    /** Offset of the first byte within the data section (after the header). */
    public long dataBegin() {
        return begin;
    }

    /** Offset one past the last byte within the data section. */
    public long dataEnd() {
        return end;
    }

    public long byteLength() {
        return end - begin;
    }

    /** The raw little-endian bytes, a read-only slice of the mapping (valid until the file is closed). */
    public MemorySegment segment() {
        return data;
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape);
    }
}
