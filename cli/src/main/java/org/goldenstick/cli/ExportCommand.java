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
    @Option(names = "--type", defaultValue = "f32", description = "f32 | f16 | bf16 | q8_0 | q4_0 | q4_1 | q4_k | q6_k (default: ${DEFAULT-VALUE}); norms stay f32")
    String type;
    @Option(names = "--model", description = "Hugging Face Llama folder (default: models/" + DemoModel.NAME + ").")
    Path model;
    @Option(names = "--out", required = true, description = "Output .gguf file (written atomically).")
    Path out;
    @Option(names = "--force", description = "Replace an existing output file.")
    boolean force;
    @Option(names = "--json", description = "Print one JSON object (out, type, bytes, tensors, seconds, fallbacks).")
    boolean json;

    /** The {@code --json} object (keys in docs/cli.md). */
    record ExportJson(Path out, String type, long bytes, int tensors, double seconds, Map<String, String> fallbacks) {}

    @Override
    public Integer call() throws Exception {
        if (!format.equalsIgnoreCase("gguf")) throw new IllegalArgumentException("--format must be gguf, got '" + format + "'");
        GgmlType t = parseType(type);
        Path dir = DemoModel.resolve(model);
        if (LlamaGguf.isGguf(dir)) throw new IllegalArgumentException("--model " + dir + " is already a GGUF file; export reads a Hugging Face folder");
        if (Files.exists(out) && !force) throw new IllegalArgumentException(out + " exists (pass --force to replace it)");
        LlamaModel m = HfCheckpoint.load(dir);
        long t0 = System.nanoTime();
        LlamaGguf.ExportReport r = LlamaGguf.export(m, dir, t, out);
        double sec = (System.nanoTime() - t0) / 1e9;
        Map<String, GgmlType> fb = r.fallbacks(t);
        if (json) {
            Map<String, String> fallbacks = new java.util.LinkedHashMap<>();
            fb.forEach((n, ty) -> fallbacks.put(n, ty.name().toLowerCase(Locale.ROOT)));
            Json.print(new ExportJson(out, t.name().toLowerCase(Locale.ROOT), r.bytes(), r.types().size(), sec, fallbacks));
        } else {
            System.out.printf(Locale.ROOT, "wrote %s: %d tensors, %s, %.1f MB in %.2f s%n", out, r.types().size(), t.name().toLowerCase(Locale.ROOT), r.bytes() / 1e6, sec);
            if (!fb.isEmpty()) System.out.println("stored in another type (row length not a multiple of the block): " + fb);
        }
        return 0;
    }

    static GgmlType parseType(String s) {
        for (GgmlType t : LlamaGguf.SUPPORTED_TYPES) if (t.name().equalsIgnoreCase(s)) return t;
        throw new IllegalArgumentException("--type must be one of f32, f16, bf16, q8_0, q4_0, q4_1, q4_k, q6_k, got '" + s + "'");
    }
}
