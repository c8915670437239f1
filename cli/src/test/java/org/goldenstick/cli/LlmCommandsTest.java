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
        StringBuilder sb = new StringBuilder();
        String[] words = {"the", "whale", "ship", "sea", "captain", "of", "and", "a", "white", "ocean", "to", "sail"};
        java.util.Random rng = new java.util.Random(1);
        for (int i = 0; i < 400; i++) sb.append(words[rng.nextInt(words.length)]).append(i % 9 == 8 ? ".\n" : " ");
        text = sb.toString();
        BpeTrainer.Result vocab = BpeTrainer.train(List.of(text), new BpeTrainer.Options(300, 2, List.of("<s>", "</s>")));
        dir = Files.createDirectories(tmp.resolve("tiny"));
        vocab.write(dir.resolve("tokenizer.json"));
        int v = vocab.tokens().size();
        LlamaConfig c = new LlamaConfig(32, 64, 2, 4, 2, 8, 1e-5, 10000.0, null, v, 128, true, 0, new int[] {1}, "float32",
                List.of("LlamaForCausalLM"), Map.of());
        LlamaModel m = LlamaModel.withRandomWeights(c, 3);
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.copy(dir.resolve("tokenizer.json"), src.resolve("tokenizer.json"));
        Files.writeString(src.resolve("heldout.txt"), text);
        Files.delete(dir.resolve("tokenizer.json"));
        Files.delete(dir);
        HfCheckpoint.save(m, dir, DType.F32, src, false);
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
