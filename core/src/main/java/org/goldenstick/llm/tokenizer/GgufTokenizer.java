package org.goldenstick.llm.tokenizer;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.goldenstick.formats.gguf.GgufArray;
import org.goldenstick.formats.gguf.GgufFile;
import org.goldenstick.formats.gguf.GgufFormatException;

/**
 * Builds a tokenizer from GGUF vocabulary metadata ({@code tokenizer.ggml.*}) the way llama.cpp does:
 * {@code model = llama} → SentencePiece merging by token score with {@code <0xXX>} byte fallback and a
 * leading space ({@code add_space_prefix}, default true); {@code model = gpt2} → byte-level BPE with the
 * merges list and the {@link PreTokenizer} named by {@code tokenizer.ggml.pre} (gpt-2, llama-bpe, qwen2,
 * deepseek-llm, deepseek-coder, falcon, starcoder, command-r, … — {@link PreTokenizer#ggufNames()}).
 * Like llama.cpp's {@code tokenize(..., parse_special=false)}, only user-defined tokens (type 4) are matched
 * verbatim in the text; control tokens are not.
 *
 * <pre>{@code
 * Tokenizer tok = GgufTokenizer.load(Path.of("ggml-vocab-llama-spm.gguf"));
 * }</pre>
 */
public final class GgufTokenizer {
    private static final int TYPE_CONTROL = 3;
    private static final int TYPE_USER_DEFINED = 4;

    private GgufTokenizer() {}

    public static BpeTokenizer load(Path file) {
        try (GgufFile g = GgufFile.open(file)) {
            return fromMetadata(g);
        } catch (GgufFormatException e) {
            throw new TokenizerException(e.getMessage(), e);
        } catch (TokenizerException e) {
            throw new TokenizerException(file + ": " + e.getMessage(), e);
        }
    }

    /** Reads the tokenizer of an open GGUF file. */
    public static BpeTokenizer fromMetadata(GgufFile g) {
        String model = g.getString("tokenizer.ggml.model");
        String[] tokens = stringArray(g, "tokenizer.ggml.tokens");
        int n = tokens.length;
        int[] types = g.has("tokenizer.ggml.token_type") ? intArray(g, "tokenizer.ggml.token_type", n) : null;
        Map<String, Integer> userDefined = new LinkedHashMap<>();
        Set<Integer> control = new HashSet<>();
        if (types != null) {
            for (int i = 0; i < n; i++) {
                if (types[i] == TYPE_USER_DEFINED) userDefined.put(tokens[i], i);
                if (types[i] == TYPE_CONTROL) control.add(i);
            }
        }
        int bos = optionalId(g, "tokenizer.ggml.bos_token_id", n);
        int eos = optionalId(g, "tokenizer.ggml.eos_token_id", n);
        int unk = optionalId(g, "tokenizer.ggml.unknown_token_id", n);
        if (bos >= 0) control.add(bos);
        if (eos >= 0) control.add(eos);
        switch (model) {
            case "llama" -> {
                if (!g.has("tokenizer.ggml.scores")) throw new TokenizerException("key 'tokenizer.ggml.scores' is required for model 'llama'");
                GgufArray scores = g.getArray("tokenizer.ggml.scores");
                if (scores.length() != n) throw new TokenizerException("key 'tokenizer.ggml.scores' has " + scores.length() + " entries, tokens has " + n);
                float[] s;
                try {
                    s = scores.floats();
                } catch (IllegalStateException e) {
                    throw new TokenizerException("key 'tokenizer.ggml.scores': " + e.getMessage());
                }
                boolean addSpace = g.getBool("tokenizer.ggml.add_space_prefix", true);
                return new BpeTokenizer(new BpeTokenizer.Spec(BpeTokenizer.Flavor.SENTENCEPIECE, List.of(tokens), BpeTokenizer.Merges.byScore(s),
                        userDefined, control, addSpace, null, true, false, unk, bos, eos));
            }
            case "gpt2" -> {
                String[] merges = stringArray(g, "tokenizer.ggml.merges");
                Map<BpeTokenizer.Pair, Integer> ranks = new HashMap<>(merges.length * 2);
                for (int i = 0; i < merges.length; i++) {
                    int sp = merges[i].indexOf(' ', 1);
                    if (sp < 0) throw new TokenizerException("key 'tokenizer.ggml.merges' entry " + i + " '" + merges[i] + "' is not 'left right'");
                    ranks.putIfAbsent(new BpeTokenizer.Pair(merges[i].substring(0, sp), merges[i].substring(sp + 1)), i);
                }
                PreTokenizer pre = PreTokenizer.forGguf(g.has("tokenizer.ggml.pre") ? g.getString("tokenizer.ggml.pre") : null);
                return new BpeTokenizer(new BpeTokenizer.Spec(BpeTokenizer.Flavor.BYTE_LEVEL, List.of(tokens), BpeTokenizer.Merges.byRank(ranks),
                        userDefined, control, false, pre, false, pre.ignoreMerges(), unk, bos, eos));
            }
            default -> throw new TokenizerException("key 'tokenizer.ggml.model' = '" + model + "' is not supported (llama, gpt2)");
        }
    }

    private static String[] stringArray(GgufFile g, String key) {
        try {
            return g.getArray(key).strings();
        } catch (IllegalStateException e) {
            throw new TokenizerException("key '" + key + "': " + e.getMessage());
        }
    }

    private static int[] intArray(GgufFile g, String key, int n) {
        GgufArray a = g.getArray(key);
        if (a.length() != n) throw new TokenizerException("key '" + key + "' has " + a.length() + " entries, tokens has " + n);
        try {
            return a.ints();
        } catch (IllegalStateException e) {
            throw new TokenizerException("key '" + key + "': " + e.getMessage());
        }
    }

    private static int optionalId(GgufFile g, String key, int n) {
        if (!g.has(key)) return -1;
        long id = g.getLong(key);
        if (id < 0 || id >= n) throw new TokenizerException("key '" + key + "' = " + id + " is outside the vocabulary of " + n);
        return (int) id;
    }
}
