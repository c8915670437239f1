package org.goldenstick.formats.safetensors;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsRoundTripTest {
    @TempDir
    Path dir;

    @Test
    void roundTripsEveryWritableDtypeAndMetadata() throws Exception {
        Random rng = new Random(1);
        Tensor w = Tensor.randn(rng, 3, 5);
        byte[] q = new byte[] {-128, -1, 0, 1, 127, 42};
        byte[] u = new byte[] {(byte) 255, 0, (byte) 128, 7};
        int[] i32 = {Integer.MIN_VALUE, -1, 0, 1, Integer.MAX_VALUE, 12345};
        long[] i64 = {Long.MIN_VALUE, -7, Long.MAX_VALUE};
        Path p = dir.resolve("m.safetensors");
        new SafetensorsWriter()
                .metadata("format", "pt")
                .metadata("note", "ünïcode ✓")
                .add("w32", w)
                .add("w16", w, DType.F16)
                .add("wbf", w, DType.BF16)
                .addInt8("q", q, 2, 3)
                .addUint8("u", u, 4)
                .addInt32("i", i32, 3, 2)
                .addInt64("l", i64, 3)
                .add("scalar", Tensor.scalar(2.5f))
                .addFloats("empty", new float[0], DType.F32, 0, 4)
                .write(p);

        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals("pt", f.metadata().get("format"));
            assertEquals("ünïcode ✓", f.metadata().get("note"));
            assertEquals(List.of("empty", "i", "l", "q", "scalar", "u", "w16", "w32", "wbf"), f.names(), "name order, offsets ascending");
            assertArrayEquals(w.data(), f.toTensor("w32").data());
            assertArrayEquals(new int[] {3, 5}, f.toTensor("w32").shape());
            assertEquals(DType.F16, f.entry("w16").dtype());
            assertEquals(DType.BF16, f.entry("wbf").dtype());
            float[] h = f.toTensor("w16").data();
            float[] b = f.toTensor("wbf").data();
            for (int k = 0; k < w.numel(); k++) {
                float x = w.data()[k];
                assertEquals(x, h[k], Math.abs(x) * 0x1p-11 + 0x1p-25, "f16 error bound at " + k);
                assertEquals(x, b[k], Math.abs(x) * 0x1p-8, "bf16 error bound at " + k);
            }
            assertArrayEquals(q, f.int8("q"));
            assertArrayEquals(new int[] {2, 3}, f.entry("q").shape());
            assertArrayEquals(u, f.uint8("u"));
            assertArrayEquals(new float[] {255, 0, 128, 7}, f.toTensor("u").data());
            assertArrayEquals(new float[] {-128, -1, 0, 1, 127, 42}, f.toTensor("q").data());
            assertArrayEquals(i32, f.int32("i"));
            assertArrayEquals(i64, f.int64("l"));
            assertEquals(0, f.entry("scalar").shape().length);
            assertEquals(2.5f, f.toTensor("scalar").item());
            assertEquals(0, f.toTensor("empty").numel());
            assertEquals(6, f.segment("q").byteSize());
            assertThrows(IllegalArgumentException.class, () -> f.int8("u"), "dtype is checked");
            IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> f.entry("nope"));
            assertTrue(missing.getMessage().contains("nope") && missing.getMessage().contains("m.safetensors"));
        }
        var all = SafetensorsFile.loadAll(p);
        assertEquals(9, all.size());
        assertArrayEquals(w.data(), all.get("w32").data());
        assertArrayEquals(new float[] {255, 0, 128, 7}, all.get("u").data());
        ByteBuffer head = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0, (8 + head.getLong(0)) % 8, "data section is 8-byte aligned");
    }

    @Test
    void outputDoesNotDependOnInsertionOrder() throws Exception {
        Tensor a = Tensor.randn(new Random(2), 4, 4);
        Tensor b = Tensor.randn(new Random(3), 7);
        Path p1 = dir.resolve("1.safetensors");
        Path p2 = dir.resolve("2.safetensors");
        new SafetensorsWriter().metadata("k", "v").metadata("a", "b").add("b", b).add("a", a).write(p1);
        new SafetensorsWriter().metadata("a", "b").metadata("k", "v").add("a", a).add("b", b).write(p2);
        assertArrayEquals(Files.readAllBytes(p1), Files.readAllBytes(p2));
    }

    @Test
    void readsDtypesTheWriterDoesNotProduce() throws Exception {
        // F64, I16, BOOL and BF16 written byte by byte, independent of the writer.
        ByteBuffer data = ByteBuffer.allocate(8 * 3 + 2 * 2 + 3 + 2 * 2).order(ByteOrder.LITTLE_ENDIAN);
        data.putDouble(1.5).putDouble(-1e-3).putDouble(3e38);
        data.putShort((short) -300).putShort((short) 7);
        data.put((byte) 1).put((byte) 0).put((byte) 5);
        data.putShort((short) 0x3F80).putShort((short) 0xC040); // bf16 1.0, -3.0
        String json = "{\"d\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[0,24]},"
                + "\"s\":{\"dtype\":\"I16\",\"shape\":[2],\"data_offsets\":[24,28]},"
                + "\"t\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[28,31]},"
                + "\"z\":{\"dtype\":\"BF16\",\"shape\":[2,1],\"data_offsets\":[31,35]}}";
        Path p = MalformedSafetensorsTest.file(dir, "hand.safetensors", json, data.array());
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertArrayEquals(new float[] {1.5f, -1e-3f, 3e38f}, f.toTensor("d").data());
            assertArrayEquals(new short[] {-300, 7}, f.int16("s"));
            assertArrayEquals(new float[] {-300, 7}, f.toTensor("s").data());
            assertArrayEquals(new float[] {1, 0, 1}, f.toTensor("t").data());
            assertArrayEquals(new float[] {1, -3}, f.toTensor("z").data());
            assertArrayEquals(new short[] {0x3F80, (short) 0xC040}, f.halfBits("z"));
            assertEquals(31, f.entry("z").dataBegin(), "unaligned data is fine");
        }
    }

    @Test
    void copiesRawEntriesBetweenFiles() throws Exception {
        Path a = dir.resolve("a.safetensors");
        Tensor t = Tensor.randn(new Random(4), 2, 3);
        new SafetensorsWriter().add("x", t, DType.BF16).addInt8("q", new byte[] {1, 2}, 2).write(a);
        Path b = dir.resolve("b.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(a)) {
            SafetensorsWriter w = new SafetensorsWriter();
            for (SafetensorsEntry e : f.entries()) w.addRaw(e.name(), e.dtype(), e.shape(), e.segment());
            w.write(b);
        }
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
    }

    @Test
    void largePayloadStreamsThroughTheBuffer() throws Exception {
        // More than the 1 MiB write buffer, in every float encoding.
        float[] big = new float[700_000];
        Random rng = new Random(5);
        for (int i = 0; i < big.length; i++) big[i] = (float) rng.nextGaussian();
        Path p = dir.resolve("big.safetensors");
        new SafetensorsWriter().addFloats("a", big, DType.F32, 700, 1000).addFloats("b", big, DType.BF16, big.length).write(p);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertArrayEquals(big, f.floats("a"));
            short[] bits = f.halfBits("b");
            for (int i = 0; i < big.length; i += 997) assertEquals(HalfFloats.toBf16(big[i]), bits[i]);
        }
    }

    @Test
    void floatSlicesEqualTheWholeTensorInEveryFloatEncoding() throws Exception {
        // spans more than one 64 Ki-element conversion chunk
        float[] big = new float[150_001];
        Random rng = new Random(6);
        for (int i = 0; i < big.length; i++) big[i] = (float) rng.nextGaussian();
        Path p = dir.resolve("slices.safetensors");
        new SafetensorsWriter().addFloats("f32", big, DType.F32, big.length).addFloats("bf16", big, DType.BF16, big.length)
                .addFloats("f16", big, DType.F16, big.length).write(p);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            for (String name : new String[] {"f32", "bf16", "f16"}) {
                float[] whole = f.floats(name);
                for (int[] range : new int[][] {{0, 10}, {65_530, 70_000}, {150_000, 1}, {0, 150_001}, {7, 0}}) {
                    float[] out = new float[range[1] + 3];
                    f.floats(name, range[0], range[1], out);
                    assertArrayEquals(java.util.Arrays.copyOfRange(whole, range[0], range[0] + range[1]), java.util.Arrays.copyOf(out, range[1]),
                            name + " " + java.util.Arrays.toString(range));
                }
                var e = assertThrows(IllegalArgumentException.class, () -> f.floats(name, 150_000, 2, new float[2]));
                assertTrue(e.getMessage().contains(name) && e.getMessage().contains("150001"), e.getMessage());
            }
        }
    }

    @Test
    void failedWriteLeavesOldFileAndNoTemporaryFile() throws Exception {
        Path p = dir.resolve("keep.safetensors");
        new SafetensorsWriter().add("x", Tensor.of(new float[] {1, 2}, 2)).write(p);
        byte[] before = Files.readAllBytes(p);
        MemorySegment dead;
        try (Arena arena = Arena.ofConfined()) {
            dead = arena.allocate(8);
        }
        SafetensorsWriter w = new SafetensorsWriter().add("a", Tensor.of(new float[] {3}, 1)).addRaw("z", DType.F32, new int[] {2}, dead);
        assertThrows(IllegalStateException.class, () -> w.write(p));
        assertArrayEquals(before, Files.readAllBytes(p));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(p), s.toList(), "temporary file removed");
        }
    }

    @Test
    void writerRejectsBadInput() {
        SafetensorsWriter w = new SafetensorsWriter().addInt8("a", new byte[4], 2, 2);
        assertThrows(IllegalArgumentException.class, () -> w.addInt8("a", new byte[1], 1), "duplicate");
        assertThrows(IllegalArgumentException.class, () -> w.addInt8("b", new byte[3], 2, 2), "size mismatch");
        assertThrows(IllegalArgumentException.class, () -> w.addInt32("c", new int[0], -1, 0), "negative dim");
        assertThrows(IllegalArgumentException.class, () -> w.addFloats("d", new float[1], DType.I8, 1), "float as I8");
        assertThrows(IllegalArgumentException.class, () -> w.addInt8("__metadata__", new byte[1], 1), "reserved");
    }

    @Test
    void segmentsAreInvalidAfterClose() throws Exception {
        Path p = dir.resolve("c.safetensors");
        new SafetensorsWriter().addInt8("q", new byte[] {9}, 1).write(p);
        MemorySegment s;
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            s = f.segment("q");
            assertEquals(9, s.get(ValueLayout.JAVA_BYTE, 0));
        }
        assertThrows(IllegalStateException.class, () -> s.get(ValueLayout.JAVA_BYTE, 0));
    }
}
