package org.goldenstick.ptq;

import org.goldenstick.progress.ProgressListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import org.goldenstick.formats.AtomicFiles;
import java.util.Map;
import java.util.Set;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.nn.Linear;
import org.goldenstick.llm.HfCheckpoint;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.llm.tokenizer.Tokenizer;
import org.goldenstick.llm.tokenizer.Tokenizers;

/**
 * The QUANTIZE stage end to end, as {@code gstick quantize} runs it: Hugging Face Llama folder in, quantized folder
 * out. RTN goes model-free through the checkpoint, streamed ({@link RoundToNearest#quantizeCheckpoint}); W8A8 loads the
 * float model, calibrates and smooths it ({@link SmoothQuant}), converts and saves, or, when the float model does not
 * fit the heap, does the same one decoder layer at a time ({@link SequentialSmoothQuant}). Every input check runs before work
 * starts; the output folder appears atomically.
 *
 * <pre>{@code
 * PtqReport r = Quantizer.quantize(Path.of("models/gstick-llama-demo"), Path.of("out"), PTQConfig.smoothQuant(),
 *         Path.of("calib.txt"), 64, 256, null);   // null: the model folder's tokenizer encodes the calibration text
 * }</pre>
 */
public final class Quantizer {
    /** {@code -Dgstick.ptq.sequential=true}: W8A8 always layer by layer ({@link SequentialSmoothQuant}), not only when the model does not fit the heap. */
    static boolean sequential = Boolean.getBoolean("gstick.ptq.sequential");

    private Quantizer() {}

    /**
     * @param calib      calibration text file or folder (W8A8 with smoothing or static scales); may be null for RTN
     * @param maxSamples maximum number of calibration samples
     * @param seqLength  calibration sample length in tokens
     * @param encoder    tokenizer (text → ids); null uses the model folder's own tokenizer ({@link Tokenizers#load}, BOS first)
     */
    public static PtqReport quantize(Path model, Path out, PTQConfig config, Path calib, int maxSamples, int seqLength, NetworkHelper.TextEncoder encoder) throws IOException {
        return quantize(model, out, config, calib, maxSamples, seqLength, encoder, ProgressListener.SILENT);
    }

    /** As {@link #quantize(Path, Path, PTQConfig, Path, int, int, NetworkHelper.TextEncoder)}, reporting progress to {@code progress}. */
    public static PtqReport quantize(Path model, Path out, PTQConfig config, Path calib, int maxSamples, int seqLength, NetworkHelper.TextEncoder encoder,
                                     ProgressListener progress) throws IOException {
        return quantize(model, out, config, null, calib, maxSamples, seqLength, encoder, progress);
    }

    /** As above, with SmoothQuant's norm → linears {@code mappings} (a recipe's {@code SmoothQuantModifier.mappings}; null = the model family's). */
    public static PtqReport quantize(Path model, Path out, PTQConfig config, List<SmoothingMapping> mappings, Path calib, int maxSamples, int seqLength,
                                     NetworkHelper.TextEncoder encoder, ProgressListener progress) throws IOException {
        return quantize(model, out, config, mappings, calib, maxSamples, seqLength, encoder, progress, ResumeState.Mode.OFF);
    }

