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
            }
            ArrayNode m = model.putArray("merges");
            for (String s : merges) m.add(s);
            ObjectNode pre = root.putObject("pre_tokenizer");
            if (llama3) {
                pre.put("type", "Sequence");
                ArrayNode seq = pre.putArray("pretokenizers");
                ObjectNode split = seq.addObject().put("type", "Split").put("behavior", "Isolated").put("invert", false);
                split.putObject("pattern").put("Regex", BpeTokenizer.LLAMA3_SPLIT);
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
        Tokenizer tok = Tokenizers.load(toJson(vocab, llama3));
        List<String> failures = new ArrayList<>();
        List<LlamaCppVectors.Case> cases = TokenizerData.vectors(TokenizerData.vocab(vocab));
        for (LlamaCppVectors.Case c : cases) {
            int[] got = tok.encode(c.input(), false);
            if (!Arrays.equals(c.expected(), got)) failures.add("'" + c.input() + "': expected " + Arrays.toString(c.expected()) + " got " + Arrays.toString(got));
            assertEquals(c.input(), tok.decode(got));
        }
        assertEquals(46, cases.size());
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
}
