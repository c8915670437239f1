package org.goldenstick.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.goldenstick.formats.gguf.GgmlType;
import org.goldenstick.llm.DemoModel;
import org.goldenstick.llm.HfCheckpoint;
import org.goldenstick.llm.LlamaGguf;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.ptq.QuantizedGguf;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code gstick export --format gguf}: a Hugging Face Llama folder as one GGUF file that llama.cpp (and Ollama,
 * llama3.java, …) loads, with the vocabulary of its tokenizer.json.
 */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = {"Export a Llama model folder to another format (--format gguf: llama.cpp's GGUF, in one of the --type block formats).",
                "Tensor names, q/k row permutation and tokenizer.ggml.* are written as llama.cpp's converter writes them."})
public final class ExportCommand implements Callable<Integer> {
    @Option(names = "--format", required = true, description = "gguf")
    String format;
    @Option(names = "--type", description = {"f32 | f16 | bf16 | q8_0 | q4_0 | q4_1 | q4_k | q6_k (default f32); norms stay f32.",
            "With --from-quantized: the block type for quantized layers whose codes fit no block exactly (re-encoded, not bit-exact); default: refuse them"})
    String type;
    @Option(names = "--model", description = "Hugging Face Llama folder (default: models/" + DemoModel.NAME + ").")
    Path model;
    @Option(names = "--from-quantized", description = {"a gstick quantize output folder: layers quantized with --ggml-blocks (symmetric groups of 32, fp16 scales)",
            "are copied code for code into Q4_0 (4 bits) / Q8_0 (8 bits) blocks, so llama.cpp runs exactly these weights"})
    Path fromQuantized;
    @Option(names = "--float-type", defaultValue = "f16", description = "with --from-quantized: type of the tensors the folder keeps in float (embeddings, skipped layers; default: ${DEFAULT-VALUE})")
    String floatType;
    @Option(names = "--out", required = true, description = "Output .gguf file (written atomically).")
    Path out;
    @Option(names = "--force", description = "Replace an existing output file.")
    boolean force;
    @Option(names = "--json", description = "Print one JSON object (out, type, bytes, tensors, seconds, fallbacks).")
    boolean json;

    /** The {@code --json} object (keys in docs/cli.md); with --from-quantized {@code fallbacks} lists the kept-float tensors. */
    record ExportJson(Path out, String type, long bytes, int tensors, double seconds, Map<String, String> fallbacks, Map<String, String> copied, Map<String, String> reencoded) {}

    @Override
    public Integer call() throws Exception {
        if (!format.equalsIgnoreCase("gguf")) throw new IllegalArgumentException("--format must be gguf, got '" + format + "'");
        if (Files.exists(out) && !force) throw new IllegalArgumentException(out + " exists (pass --force to replace it)");
        if (fromQuantized != null) return fromQuantized();
        GgmlType t = parseType(type == null ? "f32" : type);
        Path dir = DemoModel.resolve(model);
        if (LlamaGguf.isGguf(dir)) throw new IllegalArgumentException("--model " + dir + " is already a GGUF file; export reads a Hugging Face folder");
        LlamaModel m = HfCheckpoint.load(dir);
        long t0 = System.nanoTime();
        LlamaGguf.ExportReport r = LlamaGguf.export(m, dir, t, out);
        double sec = (System.nanoTime() - t0) / 1e9;
        Map<String, GgmlType> fb = r.fallbacks(t);
        if (json) {
            Json.print(new ExportJson(out, name(t), r.bytes(), r.types().size(), sec, names(fb), Map.of(), Map.of()));
        } else {
            System.out.printf(Locale.ROOT, "wrote %s: %d tensors, %s, %.1f MB in %.2f s%n", out, r.types().size(), name(t), r.bytes() / 1e6, sec);
            if (!fb.isEmpty()) System.out.println("stored in another type (row length not a multiple of the block): " + fb);
        }
        return 0;
    }

    private int fromQuantized() throws Exception {
        if (model != null) throw new IllegalArgumentException("give either --model (a float folder) or --from-quantized (a quantized folder), not both");
        GgmlType requested = type == null ? null : parseType(type);
        GgmlType ft = parseType(floatType);
        long t0 = System.nanoTime();
        QuantizedGguf.Report r = QuantizedGguf.export(fromQuantized, requested, ft, out);
        double sec = (System.nanoTime() - t0) / 1e9;
        Map<String, GgmlType> copied = ggufNames(r.copied()), reencoded = ggufNames(r.reencoded()), floats = new java.util.LinkedHashMap<>();
        r.export().types().forEach((n, ty) -> {
            if (!n.endsWith("norm.weight") && !copied.containsKey(n) && !reencoded.containsKey(n)) floats.put(n, ty);
        });
        if (json) {
            Json.print(new ExportJson(out, requested == null ? "exact" : name(requested), r.export().bytes(), r.export().types().size(), sec, names(floats), names(copied), names(reencoded)));
        } else {
            System.out.printf(Locale.ROOT, "wrote %s: %d tensors, %.1f MB in %.2f s; %d layers copied code for code %s%n", out, r.export().types().size(), r.export().bytes() / 1e6, sec,
                    copied.size(), new java.util.TreeSet<>(copied.values()));
            if (!reencoded.isEmpty()) System.out.println("re-encoded from dequantized weights (not bit-exact): " + reencoded);
            System.out.println("kept-float tensors: " + floats);
        }
        return 0;
    }

    private static Map<String, GgmlType> ggufNames(Map<String, GgmlType> layers) {
        Map<String, GgmlType> m = new java.util.LinkedHashMap<>();
        layers.forEach((l, t) -> m.put(LlamaGguf.ggufName(l + ".weight"), t));
        return m;
    }

    private static String name(GgmlType t) {
        return t.name().toLowerCase(Locale.ROOT);
    }

    private static Map<String, String> names(Map<String, GgmlType> m) {
        Map<String, String> out = new java.util.LinkedHashMap<>();
        m.forEach((n, ty) -> out.put(n, name(ty)));
        return out;
    }

    static GgmlType parseType(String s) {
        for (GgmlType t : LlamaGguf.SUPPORTED_TYPES) if (t.name().equalsIgnoreCase(s)) return t;
        throw new IllegalArgumentException("--type must be one of f32, f16, bf16, q8_0, q4_0, q4_1, q4_k, q6_k, got '" + s + "'");
    }
}
