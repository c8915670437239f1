package org.goldenstick.formats.safetensors;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Malformed files must fail with a {@link SafetensorsFormatException} naming the file and the field, never OOM. */
class MalformedSafetensorsTest {
    @TempDir
    Path dir;

    /** A file with the given header JSON and data bytes. */
    static Path file(Path dir, String name, String json, byte[] data) throws IOException {
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        Path p = dir.resolve(name);
        Files.write(p, b.array());
        return p;
    }

    private void rejects(String json, int dataBytes, String... mustMention) throws IOException {
        rejects(file(dir, "bad.safetensors", json, new byte[dataBytes]), mustMention);
    }

    private static void rejects(Path p, String... mustMention) {
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(p).close());
        assertTrue(e.getMessage().contains(p.getFileName().toString()), () -> "names the file: " + e.getMessage());
        for (String s : mustMention) assertTrue(e.getMessage().contains(s), () -> "mentions '" + s + "': " + e.getMessage());
    }

    @Test
    void headerProblems() throws IOException {
        Path tiny = dir.resolve("tiny.safetensors");
        Files.write(tiny, new byte[] {1, 2, 3});
        rejects(tiny, "too short");

        ByteBuffer absurd = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).putLong(0);
        Path huge = dir.resolve("huge.safetensors");
        Files.write(huge, absurd.array());
        rejects(huge, "header length");

        ByteBuffer negative = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-5).putLong(0);
        Path neg = dir.resolve("neg.safetensors");
        Files.write(neg, negative.array());
        rejects(neg, "header length");

        ByteBuffer past = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).put("{}".getBytes());
        Path pastEof = dir.resolve("past.safetensors");
        Files.write(pastEof, past.array());
        rejects(pastEof, "past the end");

        rejects("{\"a\": {\"dtype\": \"F32\",", 0, "JSON");
        rejects("[1, 2, 3]", 0, "'{'");
        rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "JSON", "a");
        rejects("{\"__metadata__\":{\"k\":3}}", 0, "__metadata__", "k");
        rejects("{\"__metadata__\":[1]}", 0, "__metadata__");
    }

    @Test
    void fieldProblems() throws IOException {
        rejects("{\"w\":{\"dtype\":\"F17\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "'w'", "dtype", "F17");
        rejects("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "'w'", "dtype");
        rejects("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "'w'", "shape[0]");
        rejects("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, "'w'", "shape[0]");
        rejects("{\"w\":{\"dtype\":\"F32\",\"shape\":[1, 99999999999999999999],\"data_offsets\":[0,4]}}", 4, "'w'", "shape[1]");
        rejects("{\"w\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,2147483647],\"data_offsets\":[0,4]}}", 4, "'w'", "shape");
        rejects("{\"w\":{\"dtype\":\"F32\",\"shape\":\"1\",\"data_offsets\":[0,4]}}", 4, "'w'", "shape");
        rejects("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "'w'", "data_offsets");
        rejects("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,-4]}}", 4, "'w'", "data_offsets[1]");
        rejects("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4, "'w'", "end before");
        rejects("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", 4, "'w'", "past the end");
        rejects("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "'w'", "needs 8");
        rejects("{\"w\":3}", 0, "'w'");
    }

    @Test
    void layoutProblems() throws IOException {
        rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlap", "'a'", "'b'");
        rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12, "hole", "'b'");
        rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 12, "cover 4");
        // Listed out of offset order is fine as long as the offsets tile the data section.
        Path ok = file(dir, "ok.safetensors", "{\"b\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[1,2]},\"a\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,1]}}", new byte[] {5, 6});
        try (SafetensorsFile f = SafetensorsFile.open(ok)) {
            assertEquals(java.util.List.of("a", "b"), f.names());
            assertArrayEquals(new byte[] {6}, f.int8("b"));
        }
    }

    @Test
    void corruptedCopiesOfAValidFileFailCleanly() throws IOException {
        Path good = dir.resolve("good.safetensors");
        new SafetensorsWriter().metadata("m", "x").add("a", Tensor.randn(new Random(1), 3, 4)).addInt8("q", new byte[10], 10).write(good);
        byte[] bytes = Files.readAllBytes(good);
        Random rng = new Random(9);
        int rejected = 0;
        for (int trial = 0; trial < 400; trial++) {
            byte[] b = bytes.clone();
            if (trial % 2 == 0) {
                b = java.util.Arrays.copyOf(b, rng.nextInt(b.length));
            } else {
                int pos = rng.nextInt(Math.min(b.length, 200));
                b[pos] = (byte) rng.nextInt(256);
            }
            Path p = dir.resolve("fuzz.safetensors");
            Files.write(p, b);
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                for (SafetensorsEntry e : f.entries()) f.floats(e.name());
            } catch (SafetensorsFormatException e) {
                assertTrue(e.getMessage().contains("fuzz.safetensors"));
                rejected++;
            }
        }
        assertTrue(rejected > 200, "truncations are always rejected, got " + rejected);
    }
}
