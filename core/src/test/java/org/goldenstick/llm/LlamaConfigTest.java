package org.goldenstick.llm;

import org.goldenstick.tensor.RopeScaling;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LlamaConfigTest {
    // Field values as in meta-llama/Llama-3.2-1B's config.json.
    static final String LLAMA32_1B = """
            {
              "architectures": ["LlamaForCausalLM"],
              "attention_bias": false,
              "attention_dropout": 0.0,
              "bos_token_id": 128000,
              "eos_token_id": [128001, 128008, 128009],
              "head_dim": 64,
              "hidden_act": "silu",
              "hidden_size": 2048,
              "initializer_range": 0.02,
              "intermediate_size": 8192,
              "max_position_embeddings": 131072,
              "mlp_bias": false,
              "model_type": "llama",
              "num_attention_heads": 32,
              "num_hidden_layers": 16,
              "num_key_value_heads": 8,
              "pretraining_tp": 1,
              "rms_norm_eps": 1e-05,
              "rope_scaling": {
                "factor": 32.0,
                "high_freq_factor": 4.0,
                "low_freq_factor": 1.0,
                "original_max_position_embeddings": 8192,
                "rope_type": "llama3"
              },
              "rope_theta": 500000.0,
              "tie_word_embeddings": true,
              "torch_dtype": "bfloat16",
              "transformers_version": "4.45.0.dev0",
              "use_cache": true,
              "vocab_size": 128256
            }""";

    @Test
    void parsesALlama3Config() {
        LlamaConfig c = LlamaConfig.parse(LLAMA32_1B, "config.json");
        assertEquals(2048, c.hiddenSize());
        assertEquals(8192, c.intermediateSize());
        assertEquals(16, c.numHiddenLayers());
        assertEquals(32, c.numAttentionHeads());
        assertEquals(8, c.numKeyValueHeads());
        assertEquals(64, c.headDim());
        assertEquals(1e-5, c.rmsNormEps());
        assertEquals(500000.0, c.ropeTheta());
        assertEquals(new RopeScaling.Llama3(32.0, 1.0, 4.0, 8192), c.ropeScaling());
        assertEquals(128256, c.vocabSize());
        assertEquals(131072, c.maxPositionEmbeddings());
        assertTrue(c.tieWordEmbeddings());
        assertEquals(128000, c.bosTokenId());
        assertArrayEquals(new int[] {128001, 128008, 128009}, c.eosTokenIds());
        assertTrue(c.isEos(128009));
        assertEquals("bfloat16", c.torchDtype());
        assertEquals(java.util.List.of("LlamaForCausalLM"), c.architectures());
        assertEquals(0.02, c.extra().get("initializer_range").asDouble());
        assertEquals(1_235_814_400L, c.parameterCount()); // Llama 3.2 1B: 1.24 B parameters
    }

    @Test
    void defaultsFollowTransformers() {
        LlamaConfig c = LlamaConfig.parse("""
                {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100,
                 "rope_scaling": {"type": "linear", "factor": 2.0}, "eos_token_id": 2}""", "config.json");
        assertEquals(4, c.numKeyValueHeads());
        assertEquals(16, c.headDim());
        assertEquals(10000.0, c.ropeTheta());
        assertEquals(new RopeScaling.Linear(2.0), c.ropeScaling());
        assertEquals(-1, c.bosTokenId());
        assertArrayEquals(new int[] {2}, c.eosTokenIds());
        assertEquals("float32", c.torchDtype());
        // Newer transformers write "dtype" instead of "torch_dtype".
        assertEquals("bfloat16", LlamaConfig.parse("{\"hidden_size\": 64, \"intermediate_size\": 128, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"vocab_size\": 100, \"dtype\": \"bfloat16\"}", "c").torchDtype());
        assertNull(LlamaConfig.parse("{\"hidden_size\": 64, \"intermediate_size\": 128, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"vocab_size\": 100, \"rope_scaling\": null}", "c").ropeScaling());
    }

    @Test
    void jsonRoundTripKeepsEveryField(@TempDir Path dir) throws Exception {
        LlamaConfig c = LlamaConfig.parse(LLAMA32_1B, "config.json")
                .withExtra("quantization_config", new com.fasterxml.jackson.databind.ObjectMapper().readTree("{\"quant_method\": \"rtn\"}"));
        Files.writeString(dir.resolve("config.json"), c.toJson());
        LlamaConfig back = LlamaConfig.load(dir.resolve("config.json"));
        assertEquals(c, back);
        assertEquals("rtn", back.extra().get("quantization_config").get("quant_method").asText());
        assertEquals(c.toJson(), back.toJson());
        LlamaConfig small = TestModels.tiedLinear();
        assertEquals(small, LlamaConfig.parse(small.toJson(), "x"));
    }

    private static String errorOf(String json) {
        return assertThrows(IllegalArgumentException.class, () -> LlamaConfig.parse(json, "/m/config.json")).getMessage();
    }

    @Test
    void badConfigsNameTheFileAndField() {
        String base = "\"hidden_size\": 64, \"intermediate_size\": 128, \"num_hidden_layers\": 2, \"vocab_size\": 100";
        assertTrue(errorOf("{" + base).contains("/m/config.json: not valid JSON"));
        assertTrue(errorOf("[1]").contains("/m/config.json"));
        String m = errorOf("{" + base + "}");
        assertTrue(m.contains("/m/config.json") && m.contains("num_attention_heads"), m);
        m = errorOf("{" + base + ", \"num_attention_heads\": 4, \"num_key_value_heads\": 3}");
        assertTrue(m.contains("num_key_value_heads") && m.contains("multiple"), m);
        m = errorOf("{" + base + ", \"num_attention_heads\": \"four\"}");
        assertTrue(m.contains("'num_attention_heads' must be an integer"), m);
        m = errorOf("{" + base + ", \"num_attention_heads\": 4, \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4}}");
        assertTrue(m.contains("rope_scaling type 'yarn'"), m);
        m = errorOf("{" + base + ", \"num_attention_heads\": 4, \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 4}}");
        assertTrue(m.contains("rope_scaling") && m.contains("low_freq_factor"), m);
        m = errorOf("{" + base + ", \"num_attention_heads\": 4, \"eos_token_id\": 100}");
        assertTrue(m.contains("eos_token_id 100"), m);
        m = errorOf("{" + base + ", \"num_attention_heads\": 4, \"model_type\": \"gpt2\"}");
        assertTrue(m.contains("model_type"), m);
        m = errorOf("{\"hidden_size\": -64, \"intermediate_size\": 128, \"num_hidden_layers\": 2, \"vocab_size\": 100, \"num_attention_heads\": 4}");
        assertTrue(m.contains("hidden_size"), m);
        m = errorOf("{" + base + ", \"num_attention_heads\": 4, \"rms_norm_eps\": 0}");
        assertTrue(m.contains("rms_norm_eps"), m);
        m = errorOf("{\"hidden_size\": 65536, \"intermediate_size\": 1000000, \"num_hidden_layers\": 100000, \"vocab_size\": 100, \"num_attention_heads\": 4}");
        assertTrue(m.contains("absurd"), m);
        Exception e = assertThrows(java.nio.file.NoSuchFileException.class, () -> LlamaConfig.load(Path.of("/nonexistent/config.json")));
        assertTrue(e.getMessage().contains("/nonexistent/config.json"));
    }
}
