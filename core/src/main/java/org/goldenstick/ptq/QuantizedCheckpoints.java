package org.goldenstick.ptq;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.goldenstick.formats.AtomicFiles;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.formats.safetensors.SafetensorsEntry;
import org.goldenstick.formats.safetensors.SafetensorsWriter;
import org.goldenstick.llm.HfCheckpoint;
import org.goldenstick.llm.LlamaConfig;
import org.goldenstick.llm.LlamaGguf;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.WeightMemory;

/**
 * Quantized checkpoints on disk: a Hugging Face model folder whose {@code model.safetensors} holds int8
 * {@code <layer>.weight} with {@code <layer>.weight_scale [out, 1]} (and {@code <layer>.input_scale [1]} for
 * static activations), and whose {@code config.json} carries a {@code quantization_config} in the
 * compressed-tensors style ({@code quant_method: "compressed-tensors"}, {@code config_groups},
 * {@code ignore}, plus our recipe under {@code gstick}).
 *
 * <pre>{@code
 * QuantizedCheckpoints.Scheme s = QuantizedCheckpoints.scheme(dir);   // null for a float checkpoint
 * LlamaModel m = QuantizedCheckpoints.load(dir);                      // DEPLOY: int weights on huge pages, floats mapped
 * LlamaModel any = QuantizedCheckpoints.loadModel(dir);               // quantized or float folder
 * }</pre>
 */
public final class QuantizedCheckpoints {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * System property: {@code true} makes DEPLOY read the integer weights in place from the mapped file (no copy,
     * 4 KB file pages), {@code false} copies them into {@link WeightMemory} (huge pages where available). Unset: copied
     * when {@link WeightMemory#hugePagesAvailable()} and they take at most half the physical memory (W4 decode is
     * ~8 % faster per thread on 2 MB pages), in place otherwise (a copy onto 4 KB pages would only cost memory, and a
     * model near or above the RAM size must stay pageable from its file). See docs/llm-4bit.md, "DEPLOY memory".
     */
    public static final String IN_PLACE_PROPERTY = "gstick.weights.in-place";

    private QuantizedCheckpoints() {}

    /** Whether DEPLOY reads {@code intBytes} of integer weights in place (see {@link #IN_PLACE_PROPERTY}). */
    static boolean quantizedWeightsInPlace(long intBytes) {
        String v = System.getProperty(IN_PLACE_PROPERTY);
        if (v != null && !v.isBlank()) return Boolean.parseBoolean(v.trim());
        if (!WeightMemory.hugePagesAvailable()) return true;
        long ram = java.lang.management.ManagementFactory.getPlatformMXBean(com.sun.management.OperatingSystemMXBean.class).getTotalMemorySize();
        return ram <= 0 || intBytes > ram / 2;
    }

    /** Bytes of the integer weights DEPLOY may copy: packed words and int8 {@code weight} tensors. */
    private static long integerWeightBytes(CheckpointFolder ck) {
        long n = 0;
        for (SafetensorsEntry e : ck.entries().values()) {
            if (e.name().endsWith(".weight_packed") || (e.name().endsWith(".weight") && e.dtype() == DType.I8)) n += e.byteLength();
        }
        return n;
    }

    /**
     * The quantization recipe read back from {@code config.json}.
     *
     * @param method        rtn, gptq, awq, smoothquant or w8a8 (our own field; rtn for files from other tools)
     * @param format        compressed-tensors format: pack-quantized (weight-only int4/int8), int-quantized (W8A8),
     *                      or naive-quantized (our older int8 weight-only files, still read)
     * @param actInt8       whether activations are int8 (W8A8)
     * @param granularity   activation granularity (W8A8)
     * @param ignore        layers left in floating point
     * @param targets       pack-quantized: each config group's targets and weight scheme (empty otherwise)
     */
    public record Scheme(String method, String format, boolean actInt8, ActGranularity granularity, List<String> ignore, List<PackQuantized.Target> targets) {
        /** The weight scheme of a {@code pack-quantized} layer, or null if no config group targets it. */
        public WeightScheme weightsFor(String layer) {
            return PackQuantized.schemeFor(targets, layer);
        }

