package org.goldenstick.ptq.onnx;

import ai.onnxruntime.OrtException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.goldenstick.formats.AtomicFiles;
import org.goldenstick.formats.onnx.OnnxAttribute;
import org.goldenstick.formats.onnx.OnnxDataType;
import org.goldenstick.formats.onnx.OnnxFormatException;
import org.goldenstick.formats.onnx.OnnxGraph;
import org.goldenstick.formats.onnx.OnnxModel;
import org.goldenstick.formats.onnx.OnnxModelReader;
import org.goldenstick.formats.onnx.OnnxModelWriter;
import org.goldenstick.formats.onnx.OnnxNode;
import org.goldenstick.formats.onnx.OnnxTensor;
import org.goldenstick.formats.onnx.OnnxValueInfo;
import org.goldenstick.llm.tokenizer.WordPieceTokenizer;
import org.goldenstick.progress.ProgressListener;
import org.goldenstick.progress.ProgressTask;

/**
 * Post-training quantization of a transformer graph in ONNX, at graph level: every {@code MatMul} / {@code Gemm}
 * whose second input is a constant 2-D float weight is replaced by a quantized equivalent; all other nodes are
 * left as they are. Calibration forwards run in ONNX Runtime with the quantized MatMuls' inputs exposed as extra
 * graph outputs; the statistics and the quantization math ({@link BlockQuant}) are ours.
 *
 * <ul>
 *   <li>{@code int8-dynamic}: per-output-channel int8 weights, activations quantized to uint8 at run time
 *       ({@code DynamicQuantizeLinear → MatMulInteger → Cast → Mul}, which ONNX Runtime fuses);</li>
 *   <li>{@code int8-static}: the same integer MatMul with the activation scale fixed from calibration
 *       ({@code QuantizeLinear} with min/max observed over the calibration tokens);</li>
 *   <li>{@code int4}: weight-only 4-bit in blocks of 32/64/128 along the input dimension ({@code MatMulNBits}
 *       of the {@code com.microsoft} domain), by round-to-nearest or by GPTQ from calibration Hessians.</li>
 * </ul>
 * Embedding tables (each {@code Gather} of a large constant 2-D table: word and position embeddings) can be stored
 * int8 per row ({@code Gather → Cast → Mul} by the gathered row scales), or 4-bit in blocks ({@code GatherBlockQuantized}).
 *
 * <pre>{@code
 * OnnxPtq.Report r = OnnxPtq.quantize(Path.of("model.onnx"), tokenizer, calibrationSentences,
 *         OnnxPtq.Config.defaults(OnnxPtq.Method.INT8_DYNAMIC), Path.of("model-int8.onnx"));
 * }</pre>
 */
public final class OnnxPtq {
    private OnnxPtq() {}

    public enum Method {
        INT8_DYNAMIC, INT8_STATIC, INT4;

        /** The command-line spelling ({@code int8-dynamic}, ...). */
        public String label() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        public static Method parse(String s) {
            for (Method m : values()) if (m.label().equals(s)) return m;
            throw new IllegalArgumentException("unknown method '" + s + "' (int8-dynamic, int8-static or int4)");
        }
    }

    /** How 4-bit weights are rounded. */
    public enum Int4Algo { RTN, GPTQ }

    /**
     * The int8-dynamic kernel. {@code MATMUL_INTEGER_TOKEN}: per-channel int8 weights in ONNX Runtime's integer
     * GEMM with one activation scale per token: each token row gets its own scale from its maximum (and minimum, or the
     * calibrated lower end of a one-sided input) at run time, a per-row {@code QuantizeLinear} quantizes it, and
     * {@code MatMulIntegerToFloat} (com.microsoft) multiplies and applies the per-token and per-channel scales; SmoothQuant
     * ({@link Config#smoothAlpha()}) moves per-channel outliers into the weights first. {@code MATMUL_INTEGER}: one run-time
     * scale per activation tensor (the shipped {@code -q} structure, {@code DynamicQuantizeLinear → MatMulInteger}, which
     * ONNX Runtime fuses into {@code DynamicQuantizeMatMul}). {@code MATMUL_INTEGER_MIXED} (default): one scale per tensor except on
     * the {@link Config#protect()} activation inputs whose per-token scales matter most by measurement (leave-one-out in
     * ONNX Runtime on the calibration sentences), SmoothQuant as for the per-token kernel. {@code MATMUL_NBITS}: 8-bit
     * weights in blocks of 128 ({@code MatMulNBits}, {@code accuracy_level 4}: activations quantized per row and block of
     * 128 at run time; slower here).
     */
    public enum Int8Kernel { MATMUL_INTEGER, MATMUL_INTEGER_TOKEN, MATMUL_INTEGER_MIXED, MATMUL_NBITS }

    /** Block along the input dimension of 8-bit MatMulNBits weights. */
    static final int INT8_BLOCK = 128;

    /** Storage of the word-embedding table. */
    public enum Embedding { FP32, INT8, INT4 }

    /**
     * @param skip nodes whose name matches (find) stay float; null skips none
     * @param calibSentences at most this many calibration sentences are forwarded
     * @param batch sentences per calibration forward
     * @param threads ONNX Runtime intra-op threads (0: its default)
     * @param smoothAlpha SmoothQuant migration strength of int8-static and of int8-dynamic's per-token kernels (0: none); ignored otherwise
     * @param protect how many of the most sensitive units (measured leave-one-out in ONNX Runtime on the calibration sentences) keep the costlier, more
     *                accurate form: int8-dynamic's {@code integer-mixed} kernel gives that many activation inputs per-token
     *                scales; int4 keeps that many MatMuls in 8-bit blocks. 0: none
     */
    public record Config(Method method, Int4Algo int4Algo, int blockSize, Int8Kernel int8Kernel, Embedding embedding, Pattern skip, int calibSentences, int batch, int threads,
                         double smoothAlpha, int protect) {
        public Config {
            if (!(smoothAlpha >= 0 && smoothAlpha <= 1)) throw new IllegalArgumentException("SmoothQuant alpha " + smoothAlpha + " is not in [0, 1]");
            if (blockSize < 16 || blockSize > 256 || Integer.bitCount(blockSize) != 1) throw new IllegalArgumentException("block size " + blockSize + " is not 16, 32, 64, 128 or 256");
            if (calibSentences < 1 || batch < 1) throw new IllegalArgumentException("calibSentences and batch must be ≥ 1");
            if (protect < 0) throw new IllegalArgumentException("protected count " + protect + " is negative");
        }

        /**
         * int8 methods store the embedding int8 (dynamic: the {@code integer-mixed} kernel with the 5 most sensitive inputs
         * per token, SmoothQuant α 0.5); int4 stores it 4-bit in the same blocks, GPTQ, block 32, the 6 most sensitive
         * MatMuls in 8 bits (measured on all-MiniLM-L6-v2: docs/onnx-ptq.md).
         */
        public static Config defaults(Method m) {
            return new Config(m, Int4Algo.GPTQ, 32, Int8Kernel.MATMUL_INTEGER_MIXED, m == Method.INT4 ? Embedding.INT4 : Embedding.INT8, null, 256, 16, 0, m == Method.INT4 ? 0 : 0.5,
                    m == Method.INT4 ? 6 : 5);
        }
    }

