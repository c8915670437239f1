package org.goldenstick.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.goldenstick.llm.tokenizer.WordPieceTokenizer;
import org.goldenstick.ptq.onnx.OnnxPtq;
import org.goldenstick.ptq.onnx.Sentences;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code gstick ptq}: post-training quantization, of two kinds selected by the options given:
 * <ul>
 *   <li>a <b>transformer encoder</b> in ONNX ({@code --tokenizer} given): graph-level int8/int4 (docs/onnx-ptq.md);</li>
 *   <li>a <b>CNN</b> (no {@code --tokenizer}: {@code --model} and/or {@code --data}): static int8 with calibration images
 *       ({@link CnnPtqRun}, docs/cnn-ptq.md).</li>
 * </ul>
 *
 * <pre>
 * gstick ptq --onnx model.onnx --tokenizer tokenizer.json --calib calib.txt --method int8-dynamic --out model-int8.onnx
 * gstick ptq --model lenet --dataset fashion-mnist --from lenet.safetensors --calibration entropy --out runs/ptq
 * gstick ptq --model lenet --from lenet.safetensors --data fashion-png --grayscale --max-drop 0.5 --out runs/ptq
 * </pre>
 */
@Command(name = "ptq", mixinStandardHelpOptions = true,
        description = {"Post-training quantization of an ONNX transformer encoder (with --tokenizer) or of a CNN (without it).",
                "ONNX transformer encoder (with --tokenizer): int8-dynamic, int8-static or int4 at graph level; MatMul/Gemm nodes with a",
                "constant weight become int8 or 4-bit blocks; calibration runs in ONNX Runtime (docs/onnx-ptq.md).",
                "CNN (without --tokenizer: --model lenet|resnet8|resnet20, --data DIR of class folders of images, --from checkpoint):",
                "static int8 — BN folded, int8 per-channel weights, uint8 per-tensor activations calibrated on --calib-samples images",
                "(or --calib DIR) with --calibration minmax|moving-average|percentile|mse|entropy, bias correction, optional",
                "--max-drop accuracy control; writes safetensors and QDQ ONNX checked in ONNX Runtime (docs/cnn-ptq.md)."})
public final class PtqCommand implements Callable<Integer> {
    /** The {@code --json} object (keys in docs/cli.md). */
    record PtqJson(String method, String kernel, String int4Algo, Integer blockSize, String embedding, int quantizedNodes, java.util.List<String> skippedNodes,
                   long inputBytes, long outputBytes, double sizeRatio, int calibrationSentences, long calibrationTokens, double calibrationSeconds,
                   java.util.List<String> protectedUnits, double seconds, Path out, java.util.Map<String, String> nullReasons) {}

    @Option(names = "--onnx", description = "input ONNX model (encoder: BERT-family; CNN: a float image classifier)")
    Path onnx;

    @Option(names = "--tokenizer", description = "encoder: the model's tokenizer.json (WordPiece); selects the encoder kind")
    Path tokenizer;

    @Option(names = "--calib", description = {"encoder: calibration text file (UTF-8); keep it apart from evaluation text",
            "CNN: a folder of calibration images (PNG/JPEG, directly or in class sub-folders; default: the first --calib-samples",
            "images of a seeded shuffle of the training set)"})
    Path calib;

    @Option(names = "--method", description = "encoder: int8-dynamic | int8-static | int4 (CNN: always static int8)")
    String method;

    @picocli.CommandLine.Mixin
    CnnPtqRun cnn;

    @Option(names = "--algo", defaultValue = "gptq", description = "int4 rounding: gptq | rtn (default: ${DEFAULT-VALUE})")
    String algo;

    @Option(names = "--block-size", defaultValue = "32", description = "int4 block along the input dimension: 32 | 64 | 128 (default: ${DEFAULT-VALUE})")
    int blockSize;

    @Option(names = "--int8-kernel", defaultValue = "integer-mixed", description = {"int8-dynamic kernel: integer-mixed (integer GEMM, one activation",
            "scale per tensor except the --protect most sensitive inputs, quantized per token; the fast accurate one) | integer-token",
            "(every activation input quantized per token at run time, SmoothQuant --alpha) | integer (DynamicQuantizeLinear +",
            "MatMulInteger, one activation scale per tensor) | nbits (MatMulNBits 8-bit blocks of 128, activations quantized per row",
            "and block) (default: ${DEFAULT-VALUE}; docs/onnx-ptq.md)"})
    String int8Kernel;

    @Option(names = "--embedding", description = "word-embedding table: fp32 | int8 | int4 (default: int8 for int8 methods, int4 for int4)")
    String embedding;

    @Option(names = "--protect", description = {"how many of the most sensitive units (measured on the calibration text in ONNX Runtime) keep",
            "the costlier, more accurate form: integer-mixed: activation inputs with per-token scales; int4: MatMuls with 8-bit weights",
            "(default: 5 for integer-mixed, 6 for int4; docs/onnx-ptq.md)"})
    Integer protect;

    @Option(names = "--alpha", description = "SmoothQuant migration strength of int8-static and of the per-token kernels, 0 = off (default: 0.5)")
    Double alpha;

    @Option(names = "--skip", description = "regex of names to keep in float (found anywhere in the name): MatMul/Gemm nodes (encoder) or dotted layer paths (CNN)")
    String skip;

    @Option(names = "--calib-sentences", defaultValue = "256", description = "calibration sentences used at most (default: ${DEFAULT-VALUE})")
    int calibSentences;

    @Option(names = "--threads", defaultValue = "0", description = "ONNX Runtime intra-op threads, 0 = its default (default: ${DEFAULT-VALUE})")
    int threads;

    @Option(names = "--out", description = "encoder: output ONNX file (written atomically); CNN: output folder (default runs/ptq)")
    Path out;

