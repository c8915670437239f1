package org.goldenstick.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.goldenstick.ptq.ActGranularity;
import org.goldenstick.ptq.BackendTarget;
import org.goldenstick.ptq.PTQConfig;
import org.goldenstick.ptq.PtqReport;
import org.goldenstick.llm.tokenizer.Tokenizer;
import org.goldenstick.llm.tokenizer.Tokenizers;
import org.goldenstick.ptq.Quantizer;
import org.goldenstick.ptq.ResumeState;
import org.goldenstick.ptq.WeightMethod;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code gstick quantize}: post-training quantization of a Hugging Face model folder of a supported family ({@code docs/families.md}; QUANTIZE stage). The output
 * folder is a quantized checkpoint that {@code gstick eval --model OUT} loads in DEPLOY mode.
 */
@Command(name = "quantize", mixinStandardHelpOptions = true,
        description = {"Post-training quantization of a Llama model folder into a quantized checkpoint.",
                "Methods: rtn (weight-only W8/W4, data-free), gptq, awq, awq-gptq (weight-only, calibrated layer by layer),",
                "smoothquant (W8A8 with smoothing) or w8a8 (naive W8A8, for comparison); --bits-budget mixes 4/8 bits and float.",
                "Writes compressed-tensors safetensors (pack-quantized for weight-only, int-quantized for W8A8) atomically to --out."})
public final class QuantizeCommand implements Callable<Integer> {
    @Option(names = "--model", description = {"Hugging Face model folder: llama, mistral, qwen2, qwen3, gemma or phi3 (default: models/gstick-llama-demo),",
            "or a .gguf Llama model (F32/F16/BF16/Q8_0/Q4_0/...: its weights dequantized are the float source; tokenizer.json is written from its vocabulary)"})
    Path model;

    @Option(names = "--method", defaultValue = "rtn", description = "rtn | gptq | awq | awq-gptq | smoothquant | w8a8 (default: ${DEFAULT-VALUE})")
    String method;

    @Option(names = "--bits", defaultValue = "8", description = "weight bits for rtn: 4 or 8 (default: ${DEFAULT-VALUE})")
    int bits;

    @Option(names = "--group-size", defaultValue = "0", description = "input columns per weight scale for rtn: 32, 64, 128, or 0 for per output channel (default: ${DEFAULT-VALUE})")
    int groupSize;

    @Option(names = "--asym", description = "asymmetric weights (a zero point per group); default symmetric")
    boolean asym;

    @Option(names = "--ggml-blocks", description = {"weight-only: ggml's block layout, Q4_0 (--bits 4) or Q8_0 (--bits 8): symmetric groups of 32 with the fp16 scale",
            "ggml picks, so `export --format gguf --from-quantized` writes exactly these codes (layers whose inputs 32 does not divide need --skip)"})
    boolean ggmlBlocks;

    @Option(names = "--head-bits", description = {"weight-only: quantize lm_head too, with 8 (int8 per output channel; Q8_0 blocks with --ggml-blocks) or the --bits",
            "scheme when equal to --bits; a tied head gets its own quantized copy (written untied), the embedding stays float.",
            "Default: lm_head stays float (compressed-tensors' usual ignore; what vLLM loads)"})
    Integer headBits;

    @Option(names = "--bits-budget", description = "mixed precision: average bits per weight (scales included) for the linears; per-unit 4/8/float chosen from a sensitivity scan")
    Double bitsBudget;

    @Option(names = "--act-order", description = "gptq: process columns by decreasing Hessian diagonal (static groups)")
    boolean actOrder;

    @Option(names = "--dampening", defaultValue = "0.01", description = "gptq: fraction of the mean Hessian diagonal added to it (default: ${DEFAULT-VALUE})")
    double dampening;

    @Option(names = "--alpha", description = "SmoothQuant migration strength in [0, 1] (default: " + PTQConfig.DEFAULT_ALPHA + ")")
    Double alpha;

    @Option(names = "--calib", description = "calibration text file or folder of .txt files (default: <model>/calib.txt if present)")
    Path calib;