        /** How {@code lm_head} is stored, for reports: {@code float} or its scheme's {@link WeightScheme#label()}. */
        public String headLabel() {
            if (ignore.contains(PTQConfig.HEAD)) return "float";
            if (!PackQuantized.FORMAT.equals(format)) return "int8 per channel";
            WeightScheme s = weightsFor(PTQConfig.HEAD);
            return s == null ? "float" : s.label();
        }
    }

    /** True if {@code dir/config.json} has a {@code quantization_config}. */
    public static boolean isQuantized(Path dir) throws IOException {
        return scheme(dir) != null;
    }

    /**
     * DEPLOY mode: builds the Llama model of {@code dir/config.json} from the mapped checkpoint, checking every tensor
     * against config.json: packed int4/int8 and int8-with-scales weights copied off the heap into {@link WeightMemory}
     * (on transparent huge pages; in place from the mapping instead where the system has none, where they exceed half
     * the RAM, or with {@code -D}{@value #IN_PLACE_PROPERTY}{@code =true}), float layers, norms and embeddings read in place (no weight is
     * copied onto the Java heap). Inference and evaluation then run on the int8/int4 kernels; the files stay mapped
     * while the model is reachable.
     */
    public static LlamaModel load(Path dir) throws IOException {
        LlamaConfig cfg = LlamaConfig.load(dir.resolve("config.json"));
        Scheme scheme = scheme(dir);
        if (scheme == null) throw new IllegalArgumentException(dir + ": config.json has no quantization_config; not a quantized checkpoint");
        CheckpointFolder ck = CheckpointFolder.open(dir, true);
        DeployParts parts = new DeployParts(ck, scheme, quantizedWeightsInPlace(integerWeightBytes(ck)));
        LlamaModel m = new LlamaModel(cfg, parts);
        parts.finish(cfg);
        if (parts.installed == 0) throw new IllegalArgumentException(dir + ": quantization_config present but no quantized linear weights match the model's layers");
        return m;
    }

    /**
     * As {@link #load(Path)} but with every tensor copied onto the heap (float layers as {@link Linear}), for code that
     * reads or changes the float weights (export, per-layer error reports).
     */
    public static LlamaModel loadOnHeap(Path dir) throws IOException {
        LlamaConfig cfg = LlamaConfig.load(dir.resolve("config.json"));
        load(dir); // checks every tensor against config.json before the heap model is allocated
        LlamaModel m = new LlamaModel(cfg, new ZeroRandom());
        loadInto(m, dir);
        return m;
    }

    /**
     * DEPLOY parts of a quantized folder (its files stay mapped while the model is reachable): packed int4/int8 layers
     * as {@link WNA16Linear}, int8 {@code weight} + {@code weight_scale} as {@link W8A16Linear} (or {@link W8A8Linear}
     * for quantized activations), their integer weights copied into {@link WeightMemory} unless {@code inPlace}; float
     * layers, norms and embeddings as {@link MappedParts} views.
     */
    private static final class DeployParts extends org.goldenstick.llm.MappedParts {
        private final CheckpointFolder ck;
        private final Scheme scheme;
        private final boolean inPlace;
        int installed;

        DeployParts(CheckpointFolder ck, Scheme scheme, boolean inPlace) {
            super(ck.dir(), ck.files());
            this.ck = ck;
            this.scheme = scheme;
            this.inPlace = inPlace;
        }

