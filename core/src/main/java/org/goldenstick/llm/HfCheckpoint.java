package org.goldenstick.llm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.goldenstick.formats.AtomicFiles;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.formats.safetensors.HalfFloats;
import org.goldenstick.formats.safetensors.SafetensorsEntry;
import org.goldenstick.formats.safetensors.SafetensorsFile;
import org.goldenstick.formats.safetensors.SafetensorsWriter;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.FloatWeights;
import org.goldenstick.tensor.kernel.Parallel;

/**
 * A Hugging Face model folder: {@code config.json} plus {@code model.safetensors}, or sharded
 * {@code model-0000x-of-0000y.safetensors} files listed by {@code model.safetensors.index.json}.
 *
 * <p>Opening maps the files and reads only their headers, so even a multi-GB checkpoint opens at once. Tensors
 * are then read lazily: {@link #entry(String)} gives the mapped bytes of one tensor (what RTN quantization
 * streams through), {@link #toModel()} converts everything (F32/F16/BF16) into a {@link LlamaModel} on the heap (for
 * training and quantization, which change weights), and {@link #map(Path)} builds a model whose projections and
 * embeddings are views of the mapped files ({@link MappedLinear}; for inference: eval, generate, bench), so that a
 * checkpoint larger than the Java heap still runs. Both check every tensor against config.json first, before
 * anything large is allocated.
 *
 * <pre>{@code
 * LlamaModel mapped = HfCheckpoint.map(Path.of("models/gstick-llama-demo"));   // weights stay in the page cache
 * try (HfCheckpoint ckpt = HfCheckpoint.open(Path.of("models/gstick-llama-demo"))) {
 *     LlamaModel model = ckpt.toModel();
 *     for (String name : ckpt.tensorNames()) System.out.println(name + " " + ckpt.entry(name).dtype());
 * }
 * HfCheckpoint.save(model, Path.of("out"), DType.BF16, Path.of("models/gstick-llama-demo"), false);
 * }</pre>
 */
