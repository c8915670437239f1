package org.goldenstick.formats.onnx;

import static org.junit.jupiter.api.Assertions.*;

import com.google.protobuf.CodedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TensorProto / ModelProto decoding: typed data fields, packed and unpacked encodings, malformed input. */
class OnnxReaderTest {
    @TempDir
    Path dir;

    interface Fields {
        void write(CodedOutputStream o) throws IOException;
    }

    /** A message written field by field with protobuf's low-level encoder, independent of our encoder. */
    static byte[] proto(Fields f) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        CodedOutputStream o = CodedOutputStream.newInstance(bos);
        f.write(o);
        o.flush();
        return bos.toByteArray();
    }

    @Test
    void typedDataFieldsBecomeRawLittleEndian() throws IOException {
        // float_data unpacked, dims unpacked.
        byte[] a = proto(o -> {
            o.writeInt64(1, 2);
            o.writeInt64(1, 2);
            o.writeInt32(2, 1);
            for (float v : new float[] {1.5f, -2f, 0f, 3.25f}) o.writeFloat(4, v);
            o.writeString(8, "a");
        });
        OnnxTensor ta = OnnxTensorReader.parse(a, "a.pb");
        assertEquals("a", ta.name());
        assertArrayEquals(new long[] {2, 2}, ta.dims());
        assertArrayEquals(new float[] {1.5f, -2f, 0f, 3.25f}, ta.floats());

        // int32_data packed holding INT8 values, dims packed.
        byte[] b = proto(o -> {
            byte[] dims = proto(p -> p.writeInt64NoTag(3));
            o.writeByteArray(1, dims);
            o.writeInt32(2, 3);
            byte[] vals = proto(p -> {
                for (int v : new int[] {-128, 5, 127}) p.writeInt32NoTag(v);
            });
            o.writeByteArray(5, vals);
        });
        OnnxTensor tb = OnnxTensorReader.parse(b, "b.pb");
        assertEquals(OnnxDataType.INT8, tb.dataType());
        assertArrayEquals(new byte[] {-128, 5, 127}, tb.bytes());
        assertArrayEquals(new float[] {-128, 5, 127}, tb.toFloats());

        // int64_data and uint8 via int32_data, and a scalar (no dims).
        byte[] c = proto(o -> {
            o.writeInt32(2, 7);
            o.writeInt64(7, -9_000_000_000L);
        });
        assertArrayEquals(new long[] {-9_000_000_000L}, OnnxTensorReader.parse(c, "c.pb").longs());
        assertEquals(0, OnnxTensorReader.parse(c, "c.pb").dims().length);
        byte[] u = proto(o -> {
            o.writeInt64(1, 2);
            o.writeInt32(2, 2);
            o.writeInt32(5, 255);
            o.writeInt32(5, 0);
        });
        assertArrayEquals(new float[] {255, 0}, OnnxTensorReader.parse(u, "u.pb").toFloats());

        // double_data and FLOAT16 bits in int32_data.
        byte[] d = proto(o -> {
            o.writeInt64(1, 2);
            o.writeInt32(2, 11);
            o.writeDouble(10, 0.1);
            o.writeDouble(10, -4);
        });
        assertArrayEquals(new float[] {0.1f, -4f}, OnnxTensorReader.parse(d, "d.pb").toFloats());
        byte[] h = proto(o -> {
            o.writeInt64(1, 1);
            o.writeInt32(2, 10);
            o.writeInt32(5, 0x3C00); // 1.0 in binary16
        });
        assertArrayEquals(new float[] {1f}, OnnxTensorReader.parse(h, "h.pb").toFloats());
    }

    @Test
    void malformedTensorsNameTheFileAndTensor() throws IOException {
        byte[] shortRaw = proto(o -> {
            o.writeInt64(1, 4);
            o.writeInt32(2, 1);
            o.writeString(8, "weights");
            o.writeByteArray(9, new byte[12]);
        });
        var e = assertThrows(OnnxFormatException.class, () -> OnnxTensorReader.parse(shortRaw, "s.pb"));
        assertTrue(e.getMessage().contains("s.pb") && e.getMessage().contains("'weights'") && e.getMessage().contains("needs 16"), e.getMessage());

        byte[] fewValues = proto(o -> {
            o.writeInt64(1, 3);
            o.writeInt32(2, 1);
            o.writeFloat(4, 1f);
        });
        e = assertThrows(OnnxFormatException.class, () -> OnnxTensorReader.parse(fewValues, "f.pb"));
        assertTrue(e.getMessage().contains("3 elements has 1 values"), e.getMessage());

        byte[] badType = proto(o -> o.writeInt32(2, 99));
        e = assertThrows(OnnxFormatException.class, () -> OnnxTensorReader.parse(badType, "t.pb"));
        assertTrue(e.getMessage().contains("data_type 99"), e.getMessage());

        byte[] negative = proto(o -> {
            o.writeInt64(1, -2);
            o.writeInt32(2, 1);
        });
        e = assertThrows(OnnxFormatException.class, () -> OnnxTensorReader.parse(negative, "n.pb"));
        assertTrue(e.getMessage().contains("negative"), e.getMessage());

        byte[] huge = proto(o -> {
            o.writeInt64(1, 1L << 40);
            o.writeInt64(1, 1L << 40);
            o.writeInt32(2, 1);
        });
        e = assertThrows(OnnxFormatException.class, () -> OnnxTensorReader.parse(huge, "g.pb"));
        assertTrue(e.getMessage().contains("too large"), e.getMessage());

        byte[] external = proto(o -> {
            o.writeInt64(1, 1);
            o.writeInt32(2, 1);
            o.writeInt32(14, 1);
        });
        e = assertThrows(OnnxFormatException.class, () -> OnnxTensorReader.parse(external, "x.pb"));
        assertTrue(e.getMessage().contains("external"), e.getMessage());

        byte[] good = OnnxTensorReader.toBytes(OnnxTensor.ofFloats("w", new float[64], 8, 8));
        e = assertThrows(OnnxFormatException.class, () -> OnnxTensorReader.parse(Arrays.copyOf(good, good.length - 10), "cut.pb"));
        assertTrue(e.getMessage().contains("cut.pb"), e.getMessage());
    }

    @Test
    void damagedModelsFailWithOnnxFormatExceptionOnly() throws IOException {
        OnnxModelWriter w = new OnnxModelWriter("g");
        w.addInput("x", OnnxDataType.FLOAT, "N", 4);
        w.addInitializer("W", new float[12], 3, 4);
        w.addNode("Gemm", List.of("x", "W"), List.of("y"), OnnxAttribute.ofInt("transB", 1));
        w.addOutput("y", OnnxDataType.FLOAT, "N", 3);
        byte[] bytes = w.toBytes();
        Path file = dir.resolve("m.onnx");
        Files.write(file, Arrays.copyOf(bytes, bytes.length / 2));
        var e = assertThrows(OnnxFormatException.class, () -> OnnxModelReader.read(file));
        assertTrue(e.getMessage().contains("m.onnx"), e.getMessage());

        Random rng = new Random(3);
        int rejected = 0;
        for (int trial = 0; trial < 500; trial++) {
            byte[] b = bytes.clone();
            if (trial % 2 == 0) b = Arrays.copyOf(b, rng.nextInt(b.length));
            else b[rng.nextInt(b.length)] ^= (byte) (1 << rng.nextInt(8));
            try {
                OnnxModelReader.parse(b, "fuzz.onnx");
            } catch (OnnxFormatException ex) {
                assertTrue(ex.getMessage().startsWith("fuzz.onnx"), ex.getMessage());
                rejected++;
            }
        }
        assertTrue(rejected > 100, "damaged copies rejected: " + rejected);
        assertThrows(OnnxFormatException.class, () -> OnnxModelReader.parse(new byte[] {0x0A, 0x05, 1}, "tiny.onnx"));
        assertThrows(OnnxFormatException.class, () -> OnnxModelReader.parse(new byte[0], "empty.onnx"), "no graph");
    }
}