        @Override
        public Module linear(String name, int in, int out, boolean bias) {
            SafetensorsEntry we = entry(name + ".weight");
            boolean packed = entry(name + ".weight_packed") != null;
            if (!packed && (we == null || we.dtype() != DType.I8)) return super.linear(name, in, out, bias);
            float[] b = bias ? floatVector(name + ".bias", out) : null;
            if (bias && b == null) return placeholder();
            Tensor bt = b == null ? null : Tensor.of(b, out);
            installed++;
            if (packed) {
                WeightScheme ws = scheme.weightsFor(name);
                if (ws == null || !PackQuantized.FORMAT.equals(scheme.format())) throw new IllegalArgumentException(dir() + ": tensor '" + name + ".weight_packed' but no pack-quantized config group targets layer '" + name + "'");
                if (scheme.ignore().contains(name)) throw new IllegalArgumentException(dir() + ": layer '" + name + "' is in quantization_config.ignore but has packed weights");
                use(PackQuantized.tensorNames(name, ws.symmetric()).toArray(String[]::new));
                return new WNA16Linear(PackQuantized.read(ck, name, out, in, ws, inPlace), bt);
            }
            use(name + ".weight");
            if (!Arrays.equals(we.shape(), new int[] {out, in})) {
                problem("tensor '" + name + ".weight' in " + fileOf(name + ".weight").getFileName() + " has shape " + Arrays.toString(we.shape()) + " but config.json implies " + Arrays.toString(new int[] {out, in}));
                return placeholder();
            }
            float[] scale = floatVector(name + ".weight_scale", out, 1);
            if (scale == null) return placeholder();
            for (float s : scale) if (!Float.isFinite(s)) throw new IllegalArgumentException(dir() + ": tensor '" + name + ".weight_scale' holds a non-finite value " + s);
            var w = new org.goldenstick.tensor.kernel.Int8Weights(inPlace ? we.segment() : WeightMemory.copy(we.segment()), 0, out, in, scale, in);
            if (!scheme.actInt8()) return new W8A16Linear(w, bt);
            float inputScale = 1f;
            if (scheme.granularity() == ActGranularity.PER_TENSOR) {
                float[] is = floatVector(name + ".input_scale", 1);
                if (is == null) return placeholder();
                inputScale = is[0];
            }
            return new W8A8Linear(w, bt, scheme.granularity(), inputScale);
        }
    }

    /**
     * Validates the folder ({@link ModelFolderCheck}) before anything large is allocated, then maps a quantized folder
     * with {@link #load(Path)} and a float one with {@link HfCheckpoint#map(Path)}: the weights are read in place from
     * the files, so they need no heap; a
     * {@code .gguf} file is opened with {@link LlamaGguf#open(Path)} (its reader checks every size against the file;
     * Q8_0/Q4_0 projections are computed on the mapped blocks, and the mapping lives until the process exits).
     */
    public static LlamaModel loadModel(Path dir) throws IOException {
        if (LlamaGguf.isGguf(dir)) return LlamaGguf.open(dir).model();
        ModelFolderCheck.Checked c = ModelFolderCheck.check(dir); // before the model is allocated
        c.requireFiniteWeights();
        return c.scheme() != null ? load(dir) : HfCheckpoint.map(dir);
    }

    /** Weights are overwritten right after construction: skip drawing random numbers. */
    static final class ZeroRandom extends java.util.Random {
        @Override
        public float nextFloat() {
            return 0f;
        }

        @Override
        public double nextGaussian() {
            return 0.0;
        }
    }

    /**
     * The dtype a float tensor of a quantized model is saved in: the one it has in the source checkpoint {@code ck}
     * (F16, BF16), F32 for the others and for those in {@code forceF32} (tensors changed by smoothing).
     */
    static java.util.function.Function<String, DType> floatDtypes(CheckpointFolder ck, Set<String> forceF32) {
        Map<String, DType> srcDtype = new java.util.HashMap<>();
        ck.entries().forEach((n, e) -> srcDtype.put(n, e.dtype()));
        return name -> {
            DType d = srcDtype.get(name);
            return forceF32.contains(name) || d == null || !(d == DType.F16 || d == DType.BF16) ? DType.F32 : d;
        };
    }

    /** Refuses to write a model holding NaN/Inf, naming the tensor. */
    static void requireFinite(Module model) {
        for (var e : model.stateDict().entrySet()) {
            for (float v : e.getValue().data()) if (!Float.isFinite(v)) throw new IllegalArgumentException("save: tensor '" + e.getKey() + "' holds " + v + "; refusing to write a non-finite checkpoint");
        }
    }

    /**
     * QUANTIZE mode: saves an in-memory quantized model as a quantized checkpoint folder {@code out} (atomically),
     * with config.json and the companion files of {@code src}. Float tensors keep the dtype they have in {@code src},
     * except those in {@code forceF32} (tensors changed by smoothing), which are stored as F32. Returns the size
     * of the written model.safetensors.
     */
    public static long save(LlamaModel model, PTQConfig config, List<String> skipped, Path src, Path out, Set<String> forceF32) throws IOException {
        return save(model, quantizationConfig(config, skipped, model.config().tieWordEmbeddings()), src, out, forceF32);
    }

