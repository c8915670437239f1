package org.goldenstick.llm.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.goldenstick.data.DataPaths;
import org.goldenstick.llm.tokenizer.BpeTrainer;
import org.goldenstick.llm.tokenizer.Tokenizer;
import org.goldenstick.llm.tokenizer.Tokenizers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/** The shipped models/gstick-llama-demo is what {@code ./gstick train-lm} (defaults) makes. */
class ShippedDemoModelTest {
    private static Path dir() {
        Path d = DataPaths.root().resolve("models/gstick-llama-demo");
        assertTrue(Files.isRegularFile(d.resolve("config.json")), d + " is missing");
        return d;
    }

    @Test
    void folderMatchesTheBuiltInRecipeAndCorpusSplit() throws Exception {
        Path d = dir();
        LmRecipe shipped = LmRecipe.fromJson(Files.readString(d.resolve("recipe.json")));
        assertEquals(LmRecipe.demo(), shipped, "LmRecipe.demo() (the train-lm default) no longer reproduces the shipped model");
        JsonNode cfg = new ObjectMapper().readTree(d.resolve("config.json").toFile());
        assertEquals("LlamaForCausalLM", cfg.get("architectures").get(0).asText());
        Tokenizer tok = Tokenizers.load(d);
        assertEquals(shipped.vocabSize(), tok.vocabSize());
        assertEquals(cfg.get("vocab_size").asInt(), tok.vocabSize());
        assertEquals(cfg.get("bos_token_id").asInt(), tok.bosId());
        assertEquals(cfg.get("eos_token_id").asInt(), tok.eosId());
        assertEquals(shipped.contextLength(), cfg.get("max_position_embeddings").asInt());
        assertEquals(LmCorpus.load().heldout(), Files.readString(d.resolve("heldout.txt")));
        long bytes;
        try (var s = Files.list(d)) {
            bytes = s.mapToLong(p -> p.toFile().length()).sum();
        }
        assertTrue(bytes < 25L << 20, "model folder is " + bytes + " bytes");
    }

    /** Re-training the tokenizer on the training split gives the shipped tokenizer.json byte for byte. */
    @Test
    @EnabledIfSystemProperty(named = "gstick.test.tier", matches = "medium|accuracy")
    void tokenizerIsReproducible() throws Exception {
        LmRecipe r = LmRecipe.demo();
        BpeTrainer.Result vocab = BpeTrainer.train(LmCorpus.load().train(), new BpeTrainer.Options(r.vocabSize(), 2, List.of("<s>", "</s>")));
        assertEquals(Files.readString(dir().resolve("tokenizer.json")), vocab.toJson());
    }
}