    /** What was done. */
    public record Report(String method, String int4Algo, int blockSize, String embedding, int quantizedNodes, List<String> skippedNodes,
                         long inputBytes, long outputBytes, int calibrationSentences, long calibrationTokens, double calibrationSeconds,
                         List<String> protectedUnits, double seconds) {}

    /** A MatMul/Gemm with a constant weight: y = x · W (W is [k, n] as used, whatever the storage). */
    record Target(OnnxNode node, String input, String weight, int k, int n, boolean transposed, String bias, float alpha, float beta) {}

    /** Quantizes {@code input} into {@code output} (written atomically after ONNX Runtime has loaded it), silently. */
    public static Report quantize(Path input, WordPieceTokenizer tokenizer, List<String> calibration, Config cfg, Path output) throws IOException, OrtException {
        return quantize(input, tokenizer, calibration, cfg, output, null);
    }

    /** As above, reporting calibration batches and quantized nodes to {@code progress} (null: silent). */
    public static Report quantize(Path input, WordPieceTokenizer tokenizer, List<String> calibration, Config cfg, Path output, ProgressListener progress) throws IOException, OrtException {
        long t0 = System.nanoTime();
        Prepared p = prepare(input, tokenizer, calibration, cfg, progress);
        Set<String> kept = cfg.method() == Method.INT4 ? p.mostSensitive(cfg.protect(), progress) : switch (cfg.method() == Method.INT8_DYNAMIC ? cfg.int8Kernel() : Int8Kernel.MATMUL_INTEGER) {
            case MATMUL_INTEGER_TOKEN -> p.candidates();
            case MATMUL_INTEGER_MIXED -> p.mostSensitive(cfg.protect(), progress);
            default -> Set.of();
        };
        Built b = p.build(kept, progress);
        try (OrtEncoder check = OrtEncoder.open(b.bytes(), cfg.threads())) {
            // loads: the runtime accepts the rewritten graph before anything is written
        }
        AtomicFiles.write(output, b.bytes());
        return new Report(cfg.method().label(), cfg.method() == Method.INT4 ? cfg.int4Algo().name().toLowerCase(Locale.ROOT) : null,
                cfg.method() == Method.INT4 ? cfg.blockSize() : 0, b.embedding(), p.targets().size(), p.skipped(),
                Files.size(input), b.bytes().length, p.sentences().size(), p.tokens(), p.calibSeconds(), List.copyOf(kept), (System.nanoTime() - t0) / 1e9);
    }

    /** A rewritten graph, serialized. */
    record Built(byte[] bytes, String embedding) {}

    /**
     * A model read, its targets found and its calibration statistics taken: everything a rewrite needs, so that
     * several rewrites (the sensitivity measurement of the mixed kernel) share one calibration.
     */
    record Prepared(OnnxModel model, Map<String, OnnxTensor> inits, List<Target> targets, List<String> skipped, Map<String, ActivationStats> stats,
                    Config cfg, WordPieceTokenizer tokenizer, List<String> sentences, long tokens, double calibSeconds, Map<String, BlockQuant.Blocks> blocks) {
        /**
         * What {@link #build} can protect: for int4 the quantized nodes (by name) whose K is a whole number of
         * {@link #INT8_BLOCK}s (8-bit MatMulNBits is wrong otherwise, see {@link Rewrite#replace}); otherwise the
         * distinct activation tensors feeding quantized MatMuls, in graph order.
         */
        Set<String> candidates() {
            Set<String> in = new LinkedHashSet<>();
            for (Target t : targets) {
                if (cfg.method() != Method.INT4) in.add(t.input());
                else if (t.k() % INT8_BLOCK == 0) in.add(t.node().name());
            }
            return in;
        }

        /**
         * The graph rewritten with {@code kept} protected: for int8-dynamic's integer kernels, those activation inputs
         * get per-token scales; for int4, those nodes get 8-bit weights.
         */
        Built build(Set<String> kept, ProgressListener progress) {
            boolean smoothing = cfg.smoothAlpha() > 0 && (cfg.method() == Method.INT8_STATIC || cfg.method() == Method.INT8_DYNAMIC && cfg.int8Kernel() != Int8Kernel.MATMUL_NBITS
                    && cfg.int8Kernel() != Int8Kernel.MATMUL_INTEGER);
            Rewrite rw = new Rewrite(model.graph(), inits, cfg, model.opset(""), kept, blocks);
            if (smoothing) rw.smooth(targets, stats);
            ProgressTask task = ProgressTask.start(progress, "ptq " + cfg.method().label(), targets.size(), "node");
            for (Target t : targets) {
                rw.replace(t, stats.get(t.input()));
                task.advance(1, 1, t.node().name());
            }
            task.finish("");
            String embeddingNote = rw.embedding();
            return new Built(OnnxModelWriter.toBytes(rw.build(model)), embeddingNote);
        }

        /**
         * The {@code budget} {@link #candidates} whose protection matters most, by measurement: starting from the
         * graph with every candidate protected, each in turn is left unprotected (one activation scale per tensor, or
         * 4-bit weights), and the mean {@code 1 − cos} between that graph's and the float graph's sentence
         * embeddings on (up to 64 of) the calibration sentences, in ONNX Runtime, is its sensitivity.
         */
        Set<String> mostSensitive(int budget, ProgressListener progress) throws OrtException {
            Set<String> all = candidates();
            if (budget >= all.size()) return all;
            if (budget <= 0) return Set.of();
            List<WordPieceTokenizer.Batch> batches = new ArrayList<>();
            List<String> probe = sentences.subList(0, Math.min(SENSITIVITY_SENTENCES, sentences.size()));
            for (int s = 0; s < probe.size(); s += cfg.batch()) batches.add(tokenizer.encodeBatch(probe.subList(s, Math.min(probe.size(), s + cfg.batch()))));
            float[][] ref;
            try (OrtEncoder enc = OrtEncoder.open(OnnxModelWriter.toBytes(model), cfg.threads())) {
                ref = EmbeddingEval.embed(enc, batches);
            }
            Map<String, Double> loss = new LinkedHashMap<>();
            ProgressTask task = ProgressTask.start(progress, "sensitivity", all.size(), cfg.method() == Method.INT4 ? "node" : "input");
            for (String x : all) {
                Set<String> others = new LinkedHashSet<>(all);
                others.remove(x);
                try (OrtEncoder enc = OrtEncoder.open(build(others, null).bytes(), cfg.threads())) {
                    float[][] e = EmbeddingEval.embed(enc, batches);
                    double sum = 0;
                    for (int i = 0; i < e.length; i++) sum += 1 - EmbeddingEval.dot(e[i], ref[i]);
                    loss.put(x, sum / e.length);
                }
                task.advance(1, 1, x);
            }
            task.finish("");
            List<String> ranked = new ArrayList<>(all);
            ranked.sort((a, b) -> Double.compare(loss.get(b), loss.get(a)));
            Set<String> keep = new LinkedHashSet<>();
            for (String x : all) if (ranked.indexOf(x) < budget) keep.add(x);
            return keep;
        }
    }

