package org.goldenstick.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.llm.HfCheckpoint;
import org.goldenstick.llm.LlamaConfig;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.llm.Perplexity;
import org.goldenstick.llm.Sampler;
import org.goldenstick.llm.tokenizer.BpeTrainer;
import org.goldenstick.llm.tokenizer.Tokenizer;
import org.goldenstick.llm.tokenizer.Tokenizers;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** eval, tokenize and generate on a tiny random model folder with a freshly trained BPE tokenizer. */
class LlmCommandsTest {
    @TempDir
    static Path tmp;
    static Path dir;
    static String text;

    @BeforeAll
    static void makeModel() throws Exception {
        TinyLlama t = TinyLlama.create(tmp);
        dir = t.dir();
        text = t.text();
    }

    private static String run(String... args) {
        return CliRunner.stdout(args);
    }

    @Test
    void tokenizePrintsTheTokenizerIds() throws Exception {
        JsonNode ids = new ObjectMapper().readTree(run("tokenize", "--model", dir.toString(), "--json")).get("ids");
        int[] expect = Tokenizers.load(dir).encode(text, true);
        int[] got = new int[ids.size()];
        for (int i = 0; i < got.length; i++) got[i] = ids.get(i).asInt();
        assertArrayEquals(expect, got);
    }

    @Test
    void evalJsonMatchesTheLibrary() throws Exception {
        JsonNode j = new ObjectMapper().readTree(run("eval", "--model", dir.toString(), "--ctx", "32", "--json"));
        for (String k : new String[] {"ppl", "tokens", "kld", "top1_agreement", "tokens_per_second"}) assertTrue(j.has(k), k);
        assertTrue(j.get("kld").isNull() && j.get("top1_agreement").isNull());
        Tokenizer tok = Tokenizers.load(dir);
        Perplexity.Result p = Perplexity.evaluate(HfCheckpoint.load(dir), tok.encode(text, true), 32);
        assertEquals(p.ppl(), j.get("ppl").asDouble(), 1e-5 * p.ppl());
        assertEquals(p.tokens(), j.get("tokens").asLong());

        JsonNode self = new ObjectMapper().readTree(run("eval", "--model", dir.toString(), "--ref", dir.toString(), "--ctx", "32", "--max-tokens", "100", "--json"));
        assertEquals(0.0, self.get("kld").asDouble(), 1e-9);
        assertEquals(1.0, self.get("top1_agreement").asDouble());
        assertEquals(3 * 31, self.get("tokens").asLong());
    }

    @Test
    void generateGreedyContinuesThePrompt() throws Exception {
        String out = run("generate", "--model", dir.toString(), "--prompt", "the whale", "--temperature", "0", "--max-new-tokens", "6");
        Tokenizer tok = Tokenizers.load(dir);
        int[] gen = HfCheckpoint.load(dir).generate(tok.encode("the whale", true), 6, Sampler.greedy());
        assertEquals("the whale" + tok.decode(gen) + System.lineSeparator(), out);
    }

    @Test
    void missingModelFolderFails() {
        assertNotEquals(0, Main.commandLine().execute("eval", "--model", tmp.resolve("nope").toString()));
    }
}
