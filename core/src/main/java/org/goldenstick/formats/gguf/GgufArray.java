package org.goldenstick.formats.gguf;

import java.util.List;

/**
 * A GGUF metadata array. {@code values} is a primitive array for numeric element types ({@code int[]} for
 * UINT8…INT32, {@code long[]} for UINT32/INT64/UINT64, {@code float[]}, {@code double[]}, {@code boolean[]}),
 * {@code String[]} for strings and {@code GgufArray[]} for nested arrays.
 */
public record GgufArray(GgufType elementType, Object values) {

    public int length() {
        return java.lang.reflect.Array.getLength(values);
    }

    public String[] strings() {
        if (!(values instanceof String[] s)) throw new IllegalStateException("array of " + elementType + ", not of STRING");
        return s;
    }

    public float[] floats() {
        if (!(values instanceof float[] f)) throw new IllegalStateException("array of " + elementType + ", not of FLOAT32");
        return f;
    }

    /** Integer elements of any width that fits an int (UINT8…INT32, and UINT32/INT64 when in range). */
    public int[] ints() {
        if (values instanceof int[] i) return i;
        if (values instanceof long[] l) {
            int[] out = new int[l.length];
            for (int k = 0; k < l.length; k++) {
                if (l[k] < Integer.MIN_VALUE || l[k] > Integer.MAX_VALUE) throw new IllegalStateException("element " + k + " = " + l[k] + " does not fit an int");
                out[k] = (int) l[k];
            }
            return out;
        }
        throw new IllegalStateException("array of " + elementType + ", not of integers");
    }

    public List<GgufArray> nested() {
        if (!(values instanceof GgufArray[] a)) throw new IllegalStateException("array of " + elementType + ", not of ARRAY");
        return List.of(a);
    }
}