public final class HfCheckpoint implements AutoCloseable {
    /** Files copied next to saved weights when present in the source folder (tokenizer, generation settings, eval text). */
    public static final List<String> COMPANION_FILES = List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
            "tokenizer.model", "generation_config.json", "heldout.txt", "RECIPE.md");

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path dir;
    private final LlamaConfig config;
    private final List<SafetensorsFile> files;
    private final LinkedHashMap<String, SafetensorsFile> byName;

    private HfCheckpoint(Path dir, LlamaConfig config, List<SafetensorsFile> files, LinkedHashMap<String, SafetensorsFile> byName) {
        this.dir = dir;
        this.config = config;
        this.files = files;
        this.byName = byName;
    }

    // ---------------------------------------------------------------- opening

    /** Maps the folder's safetensors files (headers only) and parses config.json. */
    public static HfCheckpoint open(Path dir) throws IOException {
        return open(dir, false);
    }

    /**
     * As {@link #open(Path)}; with {@code unmapWhenUnreachable} the files stay mapped as long as anything taken from them
     * (a mapped model) is reachable, and {@link #close()} does nothing.
     */
    public static HfCheckpoint open(Path dir, boolean unmapWhenUnreachable) throws IOException {
        if (!Files.isDirectory(dir)) throw new NoSuchFileException(dir.toString(), null, "not a model folder (expected config.json and model.safetensors)");
        LlamaConfig config = LlamaConfig.load(dir.resolve("config.json"));
        List<Path> shardPaths = shardPaths(dir);
        List<SafetensorsFile> files = new ArrayList<>();
        LinkedHashMap<String, SafetensorsFile> byName = new LinkedHashMap<>();
        try {
            for (Path p : shardPaths) {
                SafetensorsFile f = SafetensorsFile.open(p, unmapWhenUnreachable);
                files.add(f);
                for (String n : f.names()) {
                    SafetensorsFile prev = byName.putIfAbsent(n, f);
                    if (prev != null) throw new IOException(dir + ": tensor '" + n + "' appears in both " + prev.path().getFileName() + " and " + p.getFileName());
                }
            }
            checkIndex(dir, byName);
        } catch (IOException | RuntimeException e) {
            files.forEach(SafetensorsFile::close);
            throw e;
        }
        return new HfCheckpoint(dir, config, files, byName);
    }

    private static List<Path> shardPaths(Path dir) throws IOException {
        Path single = dir.resolve("model.safetensors");
        Path index = dir.resolve("model.safetensors.index.json");
        if (Files.exists(index)) {
            JsonNode map = readIndex(index).get("weight_map");
            List<Path> out = new ArrayList<>();
            for (JsonNode f : (Iterable<JsonNode>) () -> map.elements()) {
                Path p = dir.resolve(f.asText());
                if (!out.contains(p)) out.add(p);
            }
            out.sort(Comparator.naturalOrder());
            for (Path p : out) if (!Files.exists(p)) throw new NoSuchFileException(p.toString(), null, "shard listed in " + index.getFileName() + " is missing");
            return out;
        }
        if (Files.exists(single)) return List.of(single);
        throw new NoSuchFileException(single.toString(), null, "no weights (expected model.safetensors or model.safetensors.index.json with shards)");
    }

    private static JsonNode readIndex(Path index) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(org.goldenstick.formats.TextFiles.read(index));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IOException(index + ": not valid JSON: " + e.getOriginalMessage());
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject()) throw new IOException(index + ": missing object field 'weight_map'");
        map.fields().forEachRemaining(e -> {
            if (!e.getValue().isTextual()) throw new IllegalArgumentException(index + ": weight_map['" + e.getKey() + "'] must be a file name");
            String f = e.getValue().asText();
            if (f.contains("/") || f.contains("\\") || f.startsWith(".")) throw new IllegalArgumentException(index + ": weight_map['" + e.getKey() + "'] names '" + f + "', not a file in the folder");
        });
        return root;
    }

    private static void checkIndex(Path dir, Map<String, SafetensorsFile> byName) throws IOException {
        Path index = dir.resolve("model.safetensors.index.json");
        if (!Files.exists(index)) return;
        JsonNode map = readIndex(index).get("weight_map");
        for (var it = map.fields(); it.hasNext(); ) {
            var e = it.next();
            SafetensorsFile f = byName.get(e.getKey());
            if (f == null) throw new IOException(index + ": lists tensor '" + e.getKey() + "' in " + e.getValue().asText() + " but that file does not hold it");
            if (!f.path().getFileName().toString().equals(e.getValue().asText())) {
                throw new IOException(index + ": lists tensor '" + e.getKey() + "' in " + e.getValue().asText() + " but it is in " + f.path().getFileName());
            }
        }
    }

    public Path dir() {
        return dir;
    }

    public LlamaConfig config() {
        return config;
    }

    /** Every tensor name, shard by shard in data order. */
    public List<String> tensorNames() {
        return List.copyOf(byName.keySet());
    }

    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    /** The lazily mapped tensor {@code name} (dtype, shape, bytes); errors name the folder. */
    public SafetensorsEntry entry(String name) {
        return file(name).entry(name);
    }

    /** The shard holding {@code name}. */
    public SafetensorsFile file(String name) {
        SafetensorsFile f = byName.get(name);
        if (f == null) throw new IllegalArgumentException(dir + ": checkpoint has no tensor '" + name + "'");
        return f;
    }

    /** Tensor {@code name} converted to float32 (F32, F16 or BF16). */
    public Tensor tensor(String name) {
        SafetensorsEntry e = entry(name);
        float[] out = new float[checkedNumel(e)];
        convert(e, out);
        return Tensor.of(out, e.shape());
    }

    /** Bytes of all tensors. */
    public long totalBytes() {
        long n = 0;
        for (String name : byName.keySet()) n += entry(name).byteLength();
        return n;
    }

    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }

    // ---------------------------------------------------------------- building the model

    /** Opens, builds and closes: the model with all weights converted to float32 on the heap (see {@link #toModel()}). */
    public static LlamaModel load(Path dir) throws IOException {
        try (HfCheckpoint c = open(dir)) {
            return c.toModel();
        }
    }

    /**
     * The model of {@code dir} with its weights served from the mapped files (see {@link #toMappedModel()}); the files
     * stay mapped while the model is reachable. The Java heap holds only the norms and biases.
     */
    public static LlamaModel map(Path dir) throws IOException {
        return open(dir, true).toMappedModel();
    }

    /**
     * Builds a {@link LlamaModel} for config.json and fills it from the checkpoint, converted to float32 on the heap.
     * The checkpoint is checked against config.json first ({@link #toMappedModel()}), so a config whose sizes disagree
     * with the tensors fails before the model is allocated.
     */
    public LlamaModel toModel() {
        toMappedModel();
        LlamaModel model = new LlamaModel(config, LlamaModel.NO_INIT);
        List<Map.Entry<String, Tensor>> todo = new ArrayList<>(model.stateDict().entrySet());
        Parallel.forEach(todo.size(), i -> convert(entry(todo.get(i).getKey()), todo.get(i).getValue().data()));
        return model;
    }

    /**
     * Builds a {@link LlamaModel} for config.json whose projections ({@link MappedLinear}) and embeddings read their
     * weights in place from this checkpoint's mapping (F32, F16 or BF16, no copy); norms and biases are copied. Every
     * tensor the config implies must be present with that shape and a float dtype, and tensors the architecture does not
     * use are an error too (except rotary {@code inv_freq} buffers and a redundant {@code lm_head.weight} of tied models);
     * the error names the file, the tensor and both shapes. Nothing larger than a norm is allocated before that check.
     * The model is valid while this checkpoint is open (or, opened with {@code unmapWhenUnreachable}, while it is reachable).
     */
    public LlamaModel toMappedModel() {
        MappedParts parts = new MappedParts(dir, byName);
        LlamaModel model = new LlamaModel(config, parts);
        parts.finish(config);
        return model;
    }

    private int checkedNumel(SafetensorsEntry e) {
        if (e.numel() > Integer.MAX_VALUE - 16) throw new IllegalArgumentException(dir + ": tensor '" + e.name() + "' has " + e.numel() + " elements, more than one Java array holds");
        return (int) e.numel();
    }

    /** Converts a float entry (F32/F16/BF16, little-endian) into {@code out}. */
    static void convert(SafetensorsEntry e, float[] out) {
        MemorySegment s = e.segment();
        int n = out.length;
        if (e.numel() != n) throw new IllegalArgumentException("tensor '" + e.name() + "': " + e.numel() + " elements for a buffer of " + n);
        switch (e.dtype()) {
            case F32 -> MemorySegment.copy(s, F32_LE, 0, out, 0, n);
            case BF16 -> {
                for (int i = 0; i < n; i++) out[i] = Float.intBitsToFloat((s.getAtIndex(I16_LE, i) & 0xFFFF) << 16);
            }
            case F16 -> {
                for (int i = 0; i < n; i++) out[i] = HalfFloats.f16ToFloat(s.getAtIndex(I16_LE, i));
            }
            default -> throw new IllegalArgumentException("tensor '" + e.name() + "' has dtype " + e.dtype() + "; expected F32, F16 or BF16");
        }
    }

    // ---------------------------------------------------------------- saving


    /** Copies {@link #COMPANION_FILES} present in {@code from} (may be null) into {@code to}. */
    public static void copyCompanionFiles(Path from, Path to) throws IOException {
        if (from == null) return;
        for (String n : COMPANION_FILES) {
            Path src = from.resolve(n);
            if (Files.isRegularFile(src)) Files.copy(src, to.resolve(n), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Saves {@code model} as one {@code model.safetensors} (see {@link #save(LlamaModel, Path, DType, Path, boolean, long)}). */
    public static void save(LlamaModel model, Path dir, DType dtype, Path companionsFrom, boolean overwrite) throws IOException {
        save(model, dir, dtype, companionsFrom, overwrite, Long.MAX_VALUE);
    }

    /**
     * Saves {@code model} in Hugging Face layout: config.json (torch_dtype set to the stored dtype), weights as
     * {@code dtype} (F32, F16 or BF16), sharded into files of at most {@code maxShardBytes} (plus
     * {@code model.safetensors.index.json}) when larger, and the companion files of {@code companionsFrom}.
     * The folder appears atomically.
     */
    public static void save(LlamaModel model, Path dir, DType dtype, Path companionsFrom, boolean overwrite, long maxShardBytes) throws IOException {
        if (dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16) throw new IllegalArgumentException("save: dtype must be F32, F16 or BF16, got " + dtype);
        String torchDtype = switch (dtype) {
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            default -> "float32";
        };
        LlamaConfig config = model.config().withTorchDtype(torchDtype);
        Map<String, Tensor> state = model.stateDict();
        for (var e : state.entrySet()) {
            for (float v : e.getValue().data()) {
                if (!Float.isFinite(v)) throw new IllegalArgumentException("save: tensor '" + e.getKey() + "' holds " + v + "; refusing to write a non-finite checkpoint");
            }
        }
        // Greedy sharding in name order (the order SafetensorsWriter writes).
        List<List<String>> shards = new ArrayList<>();
        List<String> current = new ArrayList<>();
        long bytes = 0, total = 0;
        for (String name : new TreeMap<>(state).keySet()) {
            long b = (long) state.get(name).numel() * dtype.byteSize();
            total += b;
            if (!current.isEmpty() && bytes + b > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                bytes = 0;
            }
            current.add(name);
            bytes += b;
        }
        shards.add(current);
        final long totalSize = total;
        AtomicFiles.writeFolder(dir, overwrite ? AtomicFiles.Existing.REPLACE : AtomicFiles.Existing.FAIL, tmp -> {
            copyCompanionFiles(companionsFrom, tmp);
            AtomicFiles.write(tmp.resolve("config.json"), config.toJson().getBytes(StandardCharsets.UTF_8));
            if (shards.size() == 1) {
                writeShard(state, shards.get(0), dtype, tmp.resolve("model.safetensors"));
                return;
            }
            ObjectNode index = JSON.createObjectNode();
            index.putObject("metadata").put("total_size", totalSize);
            ObjectNode map = index.putObject("weight_map");
            for (int i = 0; i < shards.size(); i++) {
                String file = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
                writeShard(state, shards.get(i), dtype, tmp.resolve(file));
                for (String n : shards.get(i)) map.put(n, file);
            }
            AtomicFiles.write(tmp.resolve("model.safetensors.index.json"), JSON.writeValueAsBytes(index));
        });
    }

    private static void writeShard(Map<String, Tensor> state, List<String> names, DType dtype, Path file) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
        for (String n : names) w.add(n, state.get(n), dtype);
        w.write(file);
    }
}
