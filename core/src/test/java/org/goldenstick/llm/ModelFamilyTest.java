package org.goldenstick.llm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Random;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.GradMode;
import org.goldenstick.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The per-family description and what the engine builds from it. Numerical agreement with an independent float64
 * forward of every family, through the commands, is checked by the CLI module's {@code ModelFamiliesTest}.
 */
class ModelFamilyTest {
    private static final String BASE = "\"hidden_size\": 16, \"intermediate_size\": 24, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, "
            + "\"num_key_value_heads\": 2, \"vocab_size\": 41, \"max_position_embeddings\": 64";

    static LlamaConfig config(String type, String extra) {
        return LlamaConfig.parse("{\"model_type\": \"" + type + "\", " + BASE + (extra.isEmpty() ? "" : ", " + extra) + "}", type + "/config.json");
    }

    /** One config per family exercising what differs (windows shorter than the test sequences). */
    static List<LlamaConfig> everyFamily() {
        return List.of(config("llama", "\"attention_bias\": true, \"mlp_bias\": true"),
                config("mistral", "\"sliding_window\": 5"),
                config("qwen2", "\"tie_word_embeddings\": true"),
                config("qwen3", "\"head_dim\": 6"),
                config("gemma", "\"head_dim\": 8"),
                config("phi3", "\"sliding_window\": 4"));
    }

    @Test
    void anUnknownFamilyNamesModelTypeAndTheSupportedOnes() {
        String m = assertThrows(IllegalArgumentException.class, () -> config("gpt2", "")).getMessage();
        assertTrue(m.contains("gpt2/config.json") && m.contains("model_type 'gpt2'") && m.contains("llama, mistral, qwen2, qwen3, gemma, phi3"), m);
        m = assertThrows(IllegalArgumentException.class, () -> LlamaConfig.parse("{\"architectures\": [\"GPT2LMHeadModel\"], " + BASE + "}", "c.json")).getMessage();
        assertTrue(m.contains("GPT2LMHeadModel") && m.contains("llama, mistral"), m);
        assertEquals(ModelFamily.QWEN2, LlamaConfig.parse("{\"architectures\": [\"Qwen2ForCausalLM\"], " + BASE + "}", "c.json").family());
        assertEquals(ModelFamily.LLAMA, LlamaConfig.parse("{" + BASE + "}", "c.json").family(), "a config with neither stays Llama");
    }

    @Test
    void fieldsAFamilyWouldIgnoreAreRefusedByName() {
        String[][] cases = {
                {"gemma", "\"hidden_activation\": \"relu\"", "hidden_activation 'relu'"},
                {"qwen2", "\"use_sliding_window\": true", "use_sliding_window"},
                {"phi3", "\"partial_rotary_factor\": 0.75", "partial_rotary_factor"},
                {"gemma", "\"final_logit_softcapping\": 30.0", "soft-capping"},
                {"mistral", "\"sliding_window\": 0", "sliding_window"}};
        for (String[] c : cases) {
            String m = assertThrows(IllegalArgumentException.class, () -> config(c[0], c[1])).getMessage();
            assertTrue(m.contains(c[2]) && m.contains(c[0] + "/config.json"), m);
        }
        // Qwen2 configs carry sliding_window with use_sliding_window false: not a window
        assertEquals(0, config("qwen2", "\"sliding_window\": 4, \"use_sliding_window\": false").slidingWindow());
    }

    @Test
    void configJsonRoundTripsTheFamilyAndItsDefaults() {
        for (LlamaConfig c : everyFamily()) {
            LlamaConfig back = LlamaConfig.parse(c.toJson(), "round trip");
            assertEquals(c, back);
            assertEquals(c.family(), back.family());
            assertTrue(c.toJson().contains("\"model_type\" : \"" + c.family().modelType() + "\""), c.toJson());
        }
        assertTrue(config("gemma", "").tieWordEmbeddings(), "Gemma ties the head unless config.json says otherwise");
        assertEquals("gelu_pytorch_tanh", config("gemma", "\"hidden_act\": \"gelu\"").activation(), "Gemma's activation is hidden_activation's");
        assertEquals(List.of("Phi3ForCausalLM"), config("phi3", "").architectures());
    }

    @Test
    void theModuleTreeHasExactlyTheLinearsTheDescriptionNames() {
        for (LlamaConfig c : everyFamily()) {
            LlamaModel m = new LlamaModel(c, new Random(1));
            Map<String, Module> mods = m.namedModules();
            List<String> linears = mods.entrySet().stream().filter(e -> e.getValue() instanceof Linear && e.getKey().startsWith("model.layers.0."))
                    .map(e -> e.getKey().substring("model.layers.0.".length())).sorted().toList();
            assertEquals(c.family().linearNames().stream().sorted().toList(), linears, c.family().modelType());
            for (ModelFamily.Mapping mp : c.family().mappings()) {
                assertTrue(mods.containsKey("model.layers.1." + mp.smooth()) && mods.containsKey("model.layers.1." + mp.parent()), mp.toString());
                for (String b : mp.balance()) assertTrue(mods.get("model.layers.1." + b) instanceof Linear, b);
            }
        }
        assertEquals(List.of(new ModelFamily.Mapping("input_layernorm", List.of("self_attn.qkv_proj"), "self_attn"),
                new ModelFamily.Mapping("post_attention_layernorm", List.of("mlp.gate_up_proj"), "mlp")), ModelFamily.PHI3.mappings());
        Map<String, Tensor> qwen2 = new LlamaModel(config("qwen2", ""), new Random(1)).stateDict();
        assertTrue(qwen2.containsKey("model.layers.0.self_attn.k_proj.bias") && !qwen2.containsKey("model.layers.0.self_attn.o_proj.bias"));
        assertTrue(new LlamaModel(config("qwen3", ""), new Random(1)).stateDict().containsKey("model.layers.1.self_attn.k_norm.weight"));
    }

