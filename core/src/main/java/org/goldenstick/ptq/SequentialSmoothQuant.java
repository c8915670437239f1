package org.goldenstick.ptq;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.goldenstick.formats.AtomicFiles;
import org.goldenstick.formats.safetensors.SafetensorsEntry;
import org.goldenstick.formats.safetensors.SafetensorsWriter;
import org.goldenstick.llm.LlamaConfig;
import org.goldenstick.llm.LlamaDecoderLayer;
import org.goldenstick.llm.LlamaSession;
import org.goldenstick.nn.Module;
import org.goldenstick.progress.ProgressListener;
import org.goldenstick.progress.ProgressTask;
import org.goldenstick.tensor.Tensor;

/**
 * SmoothQuant (and the other W8A8 settings of {@link SmoothQuant}) with sequential onloading: the checkpoint is read
 * one decoder layer at a time, so memory is one float layer plus the calibration activations of that layer (spilled
 * to a temporary file beyond a limit, {@link CalibrationStates}), whatever the size of the model.
 *
 * <p>For layer {@code l}: its tensors are read from the mapped checkpoint into a float {@link LlamaDecoderLayer}; its
 * linears are observed while the calibration samples' hidden states run through it ({@link LlamaSession#prefillLayer},
 * the arithmetic the whole-model calibration pass uses), which also gives the next layer's inputs; then it is
 * smoothed and converted exactly as {@link SmoothQuant#apply}/{@link SmoothQuant#convert} do on a loaded model, and
 * written as its own shard. SmoothQuant's statistics come from the float model, so the next inputs are those of the
 * unsmoothed layer, as in the one-pass calibration: the output holds the same values as the in-memory path
 * (tests compare them), in one shard per decoder layer plus one for the embeddings, final norm and head, with an index.
 * The embeddings, final norm and a float {@code lm_head} are copied in pieces; {@code lm_head} must be skipped (it is
 * by default). No resume: a rerun starts over.
 *
 * <pre>{@code
 * PtqReport r = SequentialSmoothQuant.quantize(Path.of("llama"), Path.of("llama-w8a8"), PTQConfig.smoothQuant(), null,
 *         samples, 256L << 20, ProgressListener.SILENT);
 * }</pre>
 */
public final class SequentialSmoothQuant {
    /** Calibration activations kept in memory per layer before the rest goes to a temporary file (256 MiB). */
    public static final long DEFAULT_SPILL_BYTES = 256L << 20;

    private SequentialSmoothQuant() {}

    /**
     * Quantizes the Hugging Face Llama folder {@code in} into {@code out} (written atomically).
     *
     * @param mappings   norm → linears mappings, or null for the model family's
     * @param samples    calibration token ids (ignored when the config needs no calibration)
     * @param spillBytes calibration activations held in memory per layer before spilling to disk
     */
    public static PtqReport quantize(Path in, Path out, PTQConfig config, List<SmoothingMapping> mappings, List<int[]> samples, long spillBytes,
                                     ProgressListener progress) throws IOException {
        long t0 = System.nanoTime();
        if (config.mode() != PTQMode.QUANTIZE) throw new IllegalArgumentException("quantize needs mode QUANTIZE, got " + config.mode());
        AtomicFiles.checkFolderTarget(out, AtomicFiles.Existing.FAIL, "--out");
        ModelFolderCheck.Checked checked = ModelFolderCheck.check(in);
        if (checked.scheme() != null) throw new IllegalArgumentException(in + ": config.json already has a quantization_config; quantize the floating-point model");
        return quantize(checked, out, config, mappings, samples, spillBytes, progress, t0);
    }

