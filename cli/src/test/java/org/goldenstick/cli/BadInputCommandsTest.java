package org.goldenstick.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.llm.HfCheckpoint;
import org.goldenstick.llm.LlamaConfig;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.llm.tokenizer.BpeTrainer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Findings 6 and 7 of the reliability trial: bad command lines fail at once (before any training or loading) with a
 * message naming the option, the file and what to do; nothing existing is overwritten silently.
 */
class BadInputCommandsTest {
    @TempDir
    static Path tmp;
    static Path model;

    @BeforeAll
    static void makeModel() throws Exception {
        String text = "the whale and the sea and the ship of the captain ".repeat(40);
        BpeTrainer.Result vocab = BpeTrainer.train(List.of(text), new BpeTrainer.Options(280, 2, List.of("<s>", "</s>")));
        Path src = Files.createDirectories(tmp.resolve("src"));
        vocab.write(src.resolve("tokenizer.json"));
        Files.writeString(src.resolve("heldout.txt"), text);
        LlamaConfig c = new LlamaConfig(32, 64, 2, 4, 2, 8, 1e-5, 10000.0, null, vocab.tokens().size(), 64, true, 0, new int[] {1}, "float32",
                List.of("LlamaForCausalLM"), Map.of());
        model = tmp.resolve("tiny");
        HfCheckpoint.save(LlamaModel.withRandomWeights(c, 3), model, DType.F32, src, false);
    }

    private static void assertMentions(String err, String... parts) {
        for (String p : parts) assertTrue(err.contains(p), "'" + p + "' missing from: " + err);
        assertFalse(err.contains("java.lang."), "a bare exception class name in: " + err);
    }

    @Test
    void outputTargetsAreCheckedBeforeAnyWork() throws Exception {
        long t0 = System.nanoTime();
        // train --out <existing folder>: was an error only after training
        assertMentions(CliRunner.failure("train", "--epochs", "50", "--out", tmp.toString()), "--out", tmp.toString(), "is a folder");
        // train --out <existing file>: was overwritten silently
        Path file = Files.writeString(tmp.resolve("keep.safetensors"), "mine");
        assertMentions(CliRunner.failure("train", "--epochs", "50", "--out", file.toString()), "already exists", "--overwrite");
        assertEquals("mine", Files.readString(file));
        // train-lm --out <file>: was an error after 117 s of training
        assertMentions(CliRunner.failure("train-lm", "--out", file.toString()), "--out", "is a file");
        // train-lm never replaces an existing folder (the shipped model was its default) unless asked
        assertMentions(CliRunner.failure("train-lm", "--out", model.toString()), "already exists");
        assertTrue((System.nanoTime() - t0) / 1e9 < 20, "all rejected before training");
    }

    @Test
    void valuesOutsideTheirRangeAreRejectedNotCapped() {
        // was silently capped at 256 while 0 and 1 were rejected
        assertMentions(CliRunner.failure("quantize", "--model", model.toString(), "--method", "smoothquant", "--calib", model.resolve("heldout.txt").toString(),
                "--seq-len", "100000", "--out", tmp.resolve("q").toString()), "--seq-len", "100000", "max_position_embeddings");
        assertFalse(Files.exists(tmp.resolve("q")));
        // generation stopped quietly at the context length
        assertMentions(CliRunner.failure("generate", "--model", model.toString(), "--max-new-tokens", "100000"), "--max-new-tokens", "max_position_embeddings");
        // an SLB option with SimQAT was ignored
        assertMentions(CliRunner.failure("qat", "--algo", "simqat", "--weight-bits", "3", "--epochs", "1"), "--weight-bits", "slb");
        assertMentions(CliRunner.failure("qat", "--bench-seconds", "-1", "--epochs", "1", "--out", tmp.resolve("qat").toString()), "--bench-seconds", "-1");
        assertMentions(CliRunner.failure("prune", "--bench-seconds", "-1", "--epochs", "1", "--out", tmp.resolve("prune").toString()), "--bench-seconds", "-1");
        assertFalse(Files.exists(tmp.resolve("qat")) || Files.exists(tmp.resolve("prune")));
    }