    /**
     * As above; with {@link ResumeState.Mode#SAVE} the run keeps its finished units (RTN: quantized layers;
     * SmoothQuant: calibration statistics after each sample) next to {@code out} until the output is complete, and
     * with {@link ResumeState.Mode#CONTINUE} it continues from what an interrupted run of the same input and recipe
     * kept. The output is byte-identical either way.
     */
    public static PtqReport quantize(Path model, Path out, PTQConfig config, List<SmoothingMapping> mappings, Path calib, int maxSamples, int seqLength,
                                     NetworkHelper.TextEncoder encoder, ProgressListener progress, ResumeState.Mode resume) throws IOException {
        if (config.mode() != PTQMode.QUANTIZE) throw new IllegalArgumentException("quantize needs mode QUANTIZE, got " + config.mode());
        AtomicFiles.checkFolderTarget(out, AtomicFiles.Existing.FAIL, "--out");
        long t0 = System.nanoTime();
        boolean needsData = config.quantizesActivations() && (config.outliers() == OutlierSuppression.SMOOTH || config.actGranularity() == ActGranularity.PER_TENSOR);
        if (needsData && calib == null) throw new IllegalArgumentException(config.methodName() + " needs calibration text (--calib FILE|DIR): the calibration set is empty");
        if (needsData && !Files.exists(calib)) throw new IllegalArgumentException(calib + ": calibration text not found");
        if (needsData && maxSamples < 1) throw new IllegalArgumentException("--calib-samples must be >= 1, got " + maxSamples);
        // the same folder validation eval and generate run, before anything large is allocated
        ModelFolderCheck.Checked checked = ModelFolderCheck.check(model);
        if (checked.scheme() != null) throw new IllegalArgumentException(model + ": config.json already has a quantization_config; quantize the floating-point model");
        int maxPos = checked.config().maxPositionEmbeddings();
        if (needsData && (seqLength < 2 || seqLength > maxPos)) {
            throw new IllegalArgumentException("--seq-len must be in [2, " + maxPos + "] (the model's max_position_embeddings), got " + seqLength);
        }
        if (!config.quantizesActivations()) {
            // model-free and streamed: a few blocks of rows (a resumable run also keeps one tensor's codes); NaN/Inf are
            // caught on the way, with nothing written
            checked.requireHeap((resume == ResumeState.Mode.OFF ? 0 : checked.layout().largestLinearParameterCount()) + (64L << 20), "RTN quantization");
            ResumeState state = ResumeState.open(out, ResumeState.key(model, null, config.toString()), resume);
            return RoundToNearest.quantizeCheckpoint(checked, out, config, t0, progress, state);
        }
        if (encoder == null && needsData) {
            Tokenizer tok = Tokenizers.load(model);
            encoder = text -> tok.encode(text, true);
        }
        // the float model, its int8 copy and the calibration activations; a model that does not fit goes layer by layer
        long inMemoryHeap = checked.heapBytesToLoad() + checked.layout().linearParameterCount();
        if (sequential || inMemoryHeap > ModelFolderCheck.availableHeap()) {
            System.err.printf(java.util.Locale.ROOT, "%s: %s layer by layer (sequential onloading: one decoder layer in memory at a time; %s)%n", model, config.methodName(),
                    sequential ? "-Dgstick.ptq.sequential=true" : "the whole float model needs about " + ModelFolderCheck.gib(inMemoryHeap) + " of heap");
            if (resume != ResumeState.Mode.OFF) System.err.println("warning: --resume is not supported layer by layer; the run starts over");
            List<int[]> samples = needsData ? LlamaHelper.calibrationSamples(calib, maxSamples, Math.min(seqLength, maxPos), checked.config().vocabSize(), encoder) : List.of();
            return SequentialSmoothQuant.quantize(checked, out, config, mappings, samples, SequentialSmoothQuant.DEFAULT_SPILL_BYTES, progress, t0);
        }
        checked.requireFiniteWeights();
        LlamaModel m = HfCheckpoint.load(model);
        long inputBytes;
        try (CheckpointFolder ck = CheckpointFolder.open(model)) {
            inputBytes = ck.bytes();
        }
        LlamaHelper helper = new LlamaHelper(m, Math.min(seqLength, maxPos), encoder);
        List<int[]> samples = needsData ? helper.calibrationSamples(calib, maxSamples) : List.of();
        List<String> targets = PtqAlgorithm.targets(m, config), skipped = PtqAlgorithm.skipped(m, config);
        long weightBytes = 0;
        for (String t : targets) weightBytes += 4L * ((org.goldenstick.nn.Linear) m.module(t)).weight().numel();
        SmoothQuant sq = new SmoothQuant(config, mappings).progress(progress);
        sq.resumeWith(ResumeState.open(out, ResumeState.key(model, needsData ? calib : null,
                config + " mappings=" + (mappings == null ? "family" : mappings) + " seq_len=" + seqLength + " samples=" + maxSamples), resume));
        sq.apply(m, helper, samples);
        sq.convert(m);
        long tWrite = System.nanoTime();
        long outBytes = QuantizedCheckpoints.save(m, config, skipped, model, out, sq.modifiedTensors());
        sq.resumeState().finish();
        long t1 = System.nanoTime();
        return new PtqReport(config.methodName(), inputBytes, outBytes, (t1 - t0) / 1e9, targets.size(), skipped.size(), weightBytes, (t1 - tWrite) / 1e9);
    }

