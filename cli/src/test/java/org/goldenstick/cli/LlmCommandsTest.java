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
import org.goldenstick.tensor.kernel.Kernels;
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

    /** A copy of the tiny model with a chat template in tokenizer_config.json. */
    private static Path chatModel() throws Exception {
        Path chat = tmp.resolve("chat-model");
        if (Files.isDirectory(chat)) return chat;
        Files.createDirectories(chat);
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) if (Files.isRegularFile(f)) Files.copy(f, chat.resolve(f.getFileName()));
        }
        var cfg = new ObjectMapper().createObjectNode().put("bos_token", "<s>").put("eos_token", "</s>")
                .put("chat_template", "{{ bos_token }}{% for m in messages %}{{ m['role'] }}: {{ m['content'] | trim }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}");
        Files.writeString(chat.resolve("tokenizer_config.json"), cfg.toString());
        return chat;
    }

    @Test
    void chatRendersTheTemplateForTokenizeAndGenerate() throws Exception {
        Path chat = chatModel();
        Path in = tmp.resolve("question.txt");
        Files.writeString(in, " the whale \n");
        String rendered = "<s>system: be brief\nuser: the whale\nassistant:";
        JsonNode t = new ObjectMapper().readTree(run("tokenize", "--model", chat.toString(), "--text", in.toString(), "--chat", "--system", "be brief", "--json"));
        assertEquals(rendered, t.get("chat_prompt").asText());
        Tokenizer tok = Tokenizers.load(chat);
        int[] expect = tok.encode(rendered.substring("<s>".length()), true); // the template's "<s>" is the BOS token, not text
        int[] got = new int[t.get("ids").size()];
        for (int i = 0; i < got.length; i++) got[i] = t.get("ids").get(i).asInt();
        assertArrayEquals(expect, got);

        // generate --chat prints only the reply: the greedy continuation of the rendered prompt's ids.
        String out = run("generate", "--model", chat.toString(), "--prompt", " the whale \n", "--system", "be brief", "--chat", "--temperature", "0", "--max-new-tokens", "5");
        int[] gen = HfCheckpoint.load(chat).generate(expect, 5, Sampler.greedy());
        assertEquals(tok.decode(gen) + System.lineSeparator(), out);

        String noTemplate = CliRunner.failure("generate", "--model", dir.toString(), "--prompt", "x", "--chat");
        assertTrue(noTemplate.contains("has no chat template"), noTemplate);
        String systemAlone = CliRunner.failure("tokenize", "--model", dir.toString(), "--system", "x");
        assertTrue(systemAlone.contains("--system needs --chat"), systemAlone);
    }

    @Test
    void evalOnAnF32GgufExportEqualsEvalOnTheFolder() throws Exception {
        Path f = tmp.resolve("tiny-f32.gguf");
        JsonNode ex = CliRunner.json("export", "--format", "gguf", "--type", "f32", "--model", dir.toString(), "--out", f.toString(), "--json");
        assertEquals(Files.size(f), ex.get("bytes").asLong());
        Path textFile = dir.resolve("heldout.txt");
        JsonNode hf = CliRunner.json("eval", "--model", dir.toString(), "--ctx", "32", "--json");
        JsonNode gg = CliRunner.json("eval", "--model", f.toString(), "--text", textFile.toString(), "--ctx", "32", "--json");
        assertEquals(hf.get("tokens").asLong(), gg.get("tokens").asLong(), "the GGUF vocabulary tokenizes the text as tokenizer.json does");
        assertEquals(hf.get("ppl").asDouble(), gg.get("ppl").asDouble(), 1e-9 * hf.get("ppl").asDouble());
        assertTrue(CliRunner.failure("export", "--format", "gguf", "--model", dir.toString(), "--out", f.toString()).contains("exists"));
    }

    @Test
    void quantizedGgufGeneratesAndTokenizes() throws Exception {
        Path f = tmp.resolve("tiny-q8_0.gguf");
        run("export", "--format", "gguf", "--type", "q8_0", "--model", dir.toString(), "--out", f.toString());
        String out = run("generate", "--model", f.toString(), "--prompt", "the whale", "--temperature", "0", "--max-new-tokens", "6");
        Tokenizer tok = Tokenizers.load(f);
        int[] gen;
        try (var mm = org.goldenstick.llm.LlamaGguf.open(f)) {
            gen = mm.model().generate(tok.encode("the whale", true), 6, Sampler.greedy());
        }
        assertEquals("the whale" + tok.decode(gen) + System.lineSeparator(), out);
        JsonNode ids = new ObjectMapper().readTree(run("tokenize", "--model", f.toString(), "--text", dir.resolve("heldout.txt").toString(), "--json")).get("ids");
        assertEquals(Tokenizers.load(dir).encode(text, true).length, ids.size());
        JsonNode kl = CliRunner.json("eval", "--model", f.toString(), "--text", dir.resolve("heldout.txt").toString(), "--ref", dir.toString(), "--ctx", "32", "--json");
        assertTrue(kl.get("kld").asDouble() > 0 && kl.get("kld").asDouble() < 0.01, "Q8_0 stays close to F32: " + kl);
    }

    @Test
    void tokenizeAVocabularyGgufPassesLlamaCppVectors() throws Exception {
        // A CLI run per case loads the vocabulary each time: the two smaller vocabularies, a dozen cases each (every
        // case of all three is checked on the library in LlamaCppVectorsTest).
        for (String vocab : List.of("gpt-2", "llama-spm")) {
            Path gguf = org.goldenstick.data.DataPaths.cached("gguf-vocab", "gguf/ggml-vocab-" + vocab + ".gguf");
            int n = 0;
            for (var c : org.goldenstick.llm.tokenizer.LlamaCppVectors.read(gguf).subList(0, 12)) {
                Path in = tmp.resolve("case-" + vocab + "-" + n++ + ".txt");
                Files.writeString(in, c.input());
                JsonNode ids = new ObjectMapper().readTree(run("tokenize", "--model", gguf.toString(), "--text", in.toString(), "--no-bos", "--json")).get("ids");
                int[] got = new int[ids.size()];
                for (int i = 0; i < got.length; i++) got[i] = ids.get(i).asInt();
                assertArrayEquals(c.expected(), got, vocab + ": '" + c.input() + "'");
            }
        }
    }

    @Test
    void quantizeW4GptqAndAwqThenEvalAndGenerateLoadThePackedFolder() throws Exception {
        Path calib = dir.resolve("heldout.txt");
        for (String method : new String[] {"rtn", "gptq", "awq"}) {
            Path out = tmp.resolve("w4-" + method);
            JsonNode r = CliRunner.json("quantize", "--model", dir.toString(), "--method", method, "--bits", "4", "--group-size", "32", "--asym",
                    "--calib", calib.toString(), "--calib-samples", "16", "--seq-len", "64", "--out", out.toString(), "--json");
            assertEquals(method, r.get("method").asText());
            JsonNode q = new ObjectMapper().readTree(out.resolve("config.json").toFile()).get("quantization_config");
            assertEquals("pack-quantized", q.get("format").asText());
            assertEquals(4, q.get("config_groups").get("group_0").get("weights").get("num_bits").asInt());
            assertEquals("lm_head", q.get("ignore").get(0).asText());
            if (method.equals("awq")) assertTrue(q.get("gstick").get("awq_clip_qk").asBoolean(), "AWQ then RTN clips q/k: " + q.get("gstick"));
            JsonNode e = new ObjectMapper().readTree(run("eval", "--model", out.toString(), "--ref", dir.toString(), "--ctx", "32", "--max-tokens", "100", "--json"));
            assertTrue(e.get("kld").asDouble() > 0 && e.get("kld").asDouble() < 0.5, method + " kld " + e.get("kld"));
            assertTrue(run("generate", "--model", out.toString(), "--prompt", "the whale", "--temperature", "0", "--max-new-tokens", "4").startsWith("the whale"));
        }
    }

    @Test
    void gptqInGgmlBlocksExportsCodeForCodeAndEvalsAsTheFolder() throws Exception {
        Path q = tmp.resolve("gptq-ggml");
        CliRunner.json("quantize", "--model", dir.toString(), "--method", "gptq", "--bits", "4", "--ggml-blocks", "--calib", dir.resolve("heldout.txt").toString(),
                "--calib-samples", "16", "--seq-len", "64", "--out", q.toString(), "--json");
        Path f = tmp.resolve("gptq-ggml.gguf");
        JsonNode ex = CliRunner.json("export", "--format", "gguf", "--from-quantized", q.toString(), "--float-type", "f32", "--out", f.toString(), "--json");
        assertEquals(14, ex.get("copied").size(), ex.toString());
        ex.get("copied").forEach(t -> assertEquals("q4_0", t.asText()));
        assertEquals("f32", ex.get("fallbacks").get("token_embd.weight").asText());
        // the same weights through two kernels (packed int4 vs Q4_0 blocks): equal up to float summation order
        JsonNode a = CliRunner.json("eval", "--model", q.toString(), "--ctx", "32", "--json");
        JsonNode b = CliRunner.json("eval", "--model", f.toString(), "--text", dir.resolve("heldout.txt").toString(), "--ctx", "32", "--json");
        assertEquals(a.get("ppl").asDouble(), b.get("ppl").asDouble(), 1e-4 * a.get("ppl").asDouble());
        assertTrue(CliRunner.failure("export", "--format", "gguf", "--from-quantized", dir.toString(), "--out", tmp.resolve("x.gguf").toString()).contains("not a quantized folder"));
        assertTrue(CliRunner.failure("quantize", "--model", dir.toString(), "--bits", "4", "--ggml-blocks", "--asym", "--out", tmp.resolve("x").toString()).contains("--ggml-blocks"));
    }

    @Test
    void quantizeOnAGgufModelEqualsQuantizeOnTheFolder() throws Exception {
        Path f = tmp.resolve("src-f32.gguf");
        run("export", "--format", "gguf", "--type", "f32", "--model", dir.toString(), "--out", f.toString());
        String calib = dir.resolve("heldout.txt").toString();
        List<List<String>> methods = List.of(List.of("--method", "rtn", "--bits", "4", "--group-size", "32"),
                List.of("--method", "gptq", "--bits", "4", "--group-size", "32", "--calib", calib, "--calib-samples", "16", "--seq-len", "64"),
                List.of("--method", "smoothquant", "--calib", calib, "--calib-samples", "8", "--seq-len", "64"));
        // Scalar kernels: the vector path's lanewise EXP (SiLU, softmax) gives different float roundings before and
        // after the JIT compiles it, so two calibrated runs in one JVM can differ (GPTQ then amplifies a flipped code);
        // the scalar path repeats bit for bit, which is what lets this test ask for identical bytes.
        boolean vector = Kernels.useVector(false);
        try {
            for (List<String> m : methods) {
                Path a = tmp.resolve("from-folder-" + m.get(1)), b = tmp.resolve("from-gguf-" + m.get(1));
                List<String> args = new java.util.ArrayList<>(List.of("quantize", "--model", dir.toString(), "--out", a.toString(), "--json"));
                args.addAll(m);
                CliRunner.json(args.toArray(String[]::new));
                args.set(2, f.toString());
                args.set(4, b.toString());
                CliRunner.json(args.toArray(String[]::new));
                assertArrayEquals(Tokenizers.load(dir).encode(text, true), Tokenizers.load(b).encode(text, true), m.get(1) + ": the output's tokenizer.json");
                assertArrayEquals(Files.readAllBytes(a.resolve("model.safetensors")), Files.readAllBytes(b.resolve("model.safetensors")), m.get(1) + ": the same tensors, byte for byte");
                JsonNode ea = CliRunner.json("eval", "--model", a.toString(), "--ctx", "32", "--max-tokens", "200", "--json");
                JsonNode eb = CliRunner.json("eval", "--model", b.toString(), "--text", calib, "--ctx", "32", "--max-tokens", "200", "--json");
                assertEquals(ea.get("ppl").asDouble(), eb.get("ppl").asDouble(), 0.0, m.get(1));
                try (var s = Files.list(tmp)) {
                    assertTrue(s.noneMatch(p -> p.getFileName().toString().contains(".gguf-")), "the temporary folder written from the GGUF is removed");
                }
            }
        } finally {
            Kernels.useVector(vector);
        }
        assertTrue(CliRunner.failure("quantize", "--model", f.toString(), "--resume", "--out", tmp.resolve("r").toString()).contains("--resume needs a model folder"));
        Path vocabOnly = org.goldenstick.data.DataPaths.cached("gguf-vocab", "gguf/ggml-vocab-gpt-2.gguf");
        String err = CliRunner.failure("quantize", "--model", vocabOnly.toString(), "--out", tmp.resolve("v").toString());
        assertTrue(err.contains("general.architecture is 'gpt2'; only 'llama' models are supported"), err);
        assertTrue(!Files.exists(tmp.resolve("v")));
    }

    @Test
    void badQuantizeOptionsFailBeforeWriting() {
        Path out = tmp.resolve("bad");
        String calib = dir.resolve("heldout.txt").toString();
        assertTrue(CliRunner.failure("quantize", "--model", dir.toString(), "--bits", "3", "--out", out.toString()).contains("--bits must be 4 or 8"));
        assertTrue(CliRunner.failure("quantize", "--model", dir.toString(), "--bits", "4", "--group-size", "48", "--out", out.toString()).contains("group size"));
        assertTrue(CliRunner.failure("quantize", "--model", dir.toString(), "--bits", "4", "--group-size", "128", "--out", out.toString()).contains("does not divide in_features=32"));
        assertTrue(CliRunner.failure("quantize", "--model", dir.toString(), "--method", "gptq", "--bits", "4", "--group-size", "32", "--calib", calib,
                "--calib-samples", "1", "--seq-len", "20", "--out", out.toString()).contains("rank-deficient"));
        assertTrue(CliRunner.failure("quantize", "--model", dir.toString(), "--method", "gptq", "--bits", "4", "--out", out.toString(), "--calib", tmp.resolve("none.txt").toString()).contains("not found"));
        assertTrue(!Files.exists(out));
    }

    @Test
    void missingModelFolderFails() {
        assertNotEquals(0, Main.commandLine().execute("eval", "--model", tmp.resolve("nope").toString()));
    }
}
