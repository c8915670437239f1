package org.goldenstick.ptq;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.goldenstick.formats.safetensors.SafetensorsEntry;
import org.goldenstick.formats.safetensors.SafetensorsFile;

/**
 * The memory-mapped safetensors shards of a Hugging Face model folder ({@code model.safetensors}, or the shards
 * named by {@code model.safetensors.index.json}), seen as one lazy name → entry map. Nothing is read until an
 * entry's bytes are touched.
 */
final class CheckpointFolder implements AutoCloseable {
    private final Path dir;
    private final List<SafetensorsFile> files = new ArrayList<>();
    private final Map<String, SafetensorsEntry> entries = new LinkedHashMap<>();
    private final Map<String, SafetensorsFile> owner = new LinkedHashMap<>();
    private long bytes;

    private CheckpointFolder(Path dir) {
        this.dir = dir;
    }

    static CheckpointFolder open(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) throw new IllegalArgumentException(dir + ": not a model folder");
        List<Path> shards = new ArrayList<>();
        Path single = dir.resolve("model.safetensors");
        Path index = dir.resolve("model.safetensors.index.json");
        if (Files.isRegularFile(single)) {
            shards.add(single);
        } else if (Files.isRegularFile(index)) {
            JsonNode map = new ObjectMapper().readTree(index.toFile()).get("weight_map");
            if (map == null || !map.isObject()) throw new IllegalArgumentException(index + ": missing object 'weight_map'");
            TreeSet<String> names = new TreeSet<>();
            map.properties().forEach(e -> names.add(e.getValue().asText()));
            for (String n : names) shards.add(dir.resolve(n));
        } else {
            try (Stream<Path> s = Files.list(dir)) {
                s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().forEach(shards::add);
            }
        }
        if (shards.isEmpty()) throw new IllegalArgumentException(dir + ": no model.safetensors (or shards) in the model folder");
        CheckpointFolder c = new CheckpointFolder(dir);
        try {
            for (Path p : shards) {
                if (!Files.isRegularFile(p)) throw new IllegalArgumentException(p + ": shard listed in the index is missing");
                SafetensorsFile f = SafetensorsFile.open(p);
                c.files.add(f);
                c.bytes += Files.size(p);
                for (SafetensorsEntry e : f.entries()) {
                    if (c.entries.put(e.name(), e) != null) throw new IllegalArgumentException(p + ": tensor '" + e.name() + "' also appears in another shard");
                    c.owner.put(e.name(), f);
                }
            }
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
        return c;
    }

    Path dir() {
        return dir;
    }

    Map<String, SafetensorsEntry> entries() {
        return entries;
    }

    SafetensorsEntry entry(String name) {
        SafetensorsEntry e = entries.get(name);
        if (e == null) throw new IllegalArgumentException(dir + ": checkpoint has no tensor '" + name + "'");
        return e;
    }

    /** The values of {@code name} converted to float32. */
    float[] floats(String name) {
        entry(name);
        return owner.get(name).floats(name);
    }

    /** Elements {@code [from, from + n)} of a floating-point tensor as floats, into {@code out[0..n)}. */
    void floats(String name, long from, int n, float[] out) {
        entry(name);
        owner.get(name).floats(name, from, n, out);
    }

    /** Total size of the shard files in bytes. */
    long bytes() {
        return bytes;
    }

    /**
     * Checks that every tensor the config implies is present with the implied shape and a floating-point dtype
     * (quantized checkpoints are checked elsewhere); the error names the folder, tensor and both shapes.
     */
    void requireFloatLayout(LlamaLayout layout) {
        for (var e : layout.expectedShapes().entrySet()) {
            SafetensorsEntry t = entries.get(e.getKey());
            if (t == null) throw new IllegalArgumentException(dir + ": checkpoint is missing tensor '" + e.getKey() + "' (expected by config.json)");
            if (!Arrays.equals(t.shape(), e.getValue())) {
                throw new IllegalArgumentException(dir + ": tensor '" + e.getKey() + "' has shape " + Arrays.toString(t.shape()) + " but config.json implies " + Arrays.toString(e.getValue()));
            }
            if (!t.dtype().isFloatingPoint()) throw new IllegalArgumentException(dir + ": tensor '" + e.getKey() + "' is " + t.dtype() + "; expected a floating-point checkpoint (is it already quantized?)");
        }
    }

    @Override
    public void close() {
        for (SafetensorsFile f : files) {
            try {
                f.close();
            } catch (Exception ignored) {
                // closing a read-only mapping cannot lose data
            }
        }
    }
}