    /** Calibration sentences forwarded per candidate graph when measuring per-token sensitivity. */
    static final int SENSITIVITY_SENTENCES = 64;

    /** Reads the model, finds the targets and takes the calibration statistics the method needs. */
    static Prepared prepare(Path input, WordPieceTokenizer tokenizer, List<String> calibration, Config cfg, ProgressListener progress) throws IOException, OrtException {
        if (calibration.isEmpty()) throw new IllegalArgumentException("the calibration text has no sentences");
        OnnxModel model = read(input);
        OnnxGraph g = model.graph();
        Map<String, OnnxTensor> inits = new LinkedHashMap<>();
        for (OnnxTensor t : g.initializers()) inits.put(t.name(), t);
        List<Target> all = targets(g, inits);
        if (all.isEmpty()) throw new IllegalArgumentException(input + ": the graph has no MatMul or Gemm with a constant 2-D float weight; nothing to quantize");
        List<Target> targets = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        for (Target t : all) {
            if (cfg.skip() != null && cfg.skip().matcher(t.node().name()).find()) skipped.add(t.node().name());
            else targets.add(t);
        }
        if (targets.isEmpty()) throw new IllegalArgumentException("the skip pattern '" + cfg.skip() + "' matches all " + all.size() + " MatMul/Gemm nodes; nothing to quantize");

        // Calibration: forward the sentences in ONNX Runtime with each quantized node's input as an extra output.
        boolean needHessian = cfg.method() == Method.INT4 && cfg.int4Algo() == Int4Algo.GPTQ;
        boolean needRange = cfg.method() == Method.INT8_STATIC || cfg.smoothAlpha() > 0 && cfg.method() == Method.INT8_DYNAMIC
                && (cfg.int8Kernel() == Int8Kernel.MATMUL_INTEGER_TOKEN || cfg.int8Kernel() == Int8Kernel.MATMUL_INTEGER_MIXED);
        Map<String, ActivationStats> stats = new LinkedHashMap<>();
        for (Target t : targets) stats.computeIfAbsent(t.input(), n -> new ActivationStats(n, t.k(), needHessian));
        long t1 = System.nanoTime();
        List<String> sentences = calibration.subList(0, Math.min(cfg.calibSentences(), calibration.size()));
        long tokens = 0;
        if (needHessian || needRange) tokens = calibrate(model, tokenizer, sentences, stats, cfg, progress);
        return new Prepared(model, inits, targets, skipped, stats, cfg, tokenizer, sentences, tokens, (System.nanoTime() - t1) / 1e9, new HashMap<>());
    }

    /** Reads an ONNX model, with an error that says the file is not one. */
    static OnnxModel read(Path input) throws IOException {
        if (!Files.isRegularFile(input)) throw new IOException(input + ": no such file");
        try {
            OnnxModel m = OnnxModelReader.read(input);
            if (m.graph() == null || m.graph().nodes().isEmpty()) throw new OnnxFormatException(input + ": not an ONNX model (no graph nodes)");
            return m;
        } catch (OnnxFormatException | IllegalArgumentException | IndexOutOfBoundsException e) {
            throw new OnnxFormatException(input + ": not a readable ONNX model: " + e.getMessage());
        }
    }

    static List<Target> targets(OnnxGraph g, Map<String, OnnxTensor> inits) {
        List<Target> out = new ArrayList<>();
        for (OnnxNode n : g.nodes()) {
            if (!n.domain().isEmpty() || n.inputs().size() < 2) continue;
            OnnxTensor w = inits.get(n.inputs().get(1));
            if (w == null || w.dataType() != OnnxDataType.FLOAT || w.dims().length != 2) continue;
            long[] d = w.dims();
            if (n.opType().equals("MatMul")) {
                out.add(new Target(n, n.inputs().get(0), w.name(), (int) d[0], (int) d[1], false, null, 1, 1));
            } else if (n.opType().equals("Gemm") && n.intAttr("transA", 0) == 0) {
                boolean tb = n.intAttr("transB", 0) != 0;
                String bias = n.inputs().size() > 2 && !n.inputs().get(2).isEmpty() ? n.inputs().get(2) : null;
                out.add(new Target(n, n.inputs().get(0), w.name(), (int) (tb ? d[1] : d[0]), (int) (tb ? d[0] : d[1]), tb, bias,
                        n.floatAttr("alpha", 1f), n.floatAttr("beta", 1f)));
            }
        }
        return out;
    }

    /** Observed statistics of one quantized node input: min/max and (for GPTQ) {@code Σ xxᵀ} over valid tokens. */
    static final class ActivationStats {
        final String name;
        final int k;
        float min = Float.POSITIVE_INFINITY, max = Float.NEGATIVE_INFINITY;
        final float[] channelAbsMax, channelMin, channelMax;
        final float[] hessian;
        long rows;

        ActivationStats(String name, int k, boolean hessian) {
            this.name = name;
            this.k = k;
            this.hessian = hessian ? new float[k * k] : null;
            this.channelAbsMax = new float[k];
            this.channelMin = new float[k];
            this.channelMax = new float[k];
        }

        /** Calibration rows kept (a deterministic reservoir sample) to choose a per-token zero point from. */
        static final int SAMPLE_ROWS = 1024;
        private final float[][] sample = new float[SAMPLE_ROWS][];
        private final java.util.SplittableRandom sampler = new java.util.SplittableRandom(15);

        void add(float[] x, int rowCount) {
            for (int r = 0; r < rowCount; r++) {
                long seen = rows + r;
                int slot = seen < SAMPLE_ROWS ? (int) seen : (int) sampler.nextLong(seen + 1);
                if (slot < SAMPLE_ROWS) sample[slot] = java.util.Arrays.copyOfRange(x, r * k, (r + 1) * k);
            }
            for (int i = 0; i < rowCount * k; i++) {
                min = Math.min(min, x[i]);
                max = Math.max(max, x[i]);
                int j = i % k;
                channelAbsMax[j] = Math.max(channelAbsMax[j], Math.abs(x[i]));
                channelMin[j] = Math.min(channelMin[j], x[i]);
                channelMax[j] = Math.max(channelMax[j], x[i]);
            }
            if (hessian != null) org.goldenstick.tensor.kernel.Sgemm.gemm(true, false, k, k, rowCount, x, 0, k, x, 0, k, hessian, 0, k, true);
            rows += rowCount;
        }

