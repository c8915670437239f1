package org.goldenstick.formats.onnx;

import java.util.Arrays;

/**
 * A node attribute ({@code AttributeProto}) of one of the supported kinds.
 *
 * <pre>{@code
 * OnnxAttribute.ofInts("kernel_shape", 3, 3);
 * OnnxAttribute.ofFloat("alpha", 0.5f);
 * }</pre>
 */
public sealed interface OnnxAttribute {
    String name();

    /** {@code AttributeProto.AttributeType} code. */
    int typeCode();

    record Int(String name, long value) implements OnnxAttribute {
        public int typeCode() {
            return 2;
        }
    }

    record Float(String name, float value) implements OnnxAttribute {
        public int typeCode() {
            return 1;
        }
    }

    record Str(String name, String value) implements OnnxAttribute {
        public int typeCode() {
            return 3;
        }
    }

    record TensorValue(String name, OnnxTensor value) implements OnnxAttribute {
        public int typeCode() {
            return 4;
        }
    }

    record Floats(String name, float[] values) implements OnnxAttribute {
        public Floats {
            values = values.clone();
        }

        @Override
        public float[] values() {
            return values.clone();
        }

        public int typeCode() {
            return 6;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Floats f && name.equals(f.name) && Arrays.equals(values, f.values);
        }

        @Override
        public int hashCode() {
            return name.hashCode() * 31 + Arrays.hashCode(values);
        }

        @Override
        public String toString() {
            return name + "=" + Arrays.toString(values);
        }
    }

    record Ints(String name, long[] values) implements OnnxAttribute {
        public Ints {
            values = values.clone();
        }

        @Override
        public long[] values() {
            return values.clone();
        }

        public int typeCode() {
            return 7;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Ints f && name.equals(f.name) && Arrays.equals(values, f.values);
        }

        @Override
        public int hashCode() {
            return name.hashCode() * 31 + Arrays.hashCode(values);
        }

        @Override
        public String toString() {
            return name + "=" + Arrays.toString(values);
        }
    }

    /** An attribute of a kind this package does not model (graphs, strings lists...), kept by name and type only. */
    record Unsupported(String name, int typeCode) implements OnnxAttribute {}

    static OnnxAttribute ofInt(String name, long v) {
        return new Int(name, v);
    }

    static OnnxAttribute ofFloat(String name, float v) {
        return new Float(name, v);
    }

    static OnnxAttribute ofString(String name, String v) {
        return new Str(name, v);
    }

    static OnnxAttribute ofTensor(String name, OnnxTensor v) {
        return new TensorValue(name, v);
    }

    static OnnxAttribute ofInts(String name, long... v) {
        return new Ints(name, v);
    }

    static OnnxAttribute ofInts(String name, int... v) {
        return new Ints(name, OnnxTensor.toLongs(v));
    }

    static OnnxAttribute ofFloats(String name, float... v) {
        return new Floats(name, v);
    }
}
