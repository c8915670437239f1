package org.goldenstick.ptq;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.formats.AtomicFiles;
import org.goldenstick.formats.safetensors.SafetensorsEntry;
import org.goldenstick.formats.safetensors.SafetensorsWriter;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.progress.ProgressListener;
import org.goldenstick.progress.ProgressTask;
import org.goldenstick.tensor.kernel.PackedIntWeights;
import org.goldenstick.tensor.kernel.Parallel;

/**
 * Round-to-nearest weight-only quantization (W8A16 per channel by default; W4/W8, groups of 32/64/128, symmetric or
 * asymmetric through {@link PTQConfig#weights()}), float activations, no calibration data. The output is
 * compressed-tensors {@code pack-quantized} ({@link PackQuantized}).
 *
 * <p>Two ways to run it:
 * <ul>
 *   <li>{@link #quantizeCheckpoint}: model-free, straight from the memory-mapped checkpoint, tensor by tensor on
 *       all threads. The float model is never materialised: only the tensors being quantized are converted to
 *       float, and untouched tensors are copied byte-for-byte from the mapping.
 *   <li>{@link #apply} + {@link #convert} on an in-memory model (nn.Linear → {@link WNA16Linear}).
 * </ul>
 *
 * <pre>{@code
 * PtqReport r = RoundToNearest.quantizeCheckpoint(Path.of("llama"), Path.of("llama-w8a16"), PTQConfig.rtn());
 * }</pre>
 */
public final class RoundToNearest extends PtqAlgorithm {
    /** Floats converted per read from the mapped checkpoint (256 KB: fits the L2 cache); tests lower it to exercise the chunking. */
    static int chunkFloats = 1 << 16;

    private final PTQConfig config;
    private final DType scaleDtype;

    public RoundToNearest(PTQConfig config) {
        this(config, DType.F32);
    }

    /** @param scaleDtype the dtype scales are stored in (the checkpoint's weight dtype, as llm-compressor writes them) */
    public RoundToNearest(PTQConfig config, DType scaleDtype) {
        if (config.quantizesActivations()) throw new IllegalArgumentException("RoundToNearest is weight-only (W8A16) but the config quantizes activations (" + config.methodName() + "); use SmoothQuant");
        this.config = config;
        this.scaleDtype = scaleDtype;
    }

    @Override
    public PTQConfig config() {
        return config;
    }

    /**
     * RTN needs no data: QUANTIZE only checks there is something to quantize. DEPLOY does nothing here: the packed
     * layers are built from the checkpoint by {@link QuantizedCheckpoints#loadInto}, whose config says each layer's
     * scheme.
     */
    @Override
    public Module apply(Module network, NetworkHelper helper, List<int[]> calibration) {
        List<String> targets = PtqAlgorithm.targets(network, config);
        if (targets.isEmpty()) System.err.println("warning: no linear layer of the network is left to quantize; check the skip list " + config.skip());
        for (String t : targets) config.weights().groupFor(((Linear) network.module(t)).inFeatures(), t);
        return network;
    }

    @Override
    public Module convert(Module network) {
        if (config.mode() == PTQMode.DEPLOY) return network; // placeholders are already in place
        List<String> targets = PtqAlgorithm.targets(network, config);
        WNA16Linear[] q = new WNA16Linear[targets.size()];
        Parallel.forEach(targets.size(), i -> q[i] = WNA16Linear.quantize((Linear) network.module(targets.get(i)), config.weights(), scaleDtype, targets.get(i)));
        for (int i = 0; i < q.length; i++) network.replaceChild(targets.get(i), q[i]);
        return network;
    }

    /**
     * Quantizes the Hugging Face Llama checkpoint in {@code in} into a new model folder {@code out} (written
     * atomically). The whole input is validated against its config.json before work starts; NaN/Inf weights
     * abort the run with nothing written.
     */
    public static PtqReport quantizeCheckpoint(Path in, Path out, PTQConfig config) throws IOException {
        return quantizeCheckpoint(in, out, config, ProgressListener.SILENT);
    }

    /** As {@link #quantizeCheckpoint(Path, Path, PTQConfig)}, reporting per-tensor progress (work: bytes) to {@code progress}. */
    public static PtqReport quantizeCheckpoint(Path in, Path out, PTQConfig config, ProgressListener progress) throws IOException {
        if (config.quantizesActivations()) throw new IllegalArgumentException("quantizeCheckpoint is RTN (W8A16); the config asks for " + config.methodName());
        if (config.mode() != PTQMode.QUANTIZE) throw new IllegalArgumentException("quantizeCheckpoint needs mode QUANTIZE, got " + config.mode());
        long t0 = System.nanoTime();
        AtomicFiles.checkFolderTarget(out, AtomicFiles.Existing.FAIL, "--out");
        ModelFolderCheck.Checked checked = ModelFolderCheck.check(in);
        if (checked.scheme() != null) throw new IllegalArgumentException(in + ": config.json already has a quantization_config; quantize the floating-point model");
        checked.requireFiniteWeights();
        return quantizeCheckpoint(checked, out, config, t0, progress, ResumeState.open(out, "", ResumeState.Mode.OFF));
    }

    /** Called after each layer is quantized (and saved); tests interrupt a run through it. */
    static java.util.function.IntConsumer unitDone = i -> {};