    /** As above with a ready {@code quantization_config} (e.g. {@link PackQuantized#config} of a per-layer plan). */
    public static long save(LlamaModel model, ObjectNode quantizationConfig, Path src, Path out, Set<String> forceF32) throws IOException {
        java.util.function.Function<String, DType> dtypes;
        try (CheckpointFolder ck = CheckpointFolder.open(src)) {
            dtypes = floatDtypes(ck, forceF32);
        }
        requireFinite(model);
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
        addModelState(model, w, dtypes);
        try (AtomicFiles.StagedFolder of = AtomicFiles.stageFolder(out, AtomicFiles.Existing.FAIL)) {
            w.write(of.dir().resolve("model.safetensors"));
            writeConfigAndAuxFiles(src, of.dir(), quantizationConfig);
            long bytes = Files.size(of.dir().resolve("model.safetensors"));
            of.commit();
            return bytes;
        }
    }

    /** The quantization scheme of the model folder {@code dir}, or null if its config has no quantization_config. */
    public static Scheme scheme(Path dir) throws IOException {
        Path cfg = dir.resolve("config.json");
        if (!Files.isRegularFile(cfg)) throw new IllegalArgumentException(cfg + ": no config.json in the model folder");
        JsonNode q = LlamaConfig.readJson(cfg).get("quantization_config");
        if (q == null || q.isNull()) return null;
        String where = cfg + ": quantization_config";
        if (!"compressed-tensors".equals(q.path("quant_method").asText())) throw new IllegalArgumentException(where + ".quant_method must be \"compressed-tensors\", got " + q.get("quant_method"));
        String format = q.path("format").asText();
        List<String> ignore = new ArrayList<>();
        q.path("ignore").forEach(n -> ignore.add(n.asText()));
        if (PackQuantized.FORMAT.equals(format)) {
            List<PackQuantized.Target> targets = PackQuantized.parseGroups(q, where);
            return new Scheme(q.path("gstick").path("method").asText("rtn"), format, false, ActGranularity.PER_TOKEN, List.copyOf(ignore), List.copyOf(targets));
        }
        if (!format.equals("int-quantized") && !format.equals("naive-quantized")) {
            throw new IllegalArgumentException(where + ".format must be pack-quantized, int-quantized or naive-quantized, got " + q.get("format"));
        }
        JsonNode g = q.path("config_groups").path("group_0");
        JsonNode w = g.path("weights");
        if (w.path("num_bits").asInt() != 8 || !"int".equals(w.path("type").asText()) || !w.path("symmetric").asBoolean() || !"channel".equals(w.path("strategy").asText())) {
            throw new IllegalArgumentException(where + ": only 8-bit symmetric per-channel int weights are supported, got " + w);
        }
        JsonNode a = g.get("input_activations");
        boolean actInt8 = a != null && !a.isNull();
        ActGranularity gran = ActGranularity.PER_TOKEN;
        if (actInt8) {
            if (a.path("num_bits").asInt() != 8 || !a.path("symmetric").asBoolean()) throw new IllegalArgumentException(where + ": only 8-bit symmetric activations are supported, got " + a);
            gran = switch (a.path("strategy").asText()) {
                case "token" -> ActGranularity.PER_TOKEN;
                case "tensor" -> ActGranularity.PER_TENSOR;
                default -> throw new IllegalArgumentException(where + ": activation strategy must be token or tensor, got " + a.get("strategy"));
            };
        }
        String method = q.path("gstick").path("method").asText(actInt8 ? "w8a8" : "rtn");
        return new Scheme(method, format, actInt8, gran, List.copyOf(ignore), List.of());
    }