        /**
         * Whether the calibration saw this input (divided per channel by {@code s}, if not null) nearly one-sided: its
         * most negative value is at most {@code ratio} times its largest positive one.
         */
        boolean oneSided(float[] s, float ratio) {
            if (rows == 0) return false;
            float lo = 0, hi = 0;
            for (int j = 0; j < k; j++) {
                float d = s == null ? 1 : s[j];
                lo = Math.min(lo, channelMin[j] / d);
                hi = Math.max(hi, channelMax[j] / d);
            }
            return hi > 0 && lo >= -ratio * hi;
        }

        /** The smallest value the calibration saw of this input divided per channel by {@code s} (null: 1), at most 0. */
        float lowerBound(float[] s) {
            float lo = 0;
            for (int j = 0; j < k; j++) lo = Math.min(lo, channelMin[j] / (s == null ? 1 : s[j]));
            return lo;
        }

        /**
         * The zero point z (0..254) of a one-sided input with lower bound {@code lo} whose rows are quantized with
         * {@code s_t = max(hi_t / (255 − z), −lo / z)}: the z with the least mean square step over the sampled
         * calibration rows (divided per channel by {@code s}).
         */
        int bestZeroPoint(float[] s, float lo) {
            if (lo >= 0) return 0;
            List<Float> his = new ArrayList<>();
            for (float[] row : sample) {
                if (row == null) continue;
                float hi = 0;
                for (int j = 0; j < k; j++) hi = Math.max(hi, row[j] / (s == null ? 1 : s[j]));
                his.add(hi);
            }
            int best = 1;
            double bestCost = Double.POSITIVE_INFINITY;
            for (int z = 1; z < 255; z++) {
                double cost = 0;
                for (float hi : his) {
                    double step = Math.max(hi / (255.0 - z), -lo / (double) z);
                    cost += step * step;
                }
                if (cost < bestCost) {
                    bestCost = cost;
                    best = z;
                }
            }
            return best;
        }

        double[] hessianDouble() {
            double[] h = new double[k * k];
            for (int i = 0; i < h.length; i++) h[i] = hessian[i];
            return h;
        }
    }

    private static long calibrate(OnnxModel model, WordPieceTokenizer tok, List<String> sentences, Map<String, ActivationStats> stats, Config cfg,
                                  ProgressListener progress) throws OrtException {
        OnnxGraph g = model.graph();
        Set<String> existing = new HashSet<>();
        for (OnnxValueInfo v : g.outputs()) existing.add(v.name());
        List<OnnxValueInfo> outs = new ArrayList<>(g.outputs());
        for (String name : stats.keySet()) if (!existing.contains(name)) outs.add(new OnnxValueInfo(name, OnnxDataType.FLOAT, null));
        OnnxModel probe = new OnnxModel(model.irVersion(), model.producerName(), model.opsetImports(), new OnnxGraph(g.name(), g.nodes(), g.initializers(), g.inputs(), outs));
        long tokens = 0;
        int batches = (sentences.size() + cfg.batch() - 1) / cfg.batch();
        ProgressTask task = ProgressTask.start(progress, "calibrate", sentences.size(), "sentence");
        try (OrtEncoder enc = OrtEncoder.open(OnnxModelWriter.toBytes(probe), cfg.threads())) {
            for (int s = 0; s < sentences.size(); s += cfg.batch()) {
                WordPieceTokenizer.Batch b = tok.encodeBatch(sentences.subList(s, Math.min(sentences.size(), s + cfg.batch())));
                Map<String, OrtEncoder.Output> got = enc.run(b, List.copyOf(stats.keySet()));
                int valid = 0;
                for (long m : b.attentionMask()) valid += (int) m;
                tokens += valid;
                for (ActivationStats st : stats.values()) {
                    OrtEncoder.Output o = got.get(st.name);
                    long per = o.data().length / st.k;
                    if (o.data().length % st.k != 0 || per != (long) b.rows() * b.length()) {
                        throw new IllegalStateException("calibration tensor '" + st.name + "' has shape " + java.util.Arrays.toString(o.shape()) + ", expected [" + b.rows() + ", " + b.length() + ", " + st.k + "]");
                    }
                    float[] packed = new float[valid * st.k];   // only real tokens: padding rows would bias the statistics
                    int row = 0;
                    for (int i = 0; i < per; i++) {
                        if (b.attentionMask()[i] == 0) continue;
                        System.arraycopy(o.data(), i * st.k, packed, row++ * st.k, st.k);
                    }
                    st.add(packed, valid);
                }
                task.advance(b.rows(), b.rows(), "batch " + (s / cfg.batch() + 1) + " of " + batches);
            }
        }
        task.finish("");
        return tokens;
    }

    /** The graph being rewritten: new nodes replace targets in place; new initializers are collected. */
    private static final class Rewrite {
        final OnnxGraph g;
        final Map<String, OnnxTensor> inits;
        final Config cfg;
        final Map<OnnxNode, List<OnnxNode>> replacement = new HashMap<>();
        final Map<String, OnnxTensor> added = new LinkedHashMap<>();
        final Map<String, String[]> sharedActivationQuant = new HashMap<>();
        final Set<String> replacedWeights = new LinkedHashSet<>();
        boolean microsoftDomain;

        /** The default-domain opset of the output (at least 11). */
        final long opset;

        /** Protected units ({@link Prepared#build}): per-token activation inputs (int8-dynamic) or 8-bit nodes (int4). */
        final Set<String> kept;
        /** Block-quantized weights by weight name and bits, shared by the rewrites of one {@link Prepared} (GPTQ is slow). */
        final Map<String, BlockQuant.Blocks> blockCache;

        Rewrite(OnnxGraph g, Map<String, OnnxTensor> inits, Config cfg, long opset, Set<String> kept, Map<String, BlockQuant.Blocks> blockCache) {
            this.opset = Math.max(11, opset);
            this.kept = kept;
            this.blockCache = blockCache;
            this.g = g;
            this.inits = inits;
            this.cfg = cfg;
        }

        private String fresh(String base) {
            String name = base;
            for (int i = 1; inits.containsKey(name) || added.containsKey(name); i++) name = base + "_" + i;
            return name;
        }

        private String add(OnnxTensor t) {
            added.put(t.name(), t);
            return t.name();
        }

        final Map<String, float[]> smoothing = new HashMap<>();
        final Set<String> folded = new HashSet<>();
        int foldedCount;