    @Test
    void headBitsAreCheckedBeforeAnythingIsWritten() throws Exception {
        Path q = tmp.resolve("qh");
        String m = model.toString(), out = q.toString();
        assertMentions(CliRunner.failure("quantize", "--model", m, "--bits", "4", "--group-size", "32", "--head-bits", "6", "--out", out), "--head-bits", "4 or 8", "6");
        assertMentions(CliRunner.failure("quantize", "--model", m, "--head-bits", "4", "--out", out), "--head-bits 4", "--bits 4");
        assertMentions(CliRunner.failure("quantize", "--model", m, "--method", "smoothquant", "--calib", model.resolve("heldout.txt").toString(), "--head-bits", "8", "--out", out),
                "--head-bits", "weight-only", "smoothquant");
        assertFalse(Files.exists(q));
        // bench ptq checks it before writing its synthetic checkpoint
        assertMentions(CliRunner.failure("bench", "ptq", "--size", "small", "--head-bits", "4", "--dir", q.toString()), "--head-bits 4", "--bits 4");
        assertFalse(Files.exists(q));
        // the tiny model's head is tied: --head-bits 8 gives it its own int8 copy, reported in the JSON
        var j = CliRunner.json("quantize", "--model", m, "--bits", "4", "--group-size", "32", "--head-bits", "8", "--out", out, "--json");
        assertEquals("int8 per channel", j.get("lm_head").asText());
        assertEquals(15, j.get("layers_quantized").asInt(), "14 projections and the head");
        var cfg = new com.fasterxml.jackson.databind.ObjectMapper().readTree(q.resolve("config.json").toFile());
        assertFalse(cfg.get("tie_word_embeddings").asBoolean());
        assertEquals("float", CliRunner.json("quantize", "--model", m, "--bits", "4", "--group-size", "32", "--out", tmp.resolve("qf").toString(), "--json").get("lm_head").asText());
        String text = CliRunner.stdout("eval", "--model", out, "--ref", m, "--ctx", "32");
        assertTrue(text.contains("KL(ref || model)"), text);
    }

    @Test
    void errorsNameTheFileAtFault() throws Exception {
        Path latin1 = Files.write(tmp.resolve("latin1.txt"), new byte[] {'c', 'a', 'f', (byte) 0xE9, ' ', 'x'});
        assertMentions(CliRunner.failure("eval", "--model", model.toString(), "--text", latin1.toString()), latin1.toString(), "not UTF-8", "offset 3");

        Path badConfig = copyModel("badconfig");
        Files.writeString(badConfig.resolve("config.json"), "hidden_size = 32");
        assertMentions(CliRunner.failure("eval", "--model", badConfig.toString()), badConfig.resolve("config.json").toString(), "not valid JSON");
        assertMentions(CliRunner.failure("generate", "--model", badConfig.toString()), badConfig.resolve("config.json").toString(), "not valid JSON");

        Path dirWeights = copyModel("dirweights");
        Files.delete(dirWeights.resolve("model.safetensors"));
        Files.createDirectory(dirWeights.resolve("model.safetensors"));
        assertMentions(CliRunner.failure("eval", "--model", dirWeights.toString()), dirWeights.resolve("model.safetensors").toString(), "is a folder");

        Path recipe = Files.writeString(tmp.resolve("recipe.json"), "{\"vocabSize\": 4096, \"hiddenSize\": 100, \"numHeads\": 8}");
        assertMentions(CliRunner.failure("train-lm", "--recipe", recipe.toString(), "--out", tmp.resolve("lm").toString()), recipe.toString(), "field '");
    }

    private static Path copyModel(String name) throws Exception {
        Path d = Files.createDirectories(tmp.resolve(name));
        try (var s = Files.list(model)) {
            for (Path p : s.toList()) Files.copy(p, d.resolve(p.getFileName()));
        }
        return d;
    }
}