    /** The compressed-tensors style {@code quantization_config} for a run with {@code cfg}. */
    static ObjectNode quantizationConfig(PTQConfig cfg, List<String> skipped, boolean tiedHead) {
        List<String> ignored = ignoreList(skipped, tiedHead && cfg.head() == null);
        if (!cfg.quantizesActivations()) {
            ObjectNode gs = JSON.createObjectNode();
            gs.put("method", cfg.methodName());
            ArrayNode skip = gs.putArray("skip");
            cfg.skip().forEach(skip::add);
            Map<String, WeightScheme> targets = new java.util.LinkedHashMap<>();
            targets.put("Linear", cfg.weights());
            // a head scheme of its own is a second config group naming lm_head (an exact name outranks the class)
            if (cfg.head() != null && !cfg.head().equals(cfg.weights())) targets.put(PTQConfig.HEAD, cfg.head());
            if (tiedHead && cfg.head() != null) gs.put("lm_head", UNTIED_HEAD);
            return PackQuantized.config(targets, ignored, gs);
        }
        ObjectNode q = JSON.createObjectNode();
        q.put("quant_method", "compressed-tensors");
        q.put("format", "int-quantized");
        q.put("quantization_status", "compressed");
        q.put("version", PackQuantized.COMPRESSED_TENSORS_VERSION);
        ObjectNode g = q.putObject("config_groups").putObject("group_0");
        g.putArray("targets").add("Linear");
        ObjectNode w = g.putObject("weights");
        w.put("num_bits", 8).put("type", "int").put("symmetric", true).put("strategy", "channel").put("dynamic", false).putNull("group_size");
        w.put("observer", "minmax");
        boolean token = cfg.actGranularity() == ActGranularity.PER_TOKEN;
        ObjectNode a = g.putObject("input_activations");
        a.put("num_bits", 8).put("type", "int").put("symmetric", true).put("strategy", token ? "token" : "tensor").put("dynamic", token);
        a.put("observer", token ? "memoryless" : "minmax");
        g.putNull("output_activations");
        ArrayNode ig = q.putArray("ignore");
        ignored.forEach(ig::add);
        q.putNull("kv_cache_scheme");
        ObjectNode gs = q.putObject("gstick");
        gs.put("method", cfg.methodName());
        gs.put("scale_formula", "max|w| / 127.5, round half away from zero, clamp [-128, 127]");
        ArrayNode skip = gs.putArray("skip");
        cfg.skip().forEach(skip::add);
        if (cfg.outliers() == OutlierSuppression.SMOOTH) {
            gs.put("smoothquant_alpha", cfg.alpha());
            gs.put("smoothing", "folded: 1/s into input_layernorm / post_attention_layernorm, s into the input columns of the linears reading them (the model family's mappings)");
        }
        return q;
    }

    /** What {@code gstick.lm_head} says when a tied model's head was quantized. */
    static final String UNTIED_HEAD = "quantized copy of the tied embedding table: tie_word_embeddings is false here, model.embed_tokens stays float";

    /**
     * Whether a {@code quantization_config} quantizes {@code lm_head}: a {@code pack-quantized} config group targets it
     * (as the class {@code Linear}, its name or a regex) and {@code ignore} does not list it.
     */
    static boolean quantizesHead(JsonNode qc) {
        if (!PackQuantized.FORMAT.equals(qc.path("format").asText())) return false;
        for (JsonNode n : qc.path("ignore")) if (n.asText().equals(PTQConfig.HEAD)) return false;
        return PackQuantized.schemeFor(PackQuantized.parseGroups(qc, "quantization_config"), PTQConfig.HEAD) != null;
    }

    /**
     * compressed-tensors' {@code ignore}: every linear left in floating point — the skipped ones, and {@code lm_head}
     * when it is tied to the embeddings (it is still a float linear to vLLM and transformers).
     */
    static List<String> ignoreList(List<String> skipped, boolean tiedHead) {
        List<String> out = new ArrayList<>(skipped);
        if (tiedHead && !out.contains("lm_head")) out.add("lm_head");
        return out;
    }