        /**
         * SmoothQuant: per input channel j, {@code s_j = max|x_j|^α / max|W_j|^(1-α)} (the weight maximum over every
         * quantized consumer of x); weights are multiplied by s, activations divided by it. The division is folded
         * into a LayerNorm's affine {@code Add(Mul(·, γ), β)} when that output feeds only quantized MatMuls, and is an
         * explicit per-channel Mul otherwise (in post-LN BERT the LayerNorm output also feeds the residual Add).
         */
        void smooth(List<Target> targets, Map<String, ActivationStats> stats) {
            Map<String, List<Target>> byInput = new LinkedHashMap<>();
            for (Target t : targets) byInput.computeIfAbsent(t.input(), x -> new ArrayList<>()).add(t);
            Map<String, Integer> consumers = new HashMap<>();
            Map<String, OnnxNode> producer = new HashMap<>();
            for (OnnxNode n : g.nodes()) {
                for (String in : n.inputs()) consumers.merge(in, 1, Integer::sum);
                for (String o : n.outputs()) producer.put(o, n);
            }
            for (OnnxValueInfo v : g.outputs()) consumers.merge(v.name(), 1, Integer::sum);
            for (var e : byInput.entrySet()) {
                ActivationStats st = stats.get(e.getKey());
                if (st == null || st.rows == 0) continue;
                int k = st.k;
                float[] wmax = new float[k];
                for (Target t : e.getValue()) {
                    float[] w = weightRows(t);
                    for (int r = 0; r < t.n(); r++) for (int j = 0; j < k; j++) wmax[j] = Math.max(wmax[j], Math.abs(w[r * k + j]));
                }
                float[] s = new float[k];
                double a = cfg.smoothAlpha();
                for (int j = 0; j < k; j++) {
                    double v = Math.pow(Math.max(st.channelAbsMax[j], 1e-5), a) / Math.pow(Math.max(wmax[j], 1e-5), 1 - a);
                    s[j] = (float) Math.min(1e4, Math.max(1e-4, v));
                }
                // A one-sided input with per-token scales (a GELU output) is not smoothed: the per-token scales take its
                // outlier tokens, and the smoothing Mul would be one more pass over the widest activation (measured on
                // all-MiniLM-L6-v2: mean cosine 0.99802 without, 0.99777 with; docs/onnx-ptq.md)
                if (cfg.method() == Method.INT8_DYNAMIC && kept.contains(e.getKey()) && st.oneSided(null, ONE_SIDED)) continue;
                smoothing.put(e.getKey(), s);
                if (consumers.getOrDefault(e.getKey(), 0) == e.getValue().size() && foldIntoLayerNorm(producer.get(e.getKey()), s, producer)) {
                    folded.add(e.getKey());
                    foldedCount++;
                }
            }
        }

        /** Divides γ and β of {@code Add(Mul(·, γ), β)} by s if both are k-vectors used nowhere else. */
        private boolean foldIntoLayerNorm(OnnxNode add, float[] s, Map<String, OnnxNode> producer) {
            if (add == null || !add.opType().equals("Add") || add.inputs().size() != 2) return false;
            int bi = inits.containsKey(add.inputs().get(1)) ? 1 : inits.containsKey(add.inputs().get(0)) ? 0 : -1;
            if (bi < 0) return false;
            OnnxNode mul = producer.get(add.inputs().get(1 - bi));
            if (mul == null || !mul.opType().equals("Mul") || mul.inputs().size() != 2) return false;
            int gi = inits.containsKey(mul.inputs().get(1)) ? 1 : inits.containsKey(mul.inputs().get(0)) ? 0 : -1;
            if (gi < 0) return false;
            OnnxTensor beta = inits.get(add.inputs().get(bi)), gamma = inits.get(mul.inputs().get(gi));
            if (beta.dataType() != OnnxDataType.FLOAT || gamma.dataType() != OnnxDataType.FLOAT || beta.numel() != s.length || gamma.numel() != s.length) return false;
            for (OnnxNode n : g.nodes()) {
                if (n != add && n.inputs().contains(beta.name())) return false;
                if (n != mul && n.inputs().contains(gamma.name())) return false;
            }
            float[] gv = gamma.floats(), bv = beta.floats();
            for (int j = 0; j < s.length; j++) {
                gv[j] /= s[j];
                bv[j] /= s[j];
            }
            changed.put(gamma.name(), OnnxTensor.ofFloats(gamma.name(), gv, gamma.dims()));
            changed.put(beta.name(), OnnxTensor.ofFloats(beta.name(), bv, beta.dims()));
            return true;
        }

        final Map<String, OnnxTensor> changed = new HashMap<>();

        /** The weight as [n][k] (output channel rows). */
        float[] weightRows(Target t) {
            float[] w = inits.get(t.weight()).floats();
            if (t.transposed()) return w;
            int k = t.k(), n = t.n();
            float[] r = new float[n * k];
            for (int i = 0; i < k; i++) for (int j = 0; j < n; j++) r[j * k + i] = w[i * n + j];
            return r;
        }