    @Option(names = "--calib-samples", defaultValue = "64", description = "maximum calibration samples (default: ${DEFAULT-VALUE})")
    int calibSamples;

    @Option(names = "--seq-len", defaultValue = "256", description = "calibration sample length in tokens (default: ${DEFAULT-VALUE})")
    int seqLen;

    @Option(names = "--skip", description = {"regex of linear layers to keep in float, matched anywhere in the dotted name (repeatable);",
            "replaces the default: lm_head for rtn, lm_head and down_proj for smoothquant/w8a8"})
    List<String> skip;

    @Option(names = "--act-granularity", defaultValue = "per-token", description = "per-token (dynamic) | per-tensor (static, from calibration)")
    String actGranularity;

    @Option(names = "--backend", defaultValue = "cpu", description = "cpu | none (quantize only) | ascend (rejected: this build runs on CPU)")
    String backend;

    @Option(names = "--out", required = true, description = "output folder (must not exist)")
    Path out;

    @Option(names = "--resume", description = {"continue an interrupted run with the same --model, --out and recipe from the last finished layer",
            "(RTN layers, GPTQ/AWQ decoder layers) or calibration sample (SmoothQuant); the output is byte-identical to an uninterrupted run"})
    boolean resume;

    @picocli.CommandLine.Mixin
    ReportOption report;

    @Option(names = "--json", description = "print one JSON object (out, input_bytes, output_bytes, seconds, ...; docs/cli.md)")
    boolean json;

    /** The {@code --json} object (docs/cli.md); GB/s are 10^9 bytes of linear-layer weights per second. */
    record QuantizeJson(String method, Path out, long inputBytes, long outputBytes, double sizeRatio, double seconds, double writeSeconds,
                        int layersQuantized, int layersSkipped, double throughputGbPerS, double quantizeGbPerS, String lmHead) {}

    @Override
    public Integer call() throws Exception {
        report.check();
        Path root = Path.of(System.getProperty("gstick.root", "."));
        Path dir = model != null ? model : root.resolve("models/gstick-llama-demo");
        if (!org.goldenstick.llm.LlamaGguf.isGguf(dir)) return quantize(dir);
        // a GGUF model: the same pipeline on a Hugging Face folder written from it (config, dequantized weights,
        // tokenizer.json), kept next to --out until the run ends; the output folder carries its tokenizer.json
        if (resume) throw new IllegalArgumentException("--resume needs a model folder; " + dir + " is a GGUF file (rerun without --resume)");
        if (Files.exists(out)) throw new IllegalArgumentException(out + ": output folder already exists; remove it or choose another --out");
        Path parent = out.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path work = Files.createTempDirectory(parent, "." + out.getFileName() + ".gguf-");
        try {
            String stem = dir.getFileName().toString().replaceFirst("(?i)\\.gguf$", "");
            Path src = work.resolve(stem.isEmpty() ? "model" : stem);
            org.goldenstick.llm.LlamaGguf.toHfFolder(dir, src);
            return quantize(src);
        } finally {
            org.goldenstick.formats.AtomicFiles.deleteQuietly(work);
        }
    }

