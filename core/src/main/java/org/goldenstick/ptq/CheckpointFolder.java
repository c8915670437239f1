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
import org.goldenstick.formats.MappedPages;
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
        return open(dir, false);
    }

    /** As {@link #open(Path)}; with {@code unmapWhenUnreachable} the files stay mapped while anything taken from them is reachable. */
    static CheckpointFolder open(Path dir, boolean unmapWhenUnreachable) throws IOException {
        if (!Files.isDirectory(dir)) throw new IllegalArgumentException(dir + ": not a model folder");
        List<Path> shards = new ArrayList<>();
        Map<String, String> listed = new LinkedHashMap<>();
        Path single = dir.resolve("model.safetensors");
        Path index = dir.resolve("model.safetensors.index.json");
        if (Files.isRegularFile(single)) {
            shards.add(single);
        } else if (Files.isRegularFile(index)) {
            JsonNode map = org.goldenstick.llm.LlamaConfig.readJson(index).get("weight_map");
            if (map == null || !map.isObject()) throw new IllegalArgumentException(index + ": missing object 'weight_map'");
            TreeSet<String> names = new TreeSet<>();
            map.properties().forEach(e -> {
                if (!e.getValue().isTextual()) throw new IllegalArgumentException(index + ": weight_map['" + e.getKey() + "'] must be a file name");
                String f = e.getValue().asText();
                if (f.contains("/") || f.contains("\\") || f.startsWith(".")) throw new IllegalArgumentException(index + ": weight_map['" + e.getKey() + "'] names '" + f + "', not a file in the folder");
                names.add(f);
                listed.put(e.getKey(), f);
            });
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
                if (Files.isDirectory(p)) throw new IllegalArgumentException(p + ": is a folder, expected a safetensors file");
                if (!Files.isRegularFile(p)) throw new IllegalArgumentException(p + ": shard listed in the index is missing");
                SafetensorsFile f = SafetensorsFile.open(p, unmapWhenUnreachable);
                c.files.add(f);
                c.bytes += Files.size(p);
                for (SafetensorsEntry e : f.entries()) {
                    if (c.entries.put(e.name(), e) != null) throw new IllegalArgumentException(p + ": tensor '" + e.name() + "' also appears in another shard");
                    c.owner.put(e.name(), f);
                }
            }
            Path indexFile = index;
            listed.forEach((name, file) -> {
                SafetensorsFile f = c.owner.get(name);
                if (f == null) throw new IllegalArgumentException(indexFile + ": lists tensor '" + name + "' in " + file + " but that file does not hold it");
                if (!f.path().getFileName().toString().equals(file)) {
                    throw new IllegalArgumentException(indexFile + ": lists tensor '" + name + "' in " + file + " but it is in " + f.path().getFileName());
                }
            });
            for (String name : c.entries.keySet()) {
                if (!listed.isEmpty() && !listed.containsKey(name)) throw new IllegalArgumentException(indexFile + ": does not list tensor '" + name + "' of " + c.owner.get(name).path().getFileName());
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

    /** Tensor name → the mapped file holding it. */
    Map<String, SafetensorsFile> files() {
        return owner;
    }

    Map<String, SafetensorsEntry> entries() {
        return entries;
    }

    SafetensorsEntry entry(String name) {
        SafetensorsEntry e = entries.get(name);
        if (e == null) throw new IllegalArgumentException(dir + ": checkpoint has no tensor '" + name + "'");
        return e;
    }

    /** The values of {@code name} converted to float32 (the mapped pages read are given back, {@link MappedPages}). */
    float[] floats(String name) {
        SafetensorsEntry e = entry(name);
        float[] v = owner.get(name).floats(name);
        MappedPages.release(e.segment());
        return v;
    }

    /**
     * Elements {@code [from, from + n)} of a floating-point tensor as floats, into {@code out[0..n)}. The mapped pages
     * read are given back afterwards, so that a pass over a checkpoint larger than RAM keeps about one piece resident.
     */
    void floats(String name, long from, int n, float[] out) {
        SafetensorsEntry e = entry(name);
        owner.get(name).floats(name, from, n, out);
        long b = e.dtype().byteSize();
        MappedPages.release(e.segment().asSlice(from * b, n * b));
    }

    /** Total size of the shard files in bytes. */
    long bytes() {
        return bytes;
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