        void replace(Target t, ActivationStats st) {
            OnnxNode node = t.node();
            String y = node.outputs().getFirst();
            boolean epilogue = t.bias() != null || t.alpha() != 1f;
            String mm = epilogue ? y + "_q_mm" : y;
            String base = node.name().isEmpty() ? y : node.name();
            List<OnnxNode> nodes = new ArrayList<>();
            float[] w = weightRows(t);
            int k = t.k(), n = t.n();
            float[] s = smoothing.get(t.input());
            if (s != null) for (int r = 0; r < n; r++) for (int j = 0; j < k; j++) w[r * k + j] *= s[j];
            // ONNX Runtime 1.29's 8-bit MatMulNBits gives wrong results unless K is a whole number of 128-blocks
            // (measured: K = 16 and K = 320 fail, K = 128, 384, 1536 match); other shapes take the MatMulInteger kernel.
            boolean nbits8 = cfg.method() == Method.INT8_DYNAMIC && cfg.int8Kernel() == Int8Kernel.MATMUL_NBITS && t.k() % INT8_BLOCK == 0;
            if (cfg.method() == Method.INT4 || nbits8) {
                // rows shorter than a block get the largest power-of-two block that fits, rather than one mostly padding
                // a protected int4 node keeps 8-bit weights (round to nearest in blocks of 128: nearly lossless), computed in float
                boolean eight = nbits8 || kept.contains(node.name()) && k % INT8_BLOCK == 0;
                int bits = eight ? 8 : 4, block = eight ? INT8_BLOCK : Math.min(cfg.blockSize(), Math.max(16, Integer.highestOneBit(k)));
                BlockQuant.Blocks q = s != null ? quantizeBlocks(w, t, st, bits, block)
                        : blockCache.computeIfAbsent(t.weight() + "/" + bits + "/" + block, key -> quantizeBlocks(w, t, st, bits, block));
                Packed p = Packed.of(q);
                String bq = add(new OnnxTensor(fresh(t.weight() + "_q" + bits), OnnxDataType.UINT8, new long[] {n, q.blocksPerRow(), (long) block * bits / 8}, p.data()));
                String sc = add(OnnxTensor.ofFloats(fresh(t.weight() + "_scales"), q.scales(), (long) n * q.blocksPerRow()));
                String zp = add(new OnnxTensor(fresh(t.weight() + "_zp"), OnnxDataType.UINT8, new long[] {p.zeros().length}, p.zeros()));
                microsoftDomain = true;
                List<OnnxAttribute> attrs = new ArrayList<>(List.of(OnnxAttribute.ofInt("K", k), OnnxAttribute.ofInt("N", n), OnnxAttribute.ofInt("bits", bits),
                        OnnxAttribute.ofInt("block_size", block)));
                // accuracy_level 4: the runtime quantizes activations to int8 per row and block and multiplies in int8
                if (nbits8) attrs.add(OnnxAttribute.ofInt("accuracy_level", 4));
                nodes.add(OnnxNode.of(base + "/MatMulNBits", "MatMulNBits", "com.microsoft", List.of(t.input(), bq, sc, zp), List.of(mm), attrs));
            } else {
                BlockQuant.Int8 q = BlockQuant.int8PerRow(w, n, k);
                byte[] kn = new byte[k * n];   // back to MatMul's [k, n]
                for (int j = 0; j < n; j++) for (int i = 0; i < k; i++) kn[i * n + j] = q.values()[j * k + i];
                String wq = add(OnnxTensor.ofInt8(fresh(t.weight() + "_int8"), kn, k, n));
                String[] aq = activationQuant(t.input(), st, nodes);
                if (aq.length > 5) {
                    // per-token input: ONNX Runtime's MatMulIntegerToFloat applies the per-token scale [.., 1] to its output and
                    // the per-column weight scale inside the GEMM
                    String ws = add(OnnxTensor.ofFloats(fresh(t.weight() + "_scale"), q.scales(), n));
                    microsoftDomain = true;
                    nodes.add(OnnxNode.of(base + "/MatMulIntegerToFloat", "MatMulIntegerToFloat", "com.microsoft", List.of(aq[0], wq, aq[1], ws, aq[2]), List.of(mm), List.of()));
                } else {
                    String acc = y + "_q_acc", accf = y + "_q_accf";
                    nodes.add(OnnxNode.of(base + "/MatMulInteger", "MatMulInteger", "", List.of(aq[0], wq, aq[2]), List.of(acc), List.of()));
                    nodes.add(OnnxNode.of(base + "/Cast", "Cast", "", List.of(acc), List.of(accf), List.of(OnnxAttribute.ofInt("to", OnnxDataType.FLOAT.code()))));
                    String scale;
                    if (cfg.method() == Method.INT8_STATIC) {
                        float sx = aq[3] == null ? 1 : Float.parseFloat(aq[3]);
                        float[] prod = q.scales().clone();
                        for (int j = 0; j < n; j++) prod[j] *= sx;
                        scale = add(OnnxTensor.ofFloats(fresh(t.weight() + "_scale"), prod, n));
                    } else {
                        String ws = add(OnnxTensor.ofFloats(fresh(t.weight() + "_scale"), q.scales(), n));
                        scale = y + "_q_scale";
                        nodes.add(OnnxNode.of(base + "/ScaleMul", "Mul", "", List.of(aq[1], ws), List.of(scale), List.of()));
                    }
                    nodes.add(OnnxNode.of(base + "/Dequant", "Mul", "", List.of(accf, scale), List.of(mm), List.of()));
                }
            }
            if (epilogue) epilogue(t, y, mm, base, nodes);
            replacement.put(node, nodes);
            replacedWeights.add(t.weight());
        }

        /** Gemm's alpha, beta and bias on the product {@code mm}, into the node's output. */
        private void epilogue(Target t, String y, String mm, String base, List<OnnxNode> nodes) {
            String scaled = mm;
            if (t.alpha() != 1f) {
                String a = add(OnnxTensor.ofFloats(fresh(base + "_alpha"), new float[] {t.alpha()}));
                scaled = y + "_q_alpha";
                nodes.add(OnnxNode.of(base + "/Alpha", "Mul", "", List.of(mm, a), List.of(scaled), List.of()));
            }
            if (t.bias() != null) {
                String bias = t.bias();
                if (t.beta() != 1f) {
                    String bt = add(OnnxTensor.ofFloats(fresh(base + "_beta"), new float[] {t.beta()}));
                    bias = y + "_q_beta";
                    nodes.add(OnnxNode.of(base + "/Beta", "Mul", "", List.of(t.bias(), bt), List.of(bias), List.of()));
                }
                nodes.add(OnnxNode.of(base + "/Bias", "Add", "", List.of(scaled, bias), List.of(y), List.of()));
            } else {
                nodes.add(OnnxNode.of(base + "/Identity", "Identity", "", List.of(scaled), List.of(y), List.of()));
            }
        }

        private BlockQuant.Blocks quantizeBlocks(float[] w, Target t, ActivationStats st, int bits, int block) {
            return bits == 4 && cfg.int4Algo() == Int4Algo.GPTQ && st != null && st.hessian != null && st.rows > 0
                    ? BlockQuant.gptq(w, t.n(), t.k(), block, bits, st.hessianDouble(), 0.01)
                    : BlockQuant.rtn(w, t.n(), t.k(), block, bits);
        }

        /**
         * {xq, xScale, xZeroPoint, staticScale[, null, "token"]}: one activation quantizer per input tensor, shared by its
         * consumers; six entries for a per-token input ({@link #tokenQuant}: xScale is then the per-token scale).
         */
        private String[] activationQuant(String x, ActivationStats st, List<OnnxNode> nodes) {
            String[] done = sharedActivationQuant.get(x);
            if (done != null) return done;
            String[] r;
            String safe = x.replaceAll("[^A-Za-z0-9_./]", "_");
            String key = x;
            float[] s = smoothing.get(x);
            if (s != null && !folded.contains(x)) {
                // SmoothQuant's x / s where it cannot be folded into the producer: one per-channel Mul
                float[] inv = new float[s.length];
                for (int j = 0; j < s.length; j++) inv[j] = 1 / s[j];
                String is = add(OnnxTensor.ofFloats(fresh(safe + "_smooth_inv"), inv, s.length));
                nodes.add(OnnxNode.of(safe + "/SmoothMul", "Mul", "", List.of(x, is), List.of(x + "_smoothed"), List.of()));
                x = x + "_smoothed";
            }
            if (cfg.method() == Method.INT8_DYNAMIC && kept.contains(key)) {
                r = tokenQuant(x, safe, st, s, nodes);
            } else if (cfg.method() == Method.INT8_DYNAMIC) {
                r = new String[] {x + "_q_u8", x + "_q_scale", x + "_q_zp", null};
                nodes.add(OnnxNode.of(safe + "/DynamicQuantizeLinear", "DynamicQuantizeLinear", "", List.of(x), List.of(r[0], r[1], r[2]), List.of()));
            } else {
                if (st == null || st.rows == 0) throw new IllegalStateException("no calibration statistics for '" + x + "'");
                float min = Math.min(0, st.min), max = Math.max(0, st.max);
                if (s != null) {
                    // the range of x / s: bounded per channel by absmax_j / s_j (the calibration saw no larger value)
                    float m = 0;
                    for (int j = 0; j < s.length; j++) m = Math.max(m, st.channelAbsMax[j] / s[j]);
                    min = -m;
                    max = m;
                }
                float scale = max > min ? (max - min) / 255f : 1f;
                int zp = Math.max(0, Math.min(255, Math.round(-min / scale)));
                String sc = add(OnnxTensor.ofFloats(fresh(safe + "_act_scale"), new float[] {scale}));
                String z = add(OnnxTensor.ofUint8(fresh(safe + "_act_zp"), new byte[] {(byte) zp}));
                r = new String[] {x + "_q_u8", sc, z, Float.toString(scale)};
                nodes.add(OnnxNode.of(safe + "/QuantizeLinear", "QuantizeLinear", "", List.of(x, sc, z), List.of(r[0]), List.of()));
            }
            sharedActivationQuant.put(key, r);
            return r;
        }