    /** Random weights large enough that every part shapes the logits (norms around their neutral value). */
    static LlamaModel random(LlamaConfig c, long seed) {
        LlamaModel m = new LlamaModel(c, new Random(seed));
        Random rng = new Random(seed + 1);
        float neutral = c.family().gemmaNorms() ? 0f : 1f;
        for (var e : m.namedParameters().entrySet()) {
            float[] d = e.getValue().data();
            boolean norm = e.getKey().endsWith("norm.weight");
            double std = norm ? 0.3 : e.getValue().rank() == 1 ? 0.5 : e.getKey().contains("embed") ? 1.0 : 1.0 / Math.sqrt(e.getValue().dim(1));
            for (int i = 0; i < d.length; i++) d[i] = (float) ((norm ? neutral : 0) + std * rng.nextGaussian());
        }
        return m;
    }

    @Test
    void trainingPathCachedPrefillAndTokenByTokenDecodeAgreeForEveryFamily() {
        for (LlamaConfig c : everyFamily()) {
            LlamaModel m = random(c, 3);
            int t = 12;
            int[] ids = new int[t];
            Random rng = new Random(5);
            for (int i = 0; i < t; i++) ids[i] = rng.nextInt(c.vocabSize());
            float[] train;
            try (var ignored = GradMode.off()) {
                train = m.logits(ids, 1, t).data();
            }
            float[] prefill = m.newSession(t).forward(ids, true).data();
            LlamaSession s = m.newSession(t);
            s.prefill(java.util.Arrays.copyOf(ids, 3));
            for (int i = 3; i < t; i++) {
                float[] step = s.decode(ids[i]).data();
                for (int v = 0; v < c.vocabSize(); v++) assertEquals(prefill[i * c.vocabSize() + v], step[v], 2e-4 * (1 + Math.abs(step[v])), c.family().modelType() + " decode " + i);
            }
            for (int i = 0; i < train.length; i++) assertEquals(train[i], prefill[i], 2e-4 * (1 + Math.abs(train[i])), c.family().modelType() + " at " + i);
        }
    }

    @Test
    void slidingWindowChangesTheResultOnlyBeyondTheWindow() {
        LlamaConfig windowed = config("mistral", "\"sliding_window\": 5"), full = config("mistral", "");
        LlamaModel a = random(windowed, 4), b = new LlamaModel(full, new Random(0));
        b.loadStateDict(a.stateDict(), true);
        int[] ids = {3, 9, 4, 20, 7, 1, 33, 8, 2, 15};
        float[] la = a.newSession(10).forward(ids, true).data(), lb = b.newSession(10).forward(ids, true).data();
        int v = windowed.vocabSize();
        for (int i = 0; i < 5 * v; i++) assertEquals(lb[i], la[i], 1e-5, "positions inside the window see the same keys");
        double diff = 0;
        for (int i = 5 * v; i < la.length; i++) diff = Math.max(diff, Math.abs(la[i] - lb[i]));
        assertTrue(diff > 1e-2, "positions past the window must differ: " + diff);
    }

    @Test
    void gemmaNormsFoldScalesIntoOnePlusWeight() {
        RmsNorm n = new RmsNorm(6, 1e-6, 1f);
        float[] w = n.weight().data();
        for (int i = 0; i < 6; i++) w[i] = 0.1f * i - 0.2f;
        float[] x = {0.5f, -1f, 2f, 0.25f, -0.75f, 1.5f}, y = new float[6], z = new float[6];
        n.apply(x, y, 1);
        double ss = 0;
        for (float v : x) ss += v * v;
        double r = 1 / Math.sqrt(ss / 6 + 1e-6);
        for (int i = 0; i < 6; i++) assertEquals(x[i] * r * (1 + w[i]), y[i], 1e-6);
        float[] s = {2f, 0.5f, 1f, 4f, 0.25f, 3f};
        n.divideOutputs(s);
        n.apply(x, z, 1);
        for (int i = 0; i < 6; i++) assertEquals(y[i] / s[i], z[i], 1e-6);
        assertArrayEquals(y, n.forward(Tensor.of(x, 1, 6)).mul(Tensor.of(s, 6)).data(), 1e-6f, "the autograd path applies 1 + weight too");
    }

    @Test
    void ggufExportRefusesWhatLlamaCppsLlamaGraphWouldComputeDifferently() {
        for (String type : List.of("qwen2", "qwen3", "gemma", "phi3")) {
            String m = assertThrows(IllegalArgumentException.class, () -> LlamaGguf.requireLlamaArch(config(type, ""))).getMessage();
            assertTrue(m.contains("model_type '" + type + "'") && m.contains("supported: llama, mistral"), m);
        }
        String m = assertThrows(IllegalArgumentException.class, () -> LlamaGguf.requireLlamaArch(config("mistral", "\"sliding_window\": 8"))).getMessage();
        assertTrue(m.contains("sliding_window 8"), m);
        LlamaGguf.requireLlamaArch(config("mistral", "\"sliding_window\": null"));
        LlamaGguf.requireLlamaArch(config("llama", ""));
    }
}