    /**
     * Writes {@code src/config.json} plus {@code quantization_config} into {@code outDir} ({@code tie_word_embeddings}
     * false when a tied model's head is quantized), and copies the other non-weight files.
     */
    static void writeConfigAndAuxFiles(Path src, Path outDir, ObjectNode quantizationConfig) throws IOException {
        ObjectNode cfg = (ObjectNode) LlamaConfig.readJson(src.resolve("config.json"));
        cfg.set("quantization_config", quantizationConfig);
        // a tied model whose head is quantized has its own lm_head tensors now: loaders must not tie it back
        if (quantizesHead(quantizationConfig) && LlamaConfig.load(src.resolve("config.json")).tieWordEmbeddings()) cfg.put("tie_word_embeddings", false);
        AtomicFiles.write(outDir.resolve("config.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(cfg).getBytes(StandardCharsets.UTF_8));
        try (Stream<Path> s = Files.list(src)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if (!Files.isRegularFile(p) || n.endsWith(".safetensors") || n.equals("model.safetensors.index.json") || n.equals("config.json") || n.startsWith(".")) continue;
                // the float model's card describes the float model (its perplexity, its size): this folder gets its own
                if (n.equalsIgnoreCase("README.md")) continue;
                Files.copy(p, outDir.resolve(n), StandardCopyOption.COPY_ATTRIBUTES);
            }
        }
        AtomicFiles.write(outDir.resolve("README.md"), readme(src, quantizationConfig).getBytes(StandardCharsets.UTF_8));
    }

    /** The quantized folder's model card: what it was made from and how, and how to measure it (no number is claimed). */
    static String readme(Path src, ObjectNode quantizationConfig) throws IOException {
        String name = src.toAbsolutePath().normalize().getFileName().toString();
        return "# " + name + " (quantized)\n\n"
                + "Post-training quantized by Golden Stick for Java from the floating-point model `" + name + "`. The scheme is the\n"
                + "`quantization_config` in config.json (compressed-tensors, format `" + quantizationConfig.path("format").asText() + "`):\n\n"
                + "```json\n" + JSON.writerWithDefaultPrettyPrinter().writeValueAsString(quantizationConfig) + "\n```\n\n"
                + "This card states no quality number: the float model's card (not copied here) describes the float model. Measure\n"
                + "this one against it with `gstick eval --model <this folder> --ref <the float folder>` (perplexity, KL divergence,\n"
                + "top-1 agreement).\n";
    }

    /**
     * Adds the state of an in-memory quantized model to {@code w}: int8 layers as weight / weight_scale /
     * input_scale / bias, every other tensor as float in {@code floatDtype.apply(name)}.
     */
    static void addModelState(Module model, SafetensorsWriter w, java.util.function.Function<String, DType> floatDtype) {
        Set<String> done = new HashSet<>();
        for (var e : model.namedModules().entrySet()) {
            String p = e.getKey();
            switch (e.getValue()) {
                case W8A16Linear q -> {
                    // weight-only int8 is written as pack-quantized (the format vLLM reads weight-only int from)
                    var pw = org.goldenstick.tensor.kernel.PackedIntWeights.pack(q.int8Weight(), q.outFeatures(), q.inFeatures(), 8, q.inFeatures(), q.weightScale(), null);
                    PackQuantized.add(w, p, pw, DType.F32);
                    done.add(p + ".weight_scale");
                }
                case WNA16Linear q -> PackQuantized.add(w, p, q.weights(), floatDtype.apply(p + ".weight"));
                case W8A8Linear q -> {
                    w.addInt8(p + ".weight", q.int8Weight(), q.outFeatures(), q.inFeatures());
                    w.addFloats(p + ".weight_scale", q.weightScale(), DType.F32, q.outFeatures(), 1);
                    done.add(p + ".weight_scale");
                    if (q.granularity() == ActGranularity.PER_TENSOR) {
                        w.addFloats(p + ".input_scale", new float[] {q.inputScale()}, DType.F32, 1);
                        done.add(p + ".input_scale");
                    }
                }
                default -> {}
            }
        }
        for (var e : model.stateDict().entrySet()) {
            if (done.contains(e.getKey())) continue;
            w.add(e.getKey(), e.getValue(), floatDtype.apply(e.getKey()));
        }
    }

    /**
     * DEPLOY: installs quantized placeholder layers in {@code model} wherever the checkpoint in {@code dir} holds an
     * int8 {@code <layer>.weight} for a {@link Linear} child, then loads every tensor. Every model tensor must be in
     * the checkpoint and every checkpoint tensor must be used; shapes must match. Returns the number of quantized
     * layers installed.
     */
    public static int loadInto(Module model, Path dir) throws IOException {
        Scheme scheme = scheme(dir);
        if (scheme == null) throw new IllegalArgumentException(dir + ": config.json has no quantization_config; not a quantized checkpoint");
        try (CheckpointFolder ck = CheckpointFolder.open(dir)) {
            Map<String, SafetensorsEntry> entries = ck.entries();
            int installed = 0;
            Set<String> used = new HashSet<>();
            for (var e : model.namedModules().entrySet()) {
                if (!(e.getValue() instanceof Linear lin) || !entries.containsKey(e.getKey() + ".weight_packed")) continue;
                String p = e.getKey();
                WeightScheme ws = scheme.weightsFor(p);
                if (ws == null || !PackQuantized.FORMAT.equals(scheme.format())) throw new IllegalArgumentException(dir + ": tensor '" + p + ".weight_packed' but no pack-quantized config group targets layer '" + p + "'");
                if (scheme.ignore().contains(p)) throw new IllegalArgumentException(dir + ": layer '" + p + "' is in quantization_config.ignore but has packed weights");
                model.replaceChild(p, new WNA16Linear(PackQuantized.read(ck, p, lin.outFeatures(), lin.inFeatures(), ws, false), lin.bias() == null ? null : Tensor.zeros(lin.outFeatures())));
                used.addAll(PackQuantized.tensorNames(p, ws.symmetric()));
                installed++;
            }
            for (var e : model.namedModules().entrySet()) {
                if (e.getValue() instanceof W8A16Linear || e.getValue() instanceof W8A8Linear) {
                    installed++; // placeholder installed by PtqAlgorithm.apply in DEPLOY mode
                    continue;
                }
                if (!(e.getValue() instanceof Linear lin)) continue;
                String p = e.getKey();
                SafetensorsEntry we = entries.get(p + ".weight");
                if (we == null || we.dtype() != DType.I8) continue;
                Module ph = scheme.actInt8()
                        ? W8A8Linear.placeholder(lin.inFeatures(), lin.outFeatures(), lin.bias() != null, scheme.granularity())
                        : W8A16Linear.placeholder(lin.inFeatures(), lin.outFeatures(), lin.bias() != null);
                model.replaceChild(p, ph);
                installed++;
            }
            if (installed == 0) throw new IllegalArgumentException(dir + ": quantization_config present but no quantized linear weights match the model's layers");
            for (var e : model.namedModules().entrySet()) {
                String p = e.getKey();
                org.goldenstick.tensor.kernel.Int8Weights wq = null;
                if (e.getValue() instanceof W8A16Linear q) wq = q.int8Weights();
                else if (e.getValue() instanceof W8A8Linear q) wq = q.int8Weights();
                if (wq == null) continue;
                int out = wq.rows(), in = wq.cols();
                SafetensorsEntry we = requireShape(ck, p + ".weight", new int[] {out, in});
                if (we.dtype() != DType.I8) throw new IllegalArgumentException(dir + ": tensor '" + p + ".weight' is " + we.dtype() + ", expected I8");
                // into the placeholder's (writable, native) codes
                java.lang.foreign.MemorySegment.copy(we.segment(), 0, wq.data(), wq.offset(), (long) out * in);
                used.add(p + ".weight");
            }
            Map<String, Tensor> state = model.stateDict();
            for (var e : state.entrySet()) {
                String name = e.getKey();
                SafetensorsEntry te = requireShape(ck, name, e.getValue().shape());
                if (!te.dtype().isFloatingPoint()) throw new IllegalArgumentException(dir + ": tensor '" + name + "' is " + te.dtype() + ", expected floating point");
                float[] v = ck.floats(name);
                for (float f : v) if (!Float.isFinite(f)) throw new IllegalArgumentException(dir + ": tensor '" + name + "' holds a non-finite value " + f);
                System.arraycopy(v, 0, e.getValue().data(), 0, v.length);
                used.add(name);
            }
            List<String> unused = new ArrayList<>();
            for (String n : entries.keySet()) if (!used.contains(n)) unused.add(n);
            if (!unused.isEmpty()) throw new IllegalArgumentException(dir + ": checkpoint tensors not used by the model: " + unused);
            return installed;
        }
    }

    private static SafetensorsEntry requireShape(CheckpointFolder ck, String name, int[] shape) {
        SafetensorsEntry te = ck.entries().get(name);
        if (te == null) throw new IllegalArgumentException(ck.dir() + ": checkpoint is missing tensor '" + name + "'");
        if (!Arrays.equals(te.shape(), shape)) throw new IllegalArgumentException(ck.dir() + ": tensor '" + name + "' has shape " + Arrays.toString(te.shape()) + " but the model expects " + Arrays.toString(shape));
        return te;
    }
}