    private int quantize(Path dir) throws Exception {
        PTQConfig cfg = switch (method.toLowerCase(java.util.Locale.ROOT)) {
            case "rtn", "gptq", "awq", "awq-gptq" -> PTQConfig.rtn();
            case "smoothquant", "sq" -> PTQConfig.smoothQuant();
            case "w8a8", "naive-w8a8" -> PTQConfig.naiveW8A8();
            default -> throw new IllegalArgumentException("--method must be rtn, gptq, awq, awq-gptq, smoothquant or w8a8, got '" + method + "'");
        };
        if (!cfg.quantizesActivations()) {
            if (bits != 4 && bits != 8) throw new IllegalArgumentException("--bits must be 4 or 8, got " + bits);
            if (ggmlBlocks) {
                if (asym || (groupSize != 0 && groupSize != org.goldenstick.ptq.WeightScheme.GGML_BLOCK)) {
                    throw new IllegalArgumentException("--ggml-blocks is symmetric groups of " + org.goldenstick.ptq.WeightScheme.GGML_BLOCK + "; drop --asym and --group-size");
                }
                cfg = cfg.withWeights(org.goldenstick.ptq.WeightScheme.ggml(bits));
            } else {
                cfg = cfg.withWeights(org.goldenstick.ptq.WeightScheme.of(bits, groupSize, !asym));
            }
        } else if (ggmlBlocks) {
            throw new IllegalArgumentException("--ggml-blocks applies to weight-only methods (rtn, gptq, awq, awq-gptq)");
        } else if (bits != 8 || groupSize != 0 || asym) {
            throw new IllegalArgumentException("--bits/--group-size/--asym apply to weight-only methods; " + cfg.methodName() + " is W8A8 with 8-bit per-channel symmetric weights");
        }
        org.goldenstick.ptq.WeightScheme head = headScheme(cfg);
        if (alpha != null) {
            if (!cfg.quantizesActivations() || !"smoothquant".equals(cfg.methodName())) throw new IllegalArgumentException("--alpha applies to --method smoothquant only");
            cfg = cfg.withAlpha(alpha);
        }
        if (skip != null) cfg = cfg.withSkip(skip);
        cfg = cfg.withBackend(switch (backend.toLowerCase(java.util.Locale.ROOT)) {
            case "cpu" -> BackendTarget.CPU;
            case "none" -> BackendTarget.NONE;
            case "ascend" -> BackendTarget.ASCEND;
            default -> throw new IllegalArgumentException("--backend must be cpu, none or ascend, got '" + backend + "'");
        });
        ActGranularity g = switch (actGranularity.toLowerCase(java.util.Locale.ROOT)) {
            case "per-token", "token" -> ActGranularity.PER_TOKEN;
            case "per-tensor", "tensor" -> ActGranularity.PER_TENSOR;
            default -> throw new IllegalArgumentException("--act-granularity must be per-token or per-tensor, got '" + actGranularity + "'");
        };
        if (g == ActGranularity.PER_TENSOR) {
            cfg = cfg.withActGranularity(g);
            System.err.println("warning: static per-tensor activations clip anything outside the calibrated range; per-token is the safer default");
        }
        if (!Files.isDirectory(dir)) throw new IllegalArgumentException(dir + ": model folder not found");
        String mname = method.toLowerCase(java.util.Locale.ROOT);
        boolean gptq = mname.equals("gptq") || mname.equals("awq-gptq");
        if (actOrder && !gptq) throw new IllegalArgumentException("--act-order applies to --method gptq or awq-gptq");
        if (bitsBudget != null && (cfg.quantizesActivations() || bits != 4)) throw new IllegalArgumentException("--bits-budget mixes 4 bits, 8 bits and float for weight-only methods: use it with --bits 4");
        if (!cfg.quantizesActivations() && (!mname.equals("rtn") || calib != null || bitsBudget != null)) {
            WeightMethod gptqMethod = new WeightMethod.Gptq(dampening, 128, actOrder);
            WeightMethod wm = switch (mname) {
                case "gptq" -> gptqMethod;
                case "awq" -> WeightMethod.Awq.defaults();
                case "awq-gptq" -> WeightMethod.Awq.defaults(gptqMethod);
                default -> new WeightMethod.Rtn();
            };
            Path calibText = calib != null ? calib : Files.isRegularFile(dir.resolve("calib.txt")) ? dir.resolve("calib.txt") : null;
            Tokenizer calibTokenizer = calibText != null && wm.needsCalibration() ? Tokenizers.load(dir) : null;
            java.util.Map<String, org.goldenstick.ptq.WeightScheme> plan = null;
            if (bitsBudget != null) {
                if (calibText == null) throw new IllegalArgumentException("--bits-budget needs calibration text for the sensitivity scan (--calib)");
                if (java.nio.file.Files.exists(out)) throw new IllegalArgumentException(out + ": output folder already exists; remove it or choose another --out");
                Tokenizer tok = Tokenizers.load(dir);
                org.goldenstick.llm.LlamaModel fm = org.goldenstick.llm.HfCheckpoint.load(dir);
                var helper = new org.goldenstick.ptq.LlamaHelper(fm, Math.min(seqLen, fm.config().maxPositionEmbeddings()), t -> tok.encode(t, true));
                var units = org.goldenstick.ptq.Sensitivity.scan(fm, helper.calibrationSamples(calibText, Math.min(calibSamples, 8)), org.goldenstick.ptq.PtqAlgorithm.targets(fm, cfg), cfg.weights(), CliProgress.of(json));
                plan = org.goldenstick.ptq.Sensitivity.allocate(units, bitsBudget, cfg.weights());
                System.err.printf(java.util.Locale.ROOT, "bits budget %.3f: %d of %d layers at 4 bits, %d at 8 bits, the rest float; %.3f bits per weight%n", bitsBudget,
                        plan.values().stream().filter(s -> s.bits() == 4).count(), org.goldenstick.ptq.PtqAlgorithm.targets(fm, cfg).size(),
                        plan.values().stream().filter(s -> s.bits() == 8).count(), org.goldenstick.ptq.Sensitivity.bitsPerWeight(units, plan));
            }
            cfg = cfg.withHead(head); // after the sensitivity scan: the head's scheme is chosen here, not by the budget
            // calibrated methods keep each finished decoder layer next to --out (removed when the output is complete)
            return printed(Quantizer.quantizeWeights(dir, out, cfg, wm, plan, calibText, calibSamples, seqLen, calibTokenizer == null ? null : t -> calibTokenizer.encode(t, true),
                    CliProgress.of(json), resume ? ResumeState.Mode.CONTINUE : ResumeState.Mode.SAVE), dir);
        }
        cfg = cfg.withHead(head);
        Path calibText = calib;
        if (calibText == null && cfg.quantizesActivations() && Files.isRegularFile(dir.resolve("calib.txt"))) calibText = dir.resolve("calib.txt");
        // progress is always kept (next to --out, removed when the output is complete) so that any run can be resumed
        return printed(Quantizer.quantize(dir, out, cfg, null, calibText, calibSamples, seqLen, null, // the folder's own tokenizer
                CliProgress.of(json), resume ? ResumeState.Mode.CONTINUE : ResumeState.Mode.SAVE), dir);
    }

