package org.goldenstick.ptq;

import org.goldenstick.progress.ProgressListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.goldenstick.formats.AtomicFiles;
import org.goldenstick.llm.HfCheckpoint;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.llm.tokenizer.Tokenizer;
import org.goldenstick.llm.tokenizer.Tokenizers;

/**
 * The QUANTIZE stage end to end, as {@code gstick quantize} runs it: Hugging Face Llama folder in, quantized folder
 * out. RTN goes model-free through the checkpoint ({@link RoundToNearest#quantizeCheckpoint}); W8A8 loads the float
 * model, calibrates and smooths it ({@link SmoothQuant}), converts and saves. Every input check runs before work
 * starts; the output folder appears atomically.
 *
 * <pre>{@code
 * PtqReport r = Quantizer.quantize(Path.of("models/gstick-llama-demo"), Path.of("out"), PTQConfig.smoothQuant(),
 *         Path.of("calib.txt"), 64, 256, null);   // null: the model folder's tokenizer encodes the calibration text
 * }</pre>
 */
public final class Quantizer {
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
        return quantize(model, out, config, SmoothingMapping.LLAMA, calib, maxSamples, seqLength, encoder, progress);
    }

    /** As above, with SmoothQuant's norm → linears {@code mappings} (a recipe's {@code SmoothQuantModifier.mappings}). */
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
            // model-free: the int8 weights and scales of all linear layers are held until the write
            checked.requireHeap(checked.layout().linearParameterCount() * 5 / 4 + (64L << 20), "RTN quantization");
            checked.requireFiniteWeights();
            ResumeState state = ResumeState.open(out, ResumeState.key(model, null, config.toString()), resume);
            return RoundToNearest.quantizeCheckpoint(checked, out, config, t0, progress, state);
        }
        // the float model, its int8 copy and the calibration activations
        checked.requireHeap(checked.heapBytesToLoad() + checked.layout().linearParameterCount(), config.methodName() + " quantization (it loads the float model)");
        checked.requireFiniteWeights();
        LlamaModel m = HfCheckpoint.load(model);
        long inputBytes;
        try (CheckpointFolder ck = CheckpointFolder.open(model)) {
            inputBytes = ck.bytes();
        }
        if (encoder == null && needsData) {
            Tokenizer tok = Tokenizers.load(model);
            encoder = text -> tok.encode(text, true);
        }
        LlamaHelper helper = new LlamaHelper(m, Math.min(seqLength, maxPos), encoder);
        List<int[]> samples = needsData ? helper.calibrationSamples(calib, maxSamples) : List.of();
        List<String> targets = PtqAlgorithm.targets(m, config), skipped = PtqAlgorithm.skipped(m, config);
        long weightBytes = 0;
        for (String t : targets) weightBytes += 4L * ((org.goldenstick.nn.Linear) m.module(t)).weight().numel();
        SmoothQuant sq = new SmoothQuant(config, mappings).progress(progress);
        sq.resumeWith(ResumeState.open(out, ResumeState.key(model, needsData ? calib : null,
                config + " mappings=" + mappings + " seq_len=" + seqLength + " samples=" + maxSamples), resume));
        sq.apply(m, helper, samples);
        sq.convert(m);
        long tWrite = System.nanoTime();
        long outBytes = QuantizedCheckpoints.save(m, config, skipped, model, out, sq.modifiedTensors());
        sq.resumeState().finish();
        long t1 = System.nanoTime();
        return new PtqReport(config.methodName(), inputBytes, outBytes, (t1 - t0) / 1e9, targets.size(), skipped.size(), weightBytes, (t1 - tWrite) / 1e9);
    }
}