        /** An input with calibration minimum ≥ −this × its maximum takes its per-token scale from the row maximum (no Abs). */
        /**
         * Per-token activation quantization: each token row x_t gets its own scale {@code s_t = max(hi_t / (255 − z), −lo_t / z)}
         * with one zero point z for the tensor, so that ONNX Runtime's u8×s8 GEMM ({@code MatMulIntegerToFloat}, which takes one
         * zero point) runs on it and applies s_t to its output. hi_t is the row maximum at run time. A one-sided input (a GELU
         * output: ≥ −0.17) takes lo from calibration and the z that minimises the mean square step over the calibration rows
         * (no second reduction); any other takes lo_t from the row minimum and z = 128. The rows are quantized by a per-axis
         * {@code QuantizeLinear} over the [tokens, k] view (com.microsoft's before opset 13): two passes over the input (max,
         * quantize), as many as the per-tensor {@code DynamicQuantizeLinear}'s (min/max, quantize).
         * Returns {xq, tokenScale, zeroPoint, null, null, "token"}.
         */
        private String[] tokenQuant(String x, String safe, ActivationStats st, float[] smooth, List<OnnxNode> nodes) {
            if (st == null || st.rows == 0) throw new IllegalStateException("no calibration statistics for '" + x + "'");
            boolean oneSided = st.oneSided(smooth, ONE_SIDED);
            reduce("ReduceMax", x, x + "_tok_hi", safe, nodes);
            int z;
            if (oneSided) {
                float lo = st.lowerBound(smooth);
                z = st.bestZeroPoint(smooth, lo);
                String a = add(OnnxTensor.ofFloats(fresh(safe + "_tok_a"), new float[] {1f / (255 - z)}));
                String floor = add(OnnxTensor.ofFloats(fresh(safe + "_tok_floor"), new float[] {Math.max(1e-12f, z == 0 ? 0 : -lo / z)}));
                nodes.add(OnnxNode.of(safe + "/TokHiScale", "Mul", "", List.of(x + "_tok_hi", a), List.of(x + "_tok_shi"), List.of()));
                nodes.add(OnnxNode.of(safe + "/TokScale", "Max", "", List.of(x + "_tok_shi", floor), List.of(x + "_tok_s"), List.of()));
            } else {
                z = 128;
                String eps = add(OnnxTensor.ofFloats(fresh(safe + "_tok_eps"), new float[] {1e-12f}));
                reduce("ReduceMin", x, x + "_tok_lo", safe, nodes);
                String a = add(OnnxTensor.ofFloats(fresh(safe + "_tok_a"), new float[] {1f / 127}));
                String b = add(OnnxTensor.ofFloats(fresh(safe + "_tok_b"), new float[] {-1f / 128}));
                nodes.add(OnnxNode.of(safe + "/TokHiScale", "Mul", "", List.of(x + "_tok_hi", a), List.of(x + "_tok_shi"), List.of()));
                nodes.add(OnnxNode.of(safe + "/TokLoScale", "Mul", "", List.of(x + "_tok_lo", b), List.of(x + "_tok_slo"), List.of()));
                nodes.add(OnnxNode.of(safe + "/TokScale", "Max", "", List.of(x + "_tok_shi", x + "_tok_slo", eps), List.of(x + "_tok_s"), List.of()));
            }
            String zc = add(OnnxTensor.ofUint8(fresh(safe + "_tok_z"), new byte[] {(byte) z}, 1));
            String flat = add(OnnxTensor.ofInt64(fresh(safe + "_tok_flat"), new long[] {-1}, 1));
            String rows = add(OnnxTensor.ofInt64(fresh(safe + "_tok_rows"), new long[] {-1, st.k}, 2));
            // QuantizeLinear's per-axis scale and zero point are 1-D over the rows of the [tokens, k] view
            nodes.add(OnnxNode.of(safe + "/TokScaleRows", "Reshape", "", List.of(x + "_tok_s", flat), List.of(x + "_tok_s1"), List.of()));
            nodes.add(OnnxNode.of(safe + "/TokRowCount", "Shape", "", List.of(x + "_tok_s1"), List.of(x + "_tok_n"), List.of()));
            nodes.add(OnnxNode.of(safe + "/TokZeroPoints", "Expand", "", List.of(zc, x + "_tok_n"), List.of(x + "_tok_z1"), List.of()));
            nodes.add(OnnxNode.of(safe + "/TokShape", "Shape", "", List.of(x), List.of(x + "_tok_shape"), List.of()));
            nodes.add(OnnxNode.of(safe + "/TokRows", "Reshape", "", List.of(x, rows), List.of(x + "_tok_x2"), List.of()));
            if (opset < 13) microsoftDomain = true;
            nodes.add(OnnxNode.of(safe + "/TokQuantizeLinear", "QuantizeLinear", opset >= 13 ? "" : "com.microsoft", List.of(x + "_tok_x2", x + "_tok_s1", x + "_tok_z1"),
                    List.of(x + "_tok_q2"), List.of(OnnxAttribute.ofInt("axis", 0))));
            nodes.add(OnnxNode.of(safe + "/TokUnrows", "Reshape", "", List.of(x + "_tok_q2", x + "_tok_shape"), List.of(x + "_q_u8"), List.of()));
            return new String[] {x + "_q_u8", x + "_tok_s", zc, null, null, "token"};
        }

        private void reduce(String op, String in, String out, String safe, List<OnnxNode> nodes) {
            if (opset >= 18) {
                String axes = add(OnnxTensor.ofInt64(fresh(safe + "_tok_axes"), new long[] {-1}, 1));
                nodes.add(OnnxNode.of(safe + "/" + op, op, "", List.of(in, axes), List.of(out), List.of(OnnxAttribute.ofInt("keepdims", 1))));
            } else {
                nodes.add(OnnxNode.of(safe + "/" + op, op, "", List.of(in), List.of(out), List.of(OnnxAttribute.ofInts("axes", -1L), OnnxAttribute.ofInt("keepdims", 1))));
            }
        }

