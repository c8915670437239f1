package org.goldenstick.ptq;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.formats.safetensors.SafetensorsEntry;
import org.goldenstick.llm.LlamaConfig;
import org.goldenstick.llm.tokenizer.Tokenizer;
import org.goldenstick.llm.tokenizer.Tokenizers;
import org.goldenstick.tensor.kernel.Parallel;

/**
 * The one validation of a Hugging Face Llama model folder, run by every command that reads one ({@code eval},
 * {@code generate}, {@code quantize}, {@code bench}) before anything large is allocated. It reads only
 * config.json, the safetensors headers, the index and tokenizer.json, and streams the weights once in small pieces
 * to reject NaN/±Inf. It checks that:
 * <ul>
 *   <li>config.json is valid (errors name the file and field);</li>
 *   <li>every tensor config.json implies is present with the implied shape, and no tensor is left over (fewer
 *       layers in config.json than in the weights, unknown names), a tied model's redundant {@code lm_head.weight}
 *       included;</li>
 *   <li>a quantized folder's int8 layers have their scales, of the right shape and finite;</li>
 *   <li>the index names only tensors its shards hold; tokenizer.json (when present) loads and fits the vocabulary;</li>
 *   <li>no floating-point weight holds NaN or ±Inf (the error names the tensor; {@link Checked#requireFiniteWeights}).</li>
 * </ul>
 * The structure is checked by {@link #check}; {@link Checked#requireHeap} then compares an estimate of the memory
 * a step needs with what the JVM may use, and {@link Checked#requireFiniteWeights} reads the values, in that order
 * so that a model that cannot fit fails at once.
 *
 * <pre>{@code
 * ModelFolderCheck.Checked c = ModelFolderCheck.check(Path.of("models/gstick-llama-demo"));
 * c.requireHeap(c.heapBytesToLoad(), "loading the model");
 * c.requireFiniteWeights();
 * }</pre>
 */
public final class ModelFolderCheck {
    private static final int CHUNK = 1 << 16;

    private ModelFolderCheck() {}

    /**
     * A folder that passed the checks.
     *
     * @param scheme          the quantization scheme, or null for a floating-point checkpoint
     * @param checkpointBytes size of the weight files
     * @param heapBytesToLoad estimated heap needed to build the model in memory (the float32 model plus the int8 weights
     *                        of a quantized one, and an eighth for the rest)
     */
    public record Checked(Path dir, LlamaConfig config, LlamaLayout layout, QuantizedCheckpoints.Scheme scheme, long checkpointBytes, long heapBytesToLoad) {
        /**
         * Throws if {@code bytes} (an estimate for {@code what}) exceeds the heap this JVM may still use; the message
         * says how much is needed and which option raises the limit.
         */
        public void requireHeap(long bytes, String what) {
            ModelFolderCheck.requireHeap(dir, bytes, what);
        }

        /** Streams every floating-point weight once in small pieces and rejects NaN/±Inf, naming the tensor. */
        public void requireFiniteWeights() throws IOException {
            try (CheckpointFolder ck = CheckpointFolder.open(dir)) {
                requireFinite(ck);
            }
        }
    }

    /** Validates the folder as described in the class comment. */
    public static Checked check(Path dir) throws IOException {
        if (Files.exists(dir) && !Files.isDirectory(dir)) throw new IllegalArgumentException(dir + ": is a file; a model folder is expected");
        if (!Files.isDirectory(dir)) throw new IllegalArgumentException(dir + ": model folder not found");
        LlamaLayout layout = LlamaLayout.read(dir);
        LlamaConfig config = LlamaConfig.load(dir.resolve("config.json"));
        QuantizedCheckpoints.Scheme scheme = QuantizedCheckpoints.scheme(dir);
        Path tokFile = dir.resolve("tokenizer.json");
        if (Files.exists(tokFile)) {
            Tokenizer tok = Tokenizers.load(dir);
            if (tok.vocabSize() > config.vocabSize()) {
                throw new IllegalArgumentException(tokFile + ": the tokenizer has " + tok.vocabSize() + " tokens but config.json's vocab_size is " + config.vocabSize());
            }
        }
        try (CheckpointFolder ck = CheckpointFolder.open(dir)) {
            long int8Bytes = checkTensors(ck, layout, scheme);
            // the loaders build the float32 model first (quantized layers are swapped in afterwards)
            long heap = 4L * config.parameterCount() + int8Bytes;
            return new Checked(dir, config, layout, scheme, ck.bytes(), heap + heap / 8);
        }
    }