    /**
     * Weight-only quantization (W4/W8, any group size) with {@code method}: RTN with a uniform plan goes model-free
     * through the checkpoint; GPTQ (and RTN with a per-layer plan) loads the float model, quantizes it layer by layer
     * and saves {@code pack-quantized}. Every input check (config, tensors, group sizes, calibration text and its
     * token count) runs before anything is written.
     *
     * @param plan layer → scheme, or null for every linear the config does not skip with {@link PTQConfig#schemeFor}; a
     *             {@link PTQConfig#head()} scheme is added for {@code lm_head} either way (rounded to nearest after
     *             a calibrated method: it has no decoder layer to calibrate with)
     */
    public static PtqReport quantizeWeights(Path model, Path out, PTQConfig config, WeightMethod method, Map<String, WeightScheme> plan,
                                            Path calib, int maxSamples, int seqLength, NetworkHelper.TextEncoder encoder) throws IOException {
        return quantizeWeights(model, out, config, method, plan, calib, maxSamples, seqLength, encoder, ProgressListener.SILENT);
    }

    /** As above, reporting progress (per tensor for RTN, per decoder layer for GPTQ/AWQ) to {@code progress}. */
    public static PtqReport quantizeWeights(Path model, Path out, PTQConfig config, WeightMethod method, Map<String, WeightScheme> plan,
                                            Path calib, int maxSamples, int seqLength, NetworkHelper.TextEncoder encoder, ProgressListener progress) throws IOException {
        return quantizeWeights(model, out, config, method, plan, calib, maxSamples, seqLength, encoder, progress, ResumeState.Mode.OFF);
    }