        static final float ONE_SIDED = 0.25f;

        /** Tables at least this large are quantized (word and position embeddings, not token-type ones). */
        static final long MIN_TABLE = 1 << 14;

        /**
         * Quantizes every embedding table per {@link Config#embedding()}: each {@code Gather} (axis 0) of a constant 2-D
         * float table of at least {@link #MIN_TABLE} values. Returns what was done.
         */
        String embedding() {
            if (cfg.embedding() == Embedding.FP32) return "fp32";
            List<String> done = new ArrayList<>();
            for (OnnxNode node : g.nodes()) {
                if (!node.opType().equals("Gather") || !node.domain().isEmpty() || node.inputs().size() < 2 || node.intAttr("axis", 0) != 0) continue;
                OnnxTensor table = inits.get(node.inputs().getFirst());
                if (table == null || table.dataType() != OnnxDataType.FLOAT || table.dims().length != 2 || table.numel() < MIN_TABLE) continue;
                replacement.put(node, quantizedGather(node, table));
                replacedWeights.add(table.name());
                done.add(table.name() + " " + table.dims()[0] + "x" + table.dims()[1]);
            }
            return cfg.embedding().name().toLowerCase(Locale.ROOT) + " " + (done.isEmpty() ? "(no constant table of at least " + MIN_TABLE + " values is gathered)" : done);
        }

        private List<OnnxNode> quantizedGather(OnnxNode node, OnnxTensor table) {
            int v = (int) table.dims()[0], d = (int) table.dims()[1];
            String ids = node.inputs().get(1), y = node.outputs().getFirst(), base = node.name().isEmpty() ? y : node.name();
            float[] w = table.floats();
            List<OnnxNode> nodes = new ArrayList<>();
            if (cfg.embedding() == Embedding.INT8) {
                BlockQuant.Int8 q = BlockQuant.int8PerRow(w, v, d);
                String tq = add(OnnxTensor.ofInt8(fresh(table.name() + "_int8"), q.values(), v, d));
                String sc = add(OnnxTensor.ofFloats(fresh(table.name() + "_scale"), q.scales(), v, 1));
                nodes.add(OnnxNode.of(base + "/GatherInt8", "Gather", "", List.of(tq, ids), List.of(y + "_q_i8"), List.of()));
                nodes.add(OnnxNode.of(base + "/Cast", "Cast", "", List.of(y + "_q_i8"), List.of(y + "_q_f"), List.of(OnnxAttribute.ofInt("to", OnnxDataType.FLOAT.code()))));
                nodes.add(OnnxNode.of(base + "/GatherScale", "Gather", "", List.of(sc, ids), List.of(y + "_q_s"), List.of()));
                nodes.add(OnnxNode.of(base + "/Dequant", "Mul", "", List.of(y + "_q_f", y + "_q_s"), List.of(y), List.of()));
            } else {
                int block = Math.min(cfg.blockSize(), Integer.highestOneBit(d));
                BlockQuant.Blocks q = BlockQuant.rtn(w, v, d, block, 4);
                Packed p = Packed.of(q);
                int nb = q.blocksPerRow();
                String tq = add(new OnnxTensor(fresh(table.name() + "_q4"), OnnxDataType.UINT8, new long[] {v, (long) nb * block / 2}, p.data()));
                String sc = add(OnnxTensor.ofFloats(fresh(table.name() + "_scales"), q.scales(), v, nb));
                String zp = add(new OnnxTensor(fresh(table.name() + "_zp"), OnnxDataType.UINT8, new long[] {v, (nb + 1) / 2}, p.zeros()));
                microsoftDomain = true;
                nodes.add(OnnxNode.of(base + "/GatherBlockQuantized", "GatherBlockQuantized", "com.microsoft", List.of(tq, ids, sc, zp), List.of(y),
                        List.of(OnnxAttribute.ofInt("gather_axis", 0), OnnxAttribute.ofInt("quantize_axis", 1), OnnxAttribute.ofInt("block_size", block), OnnxAttribute.ofInt("bits", 4))));
            }
            return nodes;
        }

        OnnxModel build(OnnxModel model) {
            List<OnnxNode> nodes = new ArrayList<>();
            for (OnnxNode n : g.nodes()) nodes.addAll(replacement.getOrDefault(n, List.of(n)));
            Set<String> used = new HashSet<>();
            for (OnnxNode n : nodes) used.addAll(n.inputs());
            for (OnnxValueInfo v : g.outputs()) used.add(v.name());
            List<OnnxTensor> initializers = new ArrayList<>();
            for (OnnxTensor t : g.initializers()) if (!replacedWeights.contains(t.name()) || used.contains(t.name())) initializers.add(changed.getOrDefault(t.name(), t));
            initializers.addAll(added.values());
            Map<String, Long> opsets = new LinkedHashMap<>(model.opsetImports());
            if (microsoftDomain) opsets.putIfAbsent("com.microsoft", 1L);
            if (model.opset("") < 11) opsets.put("", 11L);   // DynamicQuantizeLinear
            return new OnnxModel(Math.max(model.irVersion(), 7), "golden-stick-java ptq", opsets, new OnnxGraph(g.name(), nodes, initializers, g.inputs(), g.outputs()));
        }
    }

    /** MatMulNBits' layout: 8-bit levels one per byte; 4-bit two per byte (even index in the low nibble), zero points likewise per row. */
    record Packed(byte[] data, byte[] zeros) {
        static Packed of(BlockQuant.Blocks q) {
            int nb = q.blocksPerRow();
            if (q.bits() == 8) {
                byte[] data = new byte[q.rows() * nb * q.block()];
                for (int r = 0; r < q.rows(); r++) System.arraycopy(q.levels(), r * q.cols(), data, r * nb * q.block(), q.cols());
                return new Packed(data, q.zeros().clone());
            }
            if (q.bits() != 4) throw new IllegalArgumentException(q.bits() + "-bit packing is not supported");
            int rowBytes = nb * q.block() / 2;
            byte[] data = new byte[q.rows() * rowBytes];
            for (int r = 0; r < q.rows(); r++) {
                for (int c = 0; c < q.cols(); c++) {
                    int v = q.levels()[r * q.cols() + c] & 0xF;
                    data[r * rowBytes + c / 2] |= (byte) ((c & 1) == 0 ? v : v << 4);
                }
            }
            int zRow = (nb + 1) / 2;
            byte[] zeros = new byte[q.rows() * zRow];
            for (int r = 0; r < q.rows(); r++) {
                for (int b = 0; b < nb; b++) {
                    int v = q.zeros()[r * nb + b] & 0xF;
                    zeros[r * zRow + b / 2] |= (byte) ((b & 1) == 0 ? v : v << 4);
                }
            }
            return new Packed(data, zeros);
        }
    }
}
