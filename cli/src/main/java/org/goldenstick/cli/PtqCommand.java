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
 * {@code gstick ptq}: post-training quantization of a transformer encoder graph in ONNX (for example the
 * sentence-embedding models Java applications run in ONNX Runtime).
 *
 * <pre>
 * gstick ptq --onnx model.onnx --tokenizer tokenizer.json --calib calib.txt --method int8-dynamic --out model-int8.onnx
 * </pre>
 */
@Command(name = "ptq", mixinStandardHelpOptions = true,
        description = {"Post-training quantization of an ONNX transformer encoder (int8-dynamic, int8-static or int4) at graph level.",
                "MatMul/Gemm nodes with a constant weight become int8 (int8-dynamic: activations quantized at run time; int8-static:",
                "calibrated activation scales) or 4-bit blocks (int4: MatMulNBits, RTN or GPTQ); other nodes are kept.",
                "Calibration runs in ONNX Runtime. See docs/onnx-ptq.md."})
public final class PtqCommand implements Callable<Integer> {
    /** The {@code --json} object (keys in docs/cli.md). */
    record PtqJson(String method, String kernel, String int4Algo, Integer blockSize, String embedding, int quantizedNodes, java.util.List<String> skippedNodes,
                   long inputBytes, long outputBytes, double sizeRatio, int calibrationSentences, long calibrationTokens, double calibrationSeconds,
                   double seconds, Path out, java.util.Map<String, String> nullReasons) {}

    @Option(names = "--onnx", required = true, description = "input ONNX model (BERT-family encoder)")
    Path onnx;

    @Option(names = "--tokenizer", required = true, description = "the model's tokenizer.json (WordPiece)")
    Path tokenizer;

    @Option(names = "--calib", required = true, description = "calibration text file (UTF-8); keep it apart from evaluation text")
    Path calib;

    @Option(names = "--method", required = true, description = "int8-dynamic | int8-static | int4")
    String method;

    @Option(names = "--algo", defaultValue = "gptq", description = "int4 rounding: gptq | rtn (default: ${DEFAULT-VALUE})")
    String algo;

    @Option(names = "--block-size", defaultValue = "32", description = "int4 block along the input dimension: 32 | 64 | 128 (default: ${DEFAULT-VALUE})")
    int blockSize;

    @Option(names = "--int8-kernel", defaultValue = "nbits", description = {"int8-dynamic kernel: nbits (MatMulNBits 8-bit blocks of 128, activations",
            "quantized per row and block at run time) | integer (DynamicQuantizeLinear + MatMulInteger, one activation scale per tensor)",
            "(default: ${DEFAULT-VALUE})"})
    String int8Kernel;

    @Option(names = "--embedding", description = "word-embedding table: fp32 | int8 | int4 (default: int8 for int8 methods, int4 for int4)")
    String embedding;

    @Option(names = "--alpha", description = "SmoothQuant migration strength of int8-static, 0 = off (default: 0.5)")
    Double alpha;

    @Option(names = "--skip", description = "regex of MatMul/Gemm node names to keep in float (found anywhere in the name)")
    String skip;

    @Option(names = "--calib-sentences", defaultValue = "256", description = "calibration sentences used at most (default: ${DEFAULT-VALUE})")
    int calibSentences;

    @Option(names = "--threads", defaultValue = "0", description = "ONNX Runtime intra-op threads, 0 = its default (default: ${DEFAULT-VALUE})")
    int threads;

    @Option(names = "--out", required = true, description = "output ONNX file (written atomically)")
    Path out;

    @Option(names = "--json", description = "print the report as one JSON object")
    boolean json;

    @Override
    public Integer call() throws Exception {
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
            default -> throw new IllegalArgumentException("--int8-kernel must be nbits or integer, got '" + int8Kernel + "'");
        };
        OnnxPtq.Config cfg = new OnnxPtq.Config(m, a, blockSize, kern, e, skipPattern, calibSentences, d.batch(), threads, alpha != null ? alpha : d.smoothAlpha());
        WordPieceTokenizer tok = WordPieceTokenizer.load(tokenizer);
        List<String> sentences = Sentences.read(calib, 4, calibSentences);
        OnnxPtq.Report r = OnnxPtq.quantize(onnx, tok, sentences, cfg, out, CliProgress.of(json));
        if (json) {
            var why = new Json.Reasons();
            boolean int4 = m == OnnxPtq.Method.INT4;
            String kernel = int4 || (m == OnnxPtq.Method.INT8_DYNAMIC && kern == OnnxPtq.Int8Kernel.MATMUL_NBITS) ? "matmul_nbits" : "matmul_integer";
            Integer block = why.present("block_size", int4 ? Integer.valueOf(blockSize) : kernel.equals("matmul_nbits") ? Integer.valueOf(128) : null,
                    "per-channel int8 weights (no blocks)");
            String algoName = why.present("int4_algo", r.int4Algo(), "not int4 (int8 weights are rounded to nearest)");
            Json.print(new PtqJson(r.method(), kernel, algoName, block, r.embedding(), r.quantizedNodes(), r.skippedNodes(), r.inputBytes(), r.outputBytes(),
                    r.outputBytes() / (double) r.inputBytes(), r.calibrationSentences(), r.calibrationTokens(), r.calibrationSeconds(), r.seconds(), out, why.map()));
        } else {
            System.out.printf(Locale.ROOT, "%s%s: %d MatMul/Gemm quantized, %d kept float; embedding %s; %.1f MB -> %.1f MB (%.1f%%); %d calibration sentences (%d tokens, %.1f s); %.1f s in all%nwrote %s%n",
                    r.method(), r.int4Algo() == null ? "" : " " + r.int4Algo() + " block " + r.blockSize(), r.quantizedNodes(), r.skippedNodes().size(), r.embedding(),
                    r.inputBytes() / 1e6, r.outputBytes() / 1e6, 100.0 * r.outputBytes() / r.inputBytes(), r.calibrationSentences(), r.calibrationTokens(), r.calibrationSeconds(), r.seconds(), out);
        }
        return 0;
    }
}
