package org.goldenstick.llm.tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * llama.cpp's tokenizer test vectors ({@code models/ggml-vocab-*.gguf.inp} / {@code .out}, read by its
 * {@code test-tokenizer-0}): inputs separated by {@code "\n__ggml_vocab_test__\n"}, one line of space-separated
 * ids per input, encoded without BOS and without parsing special tokens.
 *
 * <pre>{@code
 * for (LlamaCppVectors.Case c : LlamaCppVectors.read(Path.of("ggml-vocab-gpt-2.gguf")))
 *     assert Arrays.equals(c.expected(), tok.encode(c.input(), false));
 * }</pre>
 */
public final class LlamaCppVectors {
    private static final String SEPARATOR = "\n__ggml_vocab_test__\n";

    private LlamaCppVectors() {}

    /** One input text and the ids llama.cpp gives it. */
    public record Case(String input, int[] expected) {}

    /** The cases of {@code gguf + ".inp"} and {@code gguf + ".out"}. */
    public static List<Case> read(Path gguf) {
        try {
            String raw = Files.readString(Path.of(gguf + ".inp"), StandardCharsets.UTF_8);
            List<String> outs = Files.readAllLines(Path.of(gguf + ".out"), StandardCharsets.UTF_8);
            List<String> inputs = new ArrayList<>();
            int pos = 0;
            while (pos < raw.length()) {
                int next = raw.indexOf(SEPARATOR, pos);
                if (next < 0) {
                    inputs.add(raw.substring(pos));
                    break;
                }
                inputs.add(raw.substring(pos, next));
                pos = next + SEPARATOR.length();
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