    /**
     * As above; with {@link ResumeState.Mode#SAVE} GPTQ and AWQ keep each finished decoder layer (its processed float
     * tensors, packed weights, AWQ scales, and the next layer's calibration inputs) next to {@code out} until the
     * output is complete, and {@link ResumeState.Mode#CONTINUE} continues after the last layer an interrupted run of
     * the same input, plan, method and calibration settings finished. The output is byte-identical either way. RTN
     * keeps nothing here (it has no calibration to save; a rerun is quick).
     */
    public static PtqReport quantizeWeights(Path model, Path out, PTQConfig config, WeightMethod method, Map<String, WeightScheme> plan,
                                            Path calib, int maxSamples, int seqLength, NetworkHelper.TextEncoder encoder, ProgressListener progress,
                                            ResumeState.Mode resume) throws IOException {
        if (config.mode() != PTQMode.QUANTIZE) throw new IllegalArgumentException("quantize needs mode QUANTIZE, got " + config.mode());
        if (config.quantizesActivations()) throw new IllegalArgumentException(method.name() + " is weight-only; the config asks for " + config.methodName());
        AtomicFiles.checkFolderTarget(out, AtomicFiles.Existing.FAIL, "--out");
        if (method instanceof WeightMethod.Rtn && plan == null) return RoundToNearest.quantizeCheckpoint(model, out, config, progress);
        long t0 = System.nanoTime();
        if (method.needsCalibration()) {
            if (calib == null) throw new IllegalArgumentException(method.name() + " needs calibration text (--calib FILE|DIR): the calibration set is empty");
            if (!Files.exists(calib)) throw new IllegalArgumentException(calib + ": calibration text not found");
        }
        // the same folder validation eval and generate run, before anything large is allocated
        ModelFolderCheck.Checked checked = ModelFolderCheck.check(model);
        if (checked.scheme() != null) throw new IllegalArgumentException(model + ": config.json already has a quantization_config; quantize the floating-point model");
        checked.requireHeap(checked.heapBytesToLoad() + checked.layout().linearParameterCount() * 2, method.name() + " quantization (it loads the float model)");
        checked.requireFiniteWeights();
        LlamaLayout layout = checked.layout();
        DType scaleDtype = DType.F32;
        long inputBytes;
        try (CheckpointFolder ck = CheckpointFolder.open(model)) {
            inputBytes = ck.bytes();
            DType d = ck.entry(layout.linearLayers().get(0) + ".weight").dtype();
            if (d == DType.BF16 || d == DType.F16) scaleDtype = d;
        }
        LlamaModel loaded = HfCheckpoint.load(model);
        boolean untie = config.head() != null && loaded.config().tieWordEmbeddings();
        LlamaModel m = untie ? loaded.withUntiedHead() : loaded; // the quantized head is its own copy; the embedding stays float
        List<String> targets = PtqAlgorithm.targets(m, config);
        Map<String, WeightScheme> p = plan != null ? new LinkedHashMap<>(plan) : WeightOnlyQuantizer.plan(targets, config);
        if (config.head() != null) p.put(PTQConfig.HEAD, config.head());
        for (var e : p.entrySet()) {
            if (!(m.module(e.getKey()) instanceof Linear l)) throw new IllegalArgumentException("plan names '" + e.getKey() + "', which is not a linear layer of " + model);
            e.getValue().groupFor(l.inFeatures(), model + ": layer '" + e.getKey() + "'");
        }
        List<String> floatLinears = new ArrayList<>();
        for (var e : m.namedModules().entrySet()) if (e.getValue().getClass() == Linear.class && !p.containsKey(e.getKey())) floatLinears.add(e.getKey());
        List<int[]> samples = List.of();
        if (method.needsCalibration()) {
            LlamaHelper helper = new LlamaHelper(m, Math.min(seqLength, m.config().maxPositionEmbeddings()), encoder);
            samples = helper.calibrationSamples(calib, maxSamples);
            WeightOnlyQuantizer.requireEnoughTokens(m, samples, p, method.name());
        }
        Awq.Applied applied = Awq.Applied.empty();
        long weightBytes = 0;
        for (String t : p.keySet()) weightBytes += 4L * ((Linear) m.module(t)).weight().numel();
        ResumeState state = method.needsCalibration()
                ? ResumeState.open(out, ResumeState.key(model, calib, config + " method=" + method + " plan=" + p + " samples=" + maxSamples + " seq_len=" + seqLength), resume)
                : null;
        Map<String, org.goldenstick.tensor.kernel.PackedIntWeights> q = switch (method) {
            case WeightMethod.Rtn r -> WeightOnlyQuantizer.rtn(m, p, scaleDtype);
            case WeightMethod.Gptq g -> WeightOnlyQuantizer.gptq(m, samples, p, new Gptq.Settings(config.weights(), g.dampening(), g.blockSize(), g.actOrder()), scaleDtype, progress,
                    resume == ResumeState.Mode.OFF ? null : state);
            case WeightMethod.Awq a -> WeightOnlyQuantizer.awq(m, samples, p, a, scaleDtype, applied, progress, resume == ResumeState.Mode.OFF ? null : state);
        };
        WeightOnlyQuantizer.convert(m, q);
        ObjectNode gs = new ObjectMapper().createObjectNode();
        gs.put("method", method.name());
        WeightMethod inner = method instanceof WeightMethod.Awq a ? a.then() : method;
        if (method instanceof WeightMethod.Awq a) {
            gs.put("awq_grid", a.grid()).put("awq_duo_scaling", a.duo().name().toLowerCase(java.util.Locale.ROOT)).put("awq_clip", a.clip()).put("awq_clip_qk", a.settings().clipQk()).put("awq_max_shrink", a.maxShrink());
            ObjectNode alphas = gs.putObject("awq_alpha");
            applied.alphas().forEach(alphas::put);
            ObjectNode duo = gs.putObject("awq_duo_scaled");
            applied.duo().forEach(duo::put);
            gs.put("awq_folding", "1/s into input_layernorm, post_attention_layernorm, v_proj rows (no GQA), up_proj rows (separate projections only); s into the reading linears' columns");
        }
        if (method.needsCalibration()) {
            gs.put("calibration_samples", samples.size());
            gs.put("calibration", "layer by layer; true-sequential: q/k/v, o, gate/up, down");
        }
        if (inner instanceof WeightMethod.Gptq g) {
            gs.put("gptq_dampening", g.dampening()).put("gptq_block_size", g.blockSize()).put("gptq_act_order", g.actOrder());
        }
        ArrayNode skip = gs.putArray("skip");
        config.skip().forEach(skip::add);
        if (untie) gs.put("lm_head", QuantizedCheckpoints.UNTIED_HEAD);
        ObjectNode qc = PackQuantized.config(PackQuantized.targetsOf(p, targets), QuantizedCheckpoints.ignoreList(floatLinears, m.config().tieWordEmbeddings()), gs);
        if (inner instanceof WeightMethod.Gptq g && g.actOrder()) {
            for (var it = qc.get("config_groups").elements(); it.hasNext(); ) ((ObjectNode) it.next().get("weights")).put("actorder", "weight");
        }
        long tWrite = System.nanoTime();
        Set<String> changedFloats = new java.util.HashSet<>();
        for (String smooth : applied.scales().keySet()) {
            if (m.module(smooth).parameter("weight") != null && !p.containsKey(smooth)) changedFloats.add(smooth + ".weight");
            if (m.module(smooth).buffer("bias") != null || m.module(smooth).parameter("bias") != null) changedFloats.add(smooth + ".bias");
        }
        long outBytes = QuantizedCheckpoints.save(m, qc, model, out, changedFloats);
        if (state != null) state.finish();
        long t1 = System.nanoTime();
        return new PtqReport(method.name(), inputBytes, outBytes, (t1 - t0) / 1e9, p.size(), floatLinears.size(), weightBytes, (t1 - tWrite) / 1e9);
    }
}
