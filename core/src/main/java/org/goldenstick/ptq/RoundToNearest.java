package org.goldenstick.ptq;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.formats.AtomicFiles;
import org.goldenstick.formats.MappedPages;
import org.goldenstick.formats.safetensors.HalfFloats;
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
 *   <li>{@link #quantizeCheckpoint}: model-free, streamed from the memory-mapped checkpoint to the output file tensor
 *       by tensor (rows on all threads). The float model is never materialised: only a block of rows is converted to
 *       float at a time, untouched tensors are copied byte-for-byte, and the mapped pages read are given back, so
 *       memory stays at a few blocks for a checkpoint of any size (larger than RAM included).
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
        PtqAlgorithm.requireHeadLayer(network, config);
        List<String> targets = PtqAlgorithm.targets(network, config);
        if (targets.isEmpty()) System.err.println("warning: no linear layer of the network is left to quantize; check the skip list " + config.skip());
        for (String t : targets) config.schemeFor(t).groupFor(((Linear) network.module(t)).inFeatures(), t);
        return network;
    }

    @Override
    public Module convert(Module network) {
        if (config.mode() == PTQMode.DEPLOY) return network; // placeholders are already in place
        List<String> targets = PtqAlgorithm.targets(network, config);
        WNA16Linear[] q = new WNA16Linear[targets.size()];
        Parallel.forEach(targets.size(), i -> q[i] = WNA16Linear.quantize((Linear) network.module(targets.get(i)), config.schemeFor(targets.get(i)), scaleDtype, targets.get(i)));
        for (int i = 0; i < q.length; i++) network.replaceChild(targets.get(i), q[i]);
        return network;
    }

    /**
     * Quantizes the Hugging Face Llama checkpoint in {@code in} into a new model folder {@code out} (written
     * atomically). The whole input is validated against its config.json before work starts; NaN/Inf weights
     * abort the run with nothing written. Streamed: memory does not grow with the checkpoint (see the class comment).
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
        return quantizeCheckpoint(checked, out, config, t0, progress, ResumeState.open(out, "", ResumeState.Mode.OFF));
    }

    /** Called after each layer is quantized (and saved); tests interrupt a run through it. */
    static java.util.function.IntConsumer unitDone = i -> {};

    /**
     * RTN of a folder {@link ModelFolderCheck} has accepted (shapes, no left-over tensors), streamed: the output's
     * header is computed from the shapes up front, then each tensor is read from the mapping in row blocks, quantized
     * (rows split across threads), packed and written, and the mapped pages read are given back
     * ({@link MappedPages}); untouched tensors are copied in pieces, checked for NaN/Inf on the way. Memory is one
     * block of rows plus one tensor's scales, whatever the size of the checkpoint. A NaN/Inf, a bad tensor or a full
     * disk stops the write with the output's temporary folder removed: nothing is half-written.
     */
    static PtqReport quantizeCheckpoint(ModelFolderCheck.Checked checked, Path out, PTQConfig config, long t0, ProgressListener progress, ResumeState state)
            throws IOException {
        Path in = checked.dir();
        LlamaLayout layout = checked.layout();
        try (CheckpointFolder ck = CheckpointFolder.open(in)) {
            List<String> targets = new ArrayList<>(), skipped = new ArrayList<>();
            for (String l : layout.linearLayers()) (config.skips(l) ? skipped : targets).add(l);
            // a quantized head of a tied model is its own copy of the embedding table (the embedding itself stays float)
            boolean untie = layout.tiedEmbeddings() && config.head() != null;
            if (untie) targets.add(PTQConfig.HEAD);
            int n = targets.size();
            java.util.function.Function<String, SafetensorsEntry> source = t -> ck.entry(untie && t.equals(PTQConfig.HEAD) ? "model.embed_tokens.weight" : t + ".weight");
            for (String t : targets) config.schemeFor(t).groupFor(source.apply(t).shape()[1], in + ": layer '" + t + "'"); // every group size checked before work starts
            long[] writeNanos = {0};
            long weightBytes = 0;
            ProgressTask task = ProgressTask.start(progress, "rtn", ck.bytes() + (untie ? source.apply(PTQConfig.HEAD).byteLength() : 0), "tensor");
            SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
            Set<String> quantized = new HashSet<>();
            if (untie) quantized.add("lm_head.weight"); // a tied checkpoint's redundant float copy, replaced by the quantized head
            for (int i = 0; i < n; i++) {
                String layer = targets.get(i);
                SafetensorsEntry e = source.apply(layer);
                weightBytes += e.byteLength();
                if (!(untie && layer.equals(PTQConfig.HEAD))) quantized.add(e.name());
                new StreamedLayer(ck, e, layer, i, config.schemeFor(layer), state, task, writeNanos).addTo(w);
            }
            for (SafetensorsEntry e : ck.entries().values()) {
                if (quantized.contains(e.name())) continue;
                w.addStreamed(e.name(), e.dtype(), e.shape(), ch -> copy(ck, e, ch, task, writeNanos));
            }
            try (AtomicFiles.StagedFolder of = AtomicFiles.stageFolder(out, AtomicFiles.Existing.FAIL)) {
                w.write(of.dir().resolve("model.safetensors"));
                QuantizedCheckpoints.writeConfigAndAuxFiles(in, of.dir(), QuantizedCheckpoints.quantizationConfig(config, skipped, layout.tiedEmbeddings()));
                long outBytes = java.nio.file.Files.size(of.dir().resolve("model.safetensors"));
                long tForce = System.nanoTime();
                of.commit();
                writeNanos[0] += System.nanoTime() - tForce;
                state.finish();
                task.finish(n + " layers quantized");
                long t1 = System.nanoTime();
                return new PtqReport(config.methodName(), ck.bytes(), outBytes, (t1 - t0) / 1e9, n, skipped.size(), weightBytes, writeNanos[0] / 1e9);
            }
        }
    }

    /** Bytes copied per piece of an untouched tensor. */
    private static final int COPY_BYTES = 8 << 20;

    /** Copies an untouched tensor in pieces (floating point ones checked for NaN/Inf first), giving back the pages read. */
    static void copy(CheckpointFolder ck, SafetensorsEntry e, WritableByteChannel ch, ProgressTask task, long[] writeNanos) throws IOException {
        long bytes = e.byteLength(), elem = e.dtype().byteSize();
        for (long off = 0; off < bytes; off += COPY_BYTES) {
            long len = Math.min(COPY_BYTES, bytes - off);
            if (e.dtype().isFloatingPoint()) ModelFolderCheck.requireFinite(ck, e, off / elem, len / elem);
            MemorySegment piece = e.segment().asSlice(off, len);
            write(ch, piece.asByteBuffer(), writeNanos);
            MappedPages.release(piece);
        }
        if (task != null) task.advance(bytes, 1, e.name());
    }

    private static void write(WritableByteChannel ch, ByteBuffer b, long[] writeNanos) throws IOException {
        long t = System.nanoTime();
        while (b.hasRemaining()) ch.write(b);
        writeNanos[0] += System.nanoTime() - t;
    }

    /**
     * One quantized linear's tensors in the streamed output. {@code weight_packed} (first in name order) quantizes the
     * weight block by block and writes the packed words; the scales and zero points it found are kept until
     * {@code weight_scale} and {@code weight_zero_point} are written just after it.
     */
    private static final class StreamedLayer {
        private final CheckpointFolder ck;
        private final SafetensorsEntry e;
        private final String layer;
        private final int index, rows, cols, groupSize, groups;
        private final WeightScheme ws;
        private final DType scaleDtype, storedScaleDtype;
        private final ResumeState state;
        private final ProgressTask task;
        private final long[] writeNanos;
        private float[] scales;
        private byte[] zeros;

        StreamedLayer(CheckpointFolder ck, SafetensorsEntry e, String layer, int index, WeightScheme ws, ResumeState state, ProgressTask task, long[] writeNanos) {
            this.ck = ck;
            this.e = e;
            this.layer = layer;
            this.index = index;
            this.ws = ws;
            this.state = state;
            this.task = task;
            this.writeNanos = writeNanos;
            rows = e.shape()[0];
            cols = e.shape()[1];
            groupSize = ws.groupFor(cols, e.name());
            groups = cols / groupSize;
            scaleDtype = e.dtype() == DType.F16 || e.dtype() == DType.BF16 ? e.dtype() : DType.F32;
            storedScaleDtype = PackQuantized.storedScaleDtype(ws, scaleDtype);
        }

        void addTo(SafetensorsWriter w) {
            int bits = ws.bits();
            w.addStreamed(layer + ".weight_packed", DType.I32, new int[] {rows, PackedIntWeights.wordsPerRow(cols, bits)}, this::writePacked);
            w.addStreamed(layer + ".weight_scale", storedScaleDtype, new int[] {rows, groups}, ch -> {
                ByteBuffer b = ByteBuffer.allocate(scales.length * storedScaleDtype.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
                for (float s : scales) {
                    switch (storedScaleDtype) {
                        case F32 -> b.putFloat(s);
                        case BF16 -> b.putShort(HalfFloats.toBf16(s));
                        default -> b.putShort(HalfFloats.toF16(s));
                    }
                }
                write(ch, b.flip(), writeNanos);
                scales = null;
            });
            w.addInt64(layer + ".weight_shape", new long[] {rows, cols}, 2);
            if (!ws.symmetric()) {
                w.addStreamed(layer + ".weight_zero_point", DType.I32, new int[] {PackedIntWeights.wordsPerRow(rows, bits), groups}, ch -> {
                    write(ch, words(PackedIntWeights.packColumns(zeros, rows, groups, bits)), writeNanos);
                    zeros = null;
                });
            }
        }

        private void writePacked(WritableByteChannel ch) throws IOException {
            String name = e.name();
            int bits = ws.bits();
            // a layer an interrupted run finished is taken as it was (exact codes, scales and zero points)
            var done = state.load("rtn-" + index);
            if (done != null && done.get("codes") instanceof byte[] dc && done.get("scales") instanceof float[] ds && dc.length == (long) rows * cols
                    && ds.length == rows * groups && (ws.symmetric() || done.get("zeros") instanceof byte[])) {
                scales = ds;
                zeros = ws.symmetric() ? null : (byte[]) done.get("zeros");
                write(ch, words(PackedIntWeights.packRows(dc, rows, cols, bits)), writeNanos);
                task.advance(e.byteLength(), 1, layer + " (resumed)");
                return;
            }
            scales = new float[rows * groups];
            zeros = ws.symmetric() ? null : new byte[rows * groups];
            byte[] keep = state.saving() ? new byte[rows * cols] : null; // the whole tensor's codes only when a resumable run keeps them
            // blocks of rows, each split into cache-sized pieces quantized on all threads
            int rowsPerPiece = Math.max(1, chunkFloats / cols);
            int pieces = Math.max(1, Math.min(Parallel.threads() * 4, (rows + rowsPerPiece - 1) / rowsPerPiece));
            int blockRows = Math.min(rows, pieces * rowsPerPiece);
            // per piece index, buffers reused for every block: the pass makes little garbage, so the heap stays small
            int wpr = PackedIntWeights.wordsPerRow(cols, bits);
            float[][] fw = new float[pieces][rowsPerPiece * cols];
            byte[][] pq = new byte[pieces][rowsPerPiece * cols];
            float[][] sc = new float[pieces][rowsPerPiece * groups];
            byte[][] zc = new byte[pieces][zeros == null ? 0 : rowsPerPiece * groups];
            int[] packed = new int[blockRows * wpr];
            ByteBuffer out = ByteBuffer.allocate(4 * packed.length).order(ByteOrder.LITTLE_ENDIAN);
            for (int b0 = 0; b0 < rows; b0 += blockRows) {
                int nb = Math.min(blockRows, rows - b0), first = b0;
                Parallel.forEach((nb + rowsPerPiece - 1) / rowsPerPiece, p -> {
                    int r0 = first + p * rowsPerPiece, nr = Math.min(rowsPerPiece, first + nb - r0);
                    ck.floats(name, (long) r0 * cols, nr * cols, fw[p]);
                    ws.quantize(fw[p], nr, cols, scaleDtype, pq[p], sc[p], zeros == null ? null : zc[p], ck.dir() + ": tensor '" + name + "'", r0);
                    PackedIntWeights.packRows(pq[p], nr, cols, bits, packed, (r0 - first) * wpr);
                    System.arraycopy(sc[p], 0, scales, r0 * groups, nr * groups);
                    if (zeros != null) System.arraycopy(zc[p], 0, zeros, r0 * groups, nr * groups);
                    if (keep != null) System.arraycopy(pq[p], 0, keep, r0 * cols, nr * cols);
                });
                out.clear();
                out.asIntBuffer().put(packed, 0, nb * wpr);
                out.limit(4 * nb * wpr);
                write(ch, out, writeNanos);
            }
            task.advance(e.byteLength(), 1, layer);
            if (keep != null) {
                java.util.Map<String, Object> unit = new java.util.LinkedHashMap<>();
                unit.put("codes", keep);
                unit.put("scales", scales);
                if (zeros != null) unit.put("zeros", zeros);
                state.save("rtn-" + index, unit);
            }
            unitDone.accept(index);
        }
    }

    private static ByteBuffer words(int[] v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(v);
        return b;
    }
}
