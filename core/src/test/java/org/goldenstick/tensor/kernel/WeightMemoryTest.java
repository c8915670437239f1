package org.goldenstick.tensor.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every weight segment is of one kind: file views and copies of heap weights alike (see WeightMemory for why). */
class WeightMemoryTest {
    @TempDir
    Path tmp;

    @Test
    void aViewOfAMappedFileIsNativeReadOnlyTheSameBytesAndLivesAsLongAsItsArena() throws IOException {
        byte[] bytes = new byte[10_000];
        new Random(3).nextBytes(bytes);
        Path f = Files.write(tmp.resolve("w.bin"), bytes);
        Arena arena = Arena.ofShared();
        MemorySegment mapped, view;
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, bytes.length, arena);
        }
        view = WeightMemory.view(mapped, arena);
        assertTrue(mapped.isMapped() && !WeightMemory.isWeightKind(mapped), "the mapping's own segment class is another kind");
        assertTrue(WeightMemory.isWeightKind(view) && WeightMemory.isFileView(view));
        assertEquals(mapped.address(), view.address(), "the same pages, no copy");
        assertArrayEquals(bytes, view.toArray(ValueLayout.JAVA_BYTE));
        assertTrue(WeightMemory.isWeightKind(view.asSlice(100, 50)), "slices keep the kind");
        assertThrows(IllegalArgumentException.class, () -> view.set(ValueLayout.JAVA_BYTE, 0, (byte) 1), "read-only");
        arena.close();
        assertThrows(IllegalStateException.class, () -> view.get(ValueLayout.JAVA_BYTE, 0), "the view dies with the mapping's arena");
    }

    @Test
    void heapWeightsAreCopiedIntoTheSameKind() {
        byte[] q = {1, -2, 3, -4, 5, -6, 7, -8};
        MemorySegment c = WeightMemory.copy(q);
        assertTrue(WeightMemory.isWeightKind(c) && !WeightMemory.isFileView(c));
        assertEquals(0, c.address() % 64, "cache-line aligned");
        assertArrayEquals(q, c.toArray(ValueLayout.JAVA_BYTE));
        q[0] = 100;
        assertEquals(1, c.get(ValueLayout.JAVA_BYTE, 0), "a copy, not a view of the array");
        assertFalse(WeightMemory.isWeightKind(MemorySegment.ofArray(q)));

        float[] w = {0.5f, -1.25f, 3f, 7f, -0.125f, 2f};
        FloatWeights fw = FloatWeights.of(w, 2, 3);
        assertTrue(WeightMemory.isWeightKind(fw.data()));
        assertArrayEquals(w, fw.toFloats());

        byte[] codes = {-8, 7, 0, 3, -1, 2, 5, -4};
        PackedIntWeights p = PackedIntWeights.pack(codes, 2, 4, 4, 4, new float[] {0.5f, 2f}, null);
        assertTrue(WeightMemory.isWeightKind(p.words()));
        for (int r = 0; r < 2; r++) for (int col = 0; col < 4; col++) assertEquals(codes[r * 4 + col], p.q(r, col));

        Int8Weights i8 = Int8Weights.perChannel(q, 2, 4, new float[] {1f, 1f});
        assertTrue(WeightMemory.isWeightKind(i8.data()));
        assertEquals(100, i8.q(0, 0));
        assertTrue(WeightMemory.isWeightKind(Int8Weights.quantize(w, 2, 3, 3).data()));
    }
}