    /** RTN of a folder {@link ModelFolderCheck} has accepted (shapes, no left-over tensors, finite values). */
    static PtqReport quantizeCheckpoint(ModelFolderCheck.Checked checked, Path out, PTQConfig config, long t0, ProgressListener progress, ResumeState state)
            throws IOException {
        Path in = checked.dir();
        LlamaLayout layout = checked.layout();
        try (CheckpointFolder ck = CheckpointFolder.open(in)) {
            List<String> targets = new ArrayList<>(), skipped = new ArrayList<>();
            for (String l : layout.linearLayers()) (config.skips(l) ? skipped : targets).add(l);
            int n = targets.size();
            WeightScheme ws = config.weights();
            int[] cols = new int[n];
            for (int i = 0; i < n; i++) {
                cols[i] = ck.entry(targets.get(i) + ".weight").shape()[1];
                ws.groupFor(cols[i], in + ": layer '" + targets.get(i) + "'"); // every group size checked before work starts
            }
            PackedIntWeights[] q = new PackedIntWeights[n];
            DType[] scaleDtype = new DType[n];
            long[] read = new long[n];
            long totalBytes = 0;
            for (String t : targets) totalBytes += ck.entry(t + ".weight").byteLength();
            ProgressTask task = ProgressTask.start(progress, "rtn", totalBytes, "tensor");
            Parallel.forEach(n, i -> {
                String name = targets.get(i) + ".weight";
                SafetensorsEntry e = ck.entry(name);
                int rows = e.shape()[0], c = e.shape()[1], groups = c / ws.groupFor(c, name);
                scaleDtype[i] = e.dtype() == DType.F16 || e.dtype() == DType.BF16 ? e.dtype() : DType.F32;
                read[i] = e.byteLength();
                // a layer an interrupted run finished is taken as it was (exact codes, scales and zero points)
                var done = state.load("rtn-" + i);
                if (done != null && done.get("codes") instanceof byte[] dc && done.get("scales") instanceof float[] ds && dc.length == (long) rows * c
                        && ds.length == rows * groups && (ws.symmetric() || done.get("zeros") instanceof byte[])) {
                    q[i] = PackedIntWeights.pack(dc, rows, c, ws.bits(), ws.groupFor(c, name), ds, ws.symmetric() ? null : (byte[]) done.get("zeros"));
                    task.advance(e.byteLength(), 1, targets.get(i) + " (resumed)");
                    return;
                }
                byte[] codes = new byte[rows * c];
                float[] s = new float[rows * groups];
                byte[] z = ws.symmetric() ? null : new byte[rows * groups];
                // rows are converted in cache-sized pieces: no float copy of the whole tensor
                int rowsPerChunk = Math.max(1, chunkFloats / c);
                float[] w = new float[Math.min(rows, rowsPerChunk) * c];
                byte[] qc = new byte[w.length];
                float[] sc = new float[Math.min(rows, rowsPerChunk) * groups];
                byte[] zc = z == null ? null : new byte[sc.length];
                for (int r0 = 0; r0 < rows; r0 += rowsPerChunk) {
                    int nr = Math.min(rowsPerChunk, rows - r0);
                    ck.floats(name, (long) r0 * c, nr * c, w);
                    ws.quantize(w, nr, c, scaleDtype[i], qc, sc, zc, in + ": tensor '" + name + "'", r0);
                    System.arraycopy(qc, 0, codes, r0 * c, nr * c);
                    System.arraycopy(sc, 0, s, r0 * groups, nr * groups);
                    if (z != null) System.arraycopy(zc, 0, z, r0 * groups, nr * groups);
                }
                q[i] = PackedIntWeights.pack(codes, rows, c, ws.bits(), ws.groupFor(c, name), s, z);
                task.advance(e.byteLength(), 1, targets.get(i));
                java.util.Map<String, Object> unit = new java.util.LinkedHashMap<>();
                unit.put("codes", codes);
                unit.put("scales", s);
                if (z != null) unit.put("zeros", z);
                state.save("rtn-" + i, unit);
                unitDone.accept(i);
            });
            task.finish(n + " layers quantized");
            SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
            Set<String> quantized = new HashSet<>();
            for (int i = 0; i < n; i++) {
                PackQuantized.add(w, targets.get(i), q[i], scaleDtype[i]);
                quantized.add(targets.get(i) + ".weight");
            }
            for (SafetensorsEntry e : ck.entries().values()) {
                if (quantized.contains(e.name())) continue;
                w.addRaw(e.name(), e.dtype(), e.shape(), e.segment());
            }
            long weightBytes = 0;
            for (long r : read) weightBytes += r;
            long tWrite = System.nanoTime();
            try (AtomicFiles.StagedFolder of = AtomicFiles.stageFolder(out, AtomicFiles.Existing.FAIL)) {
                w.write(of.dir().resolve("model.safetensors"));
                QuantizedCheckpoints.writeConfigAndAuxFiles(in, of.dir(), QuantizedCheckpoints.quantizationConfig(config, skipped, layout.tiedEmbeddings()));
                long outBytes = java.nio.file.Files.size(of.dir().resolve("model.safetensors"));
                of.commit();
                state.finish();
                long t1 = System.nanoTime();
                return new PtqReport(config.methodName(), ck.bytes(), outBytes, (t1 - t0) / 1e9, n, skipped.size(), weightBytes, (t1 - tWrite) / 1e9);
            }
        }
    }
}