    @Option(names = "--json", description = "print the report as one JSON object")
    boolean json;

    @picocli.CommandLine.Mixin
    ReportOption report;

    @Override
    public Integer call() throws Exception {
        report.check();
        if (tokenizer == null) {
            if (method != null) throw new IllegalArgumentException("--method selects an encoder method and needs --tokenizer; a CNN (no --tokenizer) is always quantized to static int8");
            return cnn.run(onnx, calib, skip, out, json, report);
        }
        List<String> missing = new java.util.ArrayList<>();
        if (onnx == null) missing.add("--onnx");
        if (calib == null) missing.add("--calib");
        if (method == null) missing.add("--method");
        if (out == null) missing.add("--out");
        if (!missing.isEmpty()) throw new IllegalArgumentException("encoder PTQ (--tokenizer given) needs " + String.join(", ", missing));
        cnn.refuseForEncoder();
        OnnxPtq.Method m = OnnxPtq.Method.parse(method.toLowerCase(Locale.ROOT));
        OnnxPtq.Config d = OnnxPtq.Config.defaults(m);
        OnnxPtq.Int4Algo a = switch (algo.toLowerCase(Locale.ROOT)) {
            case "gptq" -> OnnxPtq.Int4Algo.GPTQ;
            case "rtn" -> OnnxPtq.Int4Algo.RTN;
            default -> throw new IllegalArgumentException("--algo must be gptq or rtn, got '" + algo + "'");
        };
        OnnxPtq.Embedding e = embedding == null ? d.embedding() : switch (embedding.toLowerCase(Locale.ROOT)) {
            case "fp32" -> OnnxPtq.Embedding.FP32;
            case "int8" -> OnnxPtq.Embedding.INT8;
            case "int4" -> OnnxPtq.Embedding.INT4;
            default -> throw new IllegalArgumentException("--embedding must be fp32, int8 or int4, got '" + embedding + "'");
        };
        Pattern skipPattern;
        try {
            skipPattern = skip == null ? null : Pattern.compile(skip);
        } catch (PatternSyntaxException ex) {
            throw new IllegalArgumentException("--skip '" + skip + "' is not a regular expression: " + ex.getDescription());
        }
        OnnxPtq.Int8Kernel kern = switch (int8Kernel.toLowerCase(Locale.ROOT)) {
            case "nbits" -> OnnxPtq.Int8Kernel.MATMUL_NBITS;
            case "integer" -> OnnxPtq.Int8Kernel.MATMUL_INTEGER;
            case "integer-token" -> OnnxPtq.Int8Kernel.MATMUL_INTEGER_TOKEN;
            case "integer-mixed" -> OnnxPtq.Int8Kernel.MATMUL_INTEGER_MIXED;
            default -> throw new IllegalArgumentException("--int8-kernel must be integer-mixed, integer-token, integer or nbits, got '" + int8Kernel + "'");
        };
        OnnxPtq.Config cfg = new OnnxPtq.Config(m, a, blockSize, kern, e, skipPattern, calibSentences, d.batch(), threads, alpha != null ? alpha : d.smoothAlpha(),
                protect != null ? protect : d.protect());
        WordPieceTokenizer tok = WordPieceTokenizer.load(tokenizer);
        List<String> sentences = Sentences.read(calib, 4, calibSentences);
        OnnxPtq.Report r = OnnxPtq.quantize(onnx, tok, sentences, cfg, out, CliProgress.of(json));
        if (report.wanted()) report.write(org.goldenstick.cli.report.Reports.encoderPtq(onnx.toString(), r));
        if (json) {
            var why = new Json.Reasons();
            boolean int4 = m == OnnxPtq.Method.INT4;
            String kernel = int4 || (m == OnnxPtq.Method.INT8_DYNAMIC && kern == OnnxPtq.Int8Kernel.MATMUL_NBITS) ? "matmul_nbits"
                    : m == OnnxPtq.Method.INT8_DYNAMIC && kern == OnnxPtq.Int8Kernel.MATMUL_INTEGER_TOKEN ? "matmul_integer_token"
                    : m == OnnxPtq.Method.INT8_DYNAMIC && kern == OnnxPtq.Int8Kernel.MATMUL_INTEGER_MIXED ? "matmul_integer_mixed" : "matmul_integer";
            Integer block = why.present("block_size", int4 ? Integer.valueOf(blockSize) : kernel.equals("matmul_nbits") ? Integer.valueOf(128) : null,
                    "per-channel int8 weights (no blocks)");
            String algoName = why.present("int4_algo", r.int4Algo(), "not int4 (int8 weights are rounded to nearest)");
            Json.print(new PtqJson(r.method(), kernel, algoName, block, r.embedding(), r.quantizedNodes(), r.skippedNodes(), r.inputBytes(), r.outputBytes(),
                    r.outputBytes() / (double) r.inputBytes(), r.calibrationSentences(), r.calibrationTokens(), r.calibrationSeconds(), r.protectedUnits(), r.seconds(), out, why.map()));
        } else {
            System.out.printf(Locale.ROOT, "%s%s: %d MatMul/Gemm quantized, %d kept float; embedding %s; %.1f MB -> %.1f MB (%.1f%%); %d calibration sentences (%d tokens, %.1f s); %.1f s in all%nwrote %s%n",
                    r.method(), r.int4Algo() == null ? "" : " " + r.int4Algo() + " block " + r.blockSize(), r.quantizedNodes(), r.skippedNodes().size(), r.embedding(),
                    r.inputBytes() / 1e6, r.outputBytes() / 1e6, 100.0 * r.outputBytes() / r.inputBytes(), r.calibrationSentences(), r.calibrationTokens(), r.calibrationSeconds(), r.seconds(), out);
        }
        return 0;
    }
}
