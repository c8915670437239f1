package org.goldenstick.llm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.goldenstick.formats.gguf.GgufFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tokenizer.json path for byte-level BPE, checked against llama.cpp's vectors: the GPT-2 and Llama-3
 * vocabularies are rewritten from their GGUF files into Hugging Face tokenizer.json form (GPT-2: a
 * {@code ByteLevel} pre-tokenizer with its built-in regex; Llama 3: {@code Sequence[Split(regex), ByteLevel(use_regex=false)]}
 * with {@code ignore_merges}), then every .inp case must give the .out ids.
 */
class HfByteLevelJsonTest {
    @TempDir
    Path dir;

    private Path toJson(String vocab, boolean llama3) throws Exception {
        return toJson(vocab, llama3, null);
    }

    /** {@code preTokenizer}: the pre_tokenizer JSON as the model's tokenizer.json writes it (null: GPT-2 / Llama 3 forms). */
    private Path toJson(String vocab, boolean llama3, String preTokenizer) throws Exception {
        ObjectMapper om = new ObjectMapper();
        ObjectNode root = om.createObjectNode();
        try (GgufFile g = GgufFile.open(TokenizerData.vocab(vocab))) {
            String[] tokens = g.getArray("tokenizer.ggml.tokens").strings();
            String[] merges = g.getArray("tokenizer.ggml.merges").strings();
            int[] types = g.getArray("tokenizer.ggml.token_type").ints();
            ArrayNode added = root.putArray("added_tokens");
            ObjectNode model = om.createObjectNode();
            model.put("type", "BPE").put("byte_fallback", false).put("ignore_merges", llama3);
            ObjectNode v = model.putObject("vocab");
            for (int i = 0; i < tokens.length; i++) {
                v.put(tokens[i], i);
                if (types[i] == 3) added.addObject().put("id", i).put("content", tokens[i]).put("special", true);
                if (types[i] == 4 && preTokenizer != null) added.addObject().put("id", i).put("content", tokens[i]).put("special", false);
            }
            ArrayNode m = model.putArray("merges");
            for (String s : merges) m.add(s);
            ObjectNode pre = root.putObject("pre_tokenizer");
            if (preTokenizer != null) {
                pre.setAll((ObjectNode) om.readTree(preTokenizer));
            } else if (llama3) {
                pre.put("type", "Sequence");
                ArrayNode seq = pre.putArray("pretokenizers");
                ObjectNode split = seq.addObject().put("type", "Split").put("behavior", "Isolated").put("invert", false);
                split.putObject("pattern").put("Regex", PreTokenizer.LLAMA3_REGEX);
                seq.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("use_regex", false);
            } else {
                pre.put("type", "ByteLevel").put("add_prefix_space", false).put("use_regex", true);
            }
            root.putNull("normalizer");
            root.set("model", model);
        }
        Path f = dir.resolve(vocab + ".json");
        Files.writeString(f, om.writeValueAsString(root));
        return f;
    }

    private void check(String vocab, boolean llama3) throws Exception {
        check(vocab, llama3, null, 46);
    }

    private void check(String vocab, boolean llama3, String preTokenizer, int expectedCases) throws Exception {
        Tokenizer tok = Tokenizers.load(toJson(vocab, llama3, preTokenizer));
        List<String> failures = new ArrayList<>();
        List<LlamaCppVectors.Case> cases = TokenizerData.vectors(TokenizerData.vocab(vocab));
        for (LlamaCppVectors.Case c : cases) {
            int[] got = tok.encode(c.input(), false);
            if (!Arrays.equals(c.expected(), got)) failures.add("'" + c.input() + "': expected " + Arrays.toString(c.expected()) + " got " + Arrays.toString(got));
            assertEquals(c.input(), tok.decode(got));
        }
        assertEquals(expectedCases, cases.size());
        assertEquals(List.of(), failures);
    }

    @Test
    void gpt2AsTokenizerJson() throws Exception {
        check("gpt-2", false);
    }

    @Test
    void llama3AsTokenizerJson() throws Exception {
        check("llama-bpe", true);
    }

    // The pre_tokenizer sections below are those of the models' published tokenizer.json files (Qwen2,
    // deepseek-llm-7b-base, deepseek-coder-6.7b-base, falcon-7b, starcoder2), in Hugging Face's Sequence form.
    private static final String BYTE_LEVEL_NO_REGEX = "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":false,\"use_regex\":false}";

    private static String split(String regex) {
        return "{\"type\":\"Split\",\"pattern\":{\"Regex\":" + quote(regex) + "},\"behavior\":\"Isolated\",\"invert\":false}";
    }

    private static String quote(String s) {
        try {
            return new ObjectMapper().writeValueAsString(s);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String sequence(String... steps) {
        return "{\"type\":\"Sequence\",\"pretokenizers\":[" + String.join(",", steps) + "]}";
    }

    @Test
    void qwen2AsTokenizerJson() throws Exception {
        check("qwen2", false, sequence(split("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"),
                BYTE_LEVEL_NO_REGEX), 46);
        assertEquals("qwen2", ((BpeTokenizer) Tokenizers.load(dir.resolve("qwen2.json"))).spec().preTokenizer().ggufName());
    }

    @Test
    void deepseekCoderAsTokenizerJson() throws Exception {
        check("deepseek-coder", false, sequence(split("[\r\n]"), split("\\s?\\p{L}+"), split("\\s?\\p{P}+"), split("[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+"),
                "{\"type\":\"Digits\",\"individual_digits\":true}", BYTE_LEVEL_NO_REGEX), 46);
    }

    @Test
    void starcoderAsTokenizerJson() throws Exception {
        check("starcoder", false, sequence("{\"type\":\"Digits\",\"individual_digits\":true}",
                "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":true}"), 46);
    }

    @Test
    void falconAsTokenizerJson() throws Exception {
        // Digits and the three-digit Split run after ByteLevel, on the byte-mapped text.
        check("falcon", false, sequence("{\"type\":\"Punctuation\",\"behavior\":\"Contiguous\"}",
                "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":true}",
                "{\"type\":\"Digits\",\"individual_digits\":false}", split("[0-9][0-9][0-9]")), 46);
    }
}