    /**
     * The scheme {@code --head-bits} asks for (null: float head), checked before anything is read or written: 8 is int8
     * per output channel (Q8_0 blocks with --ggml-blocks), and equal to --bits it is the layers' own scheme.
     */
    private org.goldenstick.ptq.WeightScheme headScheme(PTQConfig cfg) {
        if (headBits == null) return null;
        if (cfg.quantizesActivations()) throw new IllegalArgumentException("--head-bits applies to weight-only methods (rtn, gptq, awq, awq-gptq); " + cfg.methodName() + " keeps lm_head in float");
        return org.goldenstick.ptq.WeightScheme.forHead(headBits, cfg.weights());
    }

    private int printed(PtqReport r, Path dir) throws Exception {
        if (report.wanted()) report.write(org.goldenstick.cli.report.Reports.quantize(dir.toString(), r, org.goldenstick.ptq.LayerErrors.relativeWeightErrors(dir, out)));
        if (json) {
            Json.print(new QuantizeJson(r.method(), out, r.inputBytes(), r.outputBytes(), r.sizeRatio(), r.seconds(), r.writeSeconds(), r.layersQuantized(),
                    r.layersSkipped(), r.throughputGBps(), r.quantizeGBps(), org.goldenstick.ptq.QuantizedCheckpoints.scheme(out).headLabel()));
        } else {
            System.out.println(r.summary() + "\nlm_head: " + org.goldenstick.ptq.QuantizedCheckpoints.scheme(out).headLabel() + "\nwrote " + out);
        }
        return 0;
    }
}
