package org.goldenstick.llm.tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Loads a tokenizer from a file or a model folder, choosing the reader by file.
 *
 * <pre>{@code
 * Tokenizer a = Tokenizers.load(Path.of("models/gstick-llama-demo"));   // its tokenizer.json
 * Tokenizer b = Tokenizers.load(Path.of("ggml-vocab-gpt-2.gguf"));      // GGUF vocabulary metadata
 * }</pre>
 */
public final class Tokenizers {
    private Tokenizers() {}

    /** A {@code tokenizer.json}, a {@code .gguf} file, or a folder holding {@code tokenizer.json}. */
    public static Tokenizer load(Path path) {
        if (Files.isDirectory(path)) {
            Path json = path.resolve("tokenizer.json");
            if (Files.isRegularFile(json)) return HfTokenizerJson.load(json);
            throw new TokenizerException(path + ": folder has no tokenizer.json");
        }
        if (!Files.isRegularFile(path)) throw new TokenizerException(path + ": no such tokenizer file");
        String name = path.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        if (name.endsWith(".gguf")) return GgufTokenizer.load(path);
        if (name.endsWith(".json")) return HfTokenizerJson.load(path);
        throw new TokenizerException(path + ": unknown tokenizer file type (expected tokenizer.json or .gguf)");
    }
}