    /** Shapes, dtypes and left-over tensors; returns the bytes of the int8 weights. */
    private static long checkTensors(CheckpointFolder ck, LlamaLayout layout, QuantizedCheckpoints.Scheme scheme) {
        Map<String, SafetensorsEntry> entries = ck.entries();
        Map<String, int[]> expected = new java.util.LinkedHashMap<>(layout.expectedShapes());
        List<String> problems = new ArrayList<>();
        java.util.Set<String> used = new java.util.HashSet<>();
        long int8Bytes = 0;
        if (scheme != null) {
            for (String l : layout.linearLayers()) {
                SafetensorsEntry w = entries.get(l + ".weight");
                if (w == null && entries.containsKey(l + ".weight_packed")) {
                    // pack-quantized (compressed-tensors) layer: its tensors' shapes are checked by PackQuantized on load
                    expected.remove(l + ".weight");
                    for (SafetensorsEntry t : entries.values()) {
                        if (t.name().startsWith(l + ".weight_")) {
                            used.add(t.name());
                            int8Bytes += t.byteLength();
                        }
                    }
                    continue;
                }
                if (w == null || w.dtype() != DType.I8) continue;
                int[] shape = expected.remove(l + ".weight");
                used.add(l + ".weight");
                if (!Arrays.equals(w.shape(), shape)) problems.add("tensor '" + l + ".weight' has shape " + Arrays.toString(w.shape()) + " but config.json implies " + Arrays.toString(shape));
                int8Bytes += w.byteLength();
                expected.put(l + ".weight_scale", new int[] {shape[0], 1});
                if (scheme.actInt8() && scheme.granularity() == ActGranularity.PER_TENSOR) expected.put(l + ".input_scale", new int[] {1});
            }
        }
        for (var e : expected.entrySet()) {
            SafetensorsEntry t = entries.get(e.getKey());
            used.add(e.getKey());
            if (t == null) {
                problems.add("missing tensor '" + e.getKey() + "' (config.json implies shape " + Arrays.toString(e.getValue()) + ")");
            } else if (!Arrays.equals(t.shape(), e.getValue())) {
                problems.add("tensor '" + e.getKey() + "' has shape " + Arrays.toString(t.shape()) + " but config.json implies " + Arrays.toString(e.getValue()));
            } else if (!t.dtype().isFloatingPoint()) {
                problems.add("tensor '" + e.getKey() + "' has dtype " + t.dtype() + "; expected F32, F16 or BF16"
                        + (scheme == null && t.dtype() == DType.I8 ? " (int8 weights need a quantization_config in config.json)" : ""));
            }
        }
        for (SafetensorsEntry t : entries.values()) {
            String n = t.name();
            if (used.contains(n) || n.endsWith("rotary_emb.inv_freq")) continue;
            if (layout.tiedEmbeddings() && n.equals("lm_head.weight")) {
                // a tied model ignores it, but a copy of the wrong shape means config.json and weights disagree
                int[] want = {layout.vocabSize(), layout.hiddenSize()};
                if (!Arrays.equals(t.shape(), want)) problems.add("tensor 'lm_head.weight' has shape " + Arrays.toString(t.shape()) + " but tie_word_embeddings implies " + Arrays.toString(want));
                continue;
            }
            problems.add("unexpected tensor '" + n + "' (not part of a " + layout.family().modelType() + " model with this config.json: " + layout.layers() + " layers)");
        }
        if (!problems.isEmpty()) {
            int shown = Math.min(problems.size(), 6);
            throw new IllegalArgumentException(ck.dir() + ": the weights do not match config.json: " + String.join("; ", problems.subList(0, shown))
                    + (problems.size() > shown ? "; and " + (problems.size() - shown) + " more" : ""));
        }
        return int8Bytes;
    }

    /** Streams every floating-point tensor in pieces (no full copy) and rejects NaN/±Inf, naming the tensor. */
    private static void requireFinite(CheckpointFolder ck) {
        List<SafetensorsEntry> floats = ck.entries().values().stream().filter(e -> e.dtype().isFloatingPoint()).toList();
        Parallel.forEach(floats.size(), i -> requireFinite(ck, floats.get(i), 0, floats.get(i).numel()));
    }

    /**
     * Rejects NaN/±Inf among elements {@code [from, from + n)} of one floating-point tensor, read in pieces; the error
     * names the folder, the tensor and the element (row and column of a matrix).
     */
    static void requireFinite(CheckpointFolder ck, SafetensorsEntry e, long from, long n) {
        float[] buf = new float[(int) Math.min(n, CHUNK)];
        for (long at0 = from; at0 < from + n; at0 += buf.length) {
            int len = (int) Math.min(buf.length, from + n - at0);
            ck.floats(e.name(), at0, len, buf);
            for (int j = 0; j < len; j++) {
                if (!Float.isFinite(buf[j])) {
                    long at = at0 + j;
                    int[] sh = e.shape();
                    String where = sh.length == 2 ? "row " + at / sh[1] + ", column " + at % sh[1] : "element " + at;
                    throw new IllegalArgumentException(ck.dir() + ": tensor '" + e.name() + "' holds a non-finite value " + buf[j] + " at " + where
                            + "; NaN/Inf weights cannot be evaluated or quantized");
                }
            }
        }
    }

    /** The heap this JVM may still allocate, in bytes. */
    public static long availableHeap() {
        Runtime rt = Runtime.getRuntime();
        return rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
    }

    /** See {@link Checked#requireHeap}. */
    static void requireHeap(Path dir, long bytes, String what) {
        long free = availableHeap();
        if (bytes <= free) return;
        long suggestGb = Math.max(1, (Runtime.getRuntime().maxMemory() - free + bytes + (1L << 30) - 1) >> 30);
        throw new IllegalArgumentException(String.format(Locale.ROOT,
                "%s: %s needs about %s of Java heap but only %s is available (maximum heap %s); raise the limit with "
                        + "GSTICK_JAVA_OPTS=-Xmx%dg (the gstick launcher's default is -Xmx16g)%s",
                dir, what, gib(bytes), gib(free), gib(Runtime.getRuntime().maxMemory()), suggestGb,
                what.contains("load") ? ", or quantize it first (gstick quantize --method rtn keeps linear weights in int8)" : ""));
    }

    static String gib(long bytes) {
        return bytes >= (1L << 30) ? String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30)) : String.format(Locale.ROOT, "%.0f MiB", bytes / (double) (1L << 20));
    }
}