    static PtqReport quantize(ModelFolderCheck.Checked checked, Path out, PTQConfig config, List<SmoothingMapping> mappings, List<int[]> samples, long spillBytes,
                              ProgressListener progress, long t0) throws IOException {
        Path in = checked.dir();
        LlamaConfig c = checked.config();
        LlamaLayout layout = checked.layout();
        SmoothQuant sq = new SmoothQuant(config, mappings != null ? mappings : SmoothingMapping.of(c.family()));
        boolean calibrate = sq.needsCalibration();
        int d = c.hiddenSize(), layers = c.numHiddenLayers();
        if (!config.skips("lm_head") && layout.linearLayers().contains("lm_head")) {
            throw new IllegalArgumentException(config.methodName() + " layer by layer keeps lm_head in float: add it to the skip list (the default skips it)");
        }
        if (calibrate) {
            if (samples == null || samples.isEmpty()) throw new IllegalArgumentException(config.methodName() + ": the calibration set is empty");
            for (int i = 0; i < samples.size(); i++) {
                int[] s = samples.get(i);
                if (s == null || s.length == 0) throw new IllegalArgumentException(config.methodName() + ": calibration sample " + i + " is empty");
                for (int id : s) if (id < 0 || id >= c.vocabSize()) throw new IllegalArgumentException(config.methodName() + ": calibration sample " + i + " holds token id " + id + " outside [0, " + c.vocabSize() + ")");
            }
        }
        // one float layer, its int8 copy and a fifth for the rest; activations beyond the spill limit go to disk
        long layerParams = 0;
        for (var e : layout.expectedShapes().entrySet()) {
            if (!e.getKey().startsWith("model.layers.0.")) continue;
            long n = 1;
            for (int s : e.getValue()) n *= s;
            layerParams += n;
        }
        checked.requireHeap(layerParams * 5 * 6 / 5 + Math.min(spillBytes, 2L * samplesBytes(samples, d)), config.methodName() + " layer by layer (one decoder layer in float)");
        List<String> skipped = new ArrayList<>();
        long weightBytes = 0, outBytes = 0;
        int quantizedLayers = 0;
        try (CheckpointFolder ck = CheckpointFolder.open(in);
             AtomicFiles.StagedFolder of = AtomicFiles.stageFolder(out, AtomicFiles.Existing.FAIL)) {
            for (String l : layout.linearLayers()) {
                if (config.skips(l)) skipped.add(l);
                else weightBytes += 4 * ck.entry(l + ".weight").numel();
            }
            int shards = layers + 1;
            ObjectNode index = new ObjectMapper().createObjectNode();
            ObjectNode weightMap = index.putObject("weight_map");
            ProgressTask task = ProgressTask.start(ProgressListener.orSilent(progress), config.methodName() + " layer by layer", layers, "layer");
            CalibrationStates states = new CalibrationStates(spillBytes, of.dir());
            try {
                if (calibrate) {
                    SafetensorsEntry emb = ck.entry("model.embed_tokens.weight");
                    // the embedding rows of each sample, scaled as LlamaTransformer.embed scales them (√hidden for Gemma)
                    float embedScale = c.family().gemmaNorms() ? (float) Math.sqrt(d) : 1f;
                    for (int[] s : samples) {
                        float[] x = new float[s.length * d], row = new float[d];
                        for (int t = 0; t < s.length; t++) {
                            ck.floats(emb.name(), (long) s[t] * d, d, row);
                            System.arraycopy(row, 0, x, t * d, d);
                        }
                        if (embedScale != 1f) for (int i = 0; i < x.length; i++) x[i] *= embedScale;
                        states.add(x);
                    }
                }
                for (int l = 0; l < layers; l++) {
                    String prefix = "model.layers." + l + ".";
                    LlamaDecoderLayer layer = new LlamaDecoderLayer(c, new QuantizedCheckpoints.ZeroRandom());
                    for (Map.Entry<String, Tensor> e : layer.stateDict().entrySet()) {
                        float[] v = e.getValue().data();
                        ModelFolderCheck.requireFinite(ck, ck.entry(prefix + e.getKey()), 0, v.length); // NaN/Inf named by tensor and row
                        ck.floats(prefix + e.getKey(), 0, v.length, v);
                    }
                    Module root = new Named("model", new Named("layers", new Named(Integer.toString(l), layer)));
                    List<String> targets = PtqAlgorithm.targets(root, config);
                    if (calibrate) {
                        Map<String, ActObserver> obs = sq.observe(root, targets);
                        CalibrationStates next = new CalibrationStates(spillBytes, of.dir());
                        try {
                            for (int i = 0; i < samples.size(); i++) {
                                float[] x = states.get(i);
                                LlamaSession.prefillLayer(c, layer, x, samples.get(i).length);
                                next.add(x);
                            }
                        } catch (RuntimeException ex) {
                            next.close();
                            throw ex;
                        } finally {
                            SmoothQuant.unobserve(root, obs);
                        }
                        states.close();
                        states = next;
                        sq.finishCalibration(root, obs);
                    } else {
                        sq.finishCalibration(root, Map.of());
                    }
                    sq.convert(root);
                    quantizedLayers += targets.size();
                    QuantizedCheckpoints.requireFinite(root);
                    SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
                    QuantizedCheckpoints.addModelState(root, w, QuantizedCheckpoints.floatDtypes(ck, sq.modifiedTensors()));
                    outBytes += writeShard(of.dir(), w, l + 1, shards, weightMap);
                    task.advance(1, 1, "model.layers." + l + (states.spilledBytes() > 0 ? String.format(Locale.ROOT, " (%.0f MB of activations on disk)", states.spilledBytes() / 1e6) : ""));
                }
            } finally {
                states.close();
            }
            SafetensorsWriter rest = new SafetensorsWriter().metadata("format", "pt");
            for (SafetensorsEntry e : ck.entries().values()) {
                if (e.name().startsWith("model.layers.")) continue;
                rest.addStreamed(e.name(), e.dtype(), e.shape(), ch -> RoundToNearest.copy(ck, e, ch, null, new long[1]));
            }
            outBytes += writeShard(of.dir(), rest, shards, shards, weightMap);
            index.putObject("metadata").put("total_size", outBytes);
            AtomicFiles.writeString(of.dir().resolve("model.safetensors.index.json"), new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(index));
            QuantizedCheckpoints.writeConfigAndAuxFiles(in, of.dir(), QuantizedCheckpoints.quantizationConfig(config, skipped, layout.tiedEmbeddings()));
            of.commit();
            task.finish(quantizedLayers + " linears quantized");
            long t1 = System.nanoTime();
            return new PtqReport(config.methodName(), ck.bytes(), outBytes, (t1 - t0) / 1e9, quantizedLayers, skipped.size(), weightBytes, 0);
        }
    }

    private static long samplesBytes(List<int[]> samples, int hidden) {
        long n = 0;
        if (samples != null) for (int[] s : samples) n += 4L * s.length * hidden;
        return n;
    }

    private static long writeShard(Path dir, SafetensorsWriter w, int shard, int shards, ObjectNode weightMap) throws IOException {
        String file = String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", shard, shards);
        Path p = dir.resolve(file);
        w.write(p);
        try (var f = org.goldenstick.formats.safetensors.SafetensorsFile.open(p)) {
            for (String n : f.names()) weightMap.put(n, file);
        }
        return Files.size(p);
    }

    /** A module holding one child under a name, so that a lone decoder layer has its full path ({@code model.layers.N.}). */
    private static final class Named extends Module {
        Named(String name, Module child) {
            registerChild(name, child);
        }

        @Override
        public Tensor forward(Tensor x) {
            throw new UnsupportedOperationException("a path container");
        }
    }
}
