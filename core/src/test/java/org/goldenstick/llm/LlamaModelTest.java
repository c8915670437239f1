package org.goldenstick.llm;

import org.goldenstick.tensor.RopeScaling;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.goldenstick.GradCheck;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.GradMode;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class LlamaModelTest {

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("gqa-llama3", TestModels.gqaLlama3(), true),
                Arguments.of("gqa-llama3-scalar", TestModels.gqaLlama3(), false),
                Arguments.of("tied-linear", TestModels.tiedLinear(), true),
                Arguments.of("tied-linear-scalar", TestModels.tiedLinear(), false),
                Arguments.of("no-scaling", TestModels.gqaLlama3().withRopeScaling(null), true));
    }

    /** Max |a - ref| relative to the largest |ref|. */
    static double relErr(float[] a, double[][] ref) {
        double worst = 0, scale = 1e-9;
        int v = ref[0].length;
        for (int i = 0; i < ref.length; i++)
            for (int j = 0; j < v; j++) {
                worst = Math.max(worst, Math.abs(a[i * v + j] - ref[i][j]));
                scale = Math.max(scale, Math.abs(ref[i][j]));
            }
        return worst / scale;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void inferenceAndTrainingPathsMatchFloat64Reference(String name, LlamaConfig c, boolean vector) {
        boolean was = Kernels.useVector(vector);
        try {
            LlamaModel m = TestModels.random(c, 7);
            int[] ids = TestModels.ids(c, 40, 3);
            double[][] ref = LlamaReference.logits(c, m.stateDict(), ids);

            float[] inf = m.newSession(48).forward(ids, true).data();
            assertTrue(relErr(inf, ref) < 2e-5, name + ": inference vs float64 reference, rel err " + relErr(inf, ref));

            Tensor train = m.logits(ids, 1, ids.length);
            assertArrayEquals(new int[] {1, ids.length, c.vocabSize()}, train.shape());
            assertTrue(relErr(train.data(), ref) < 2e-5, name + ": training path vs reference, rel err " + relErr(train.data(), ref));
            // The two engines compute the same function: only float rounding differs.
            float[] t = train.data();
            double maxAbs = 0, diff = 0;
            for (int i = 0; i < t.length; i++) {
                diff = Math.max(diff, Math.abs(t[i] - inf[i]));
                maxAbs = Math.max(maxAbs, Math.abs(t[i]));
            }
            assertTrue(diff <= 1e-5 * maxAbs, name + ": training vs inference logits differ by " + diff);
        } finally {
            Kernels.useVector(was);
        }
    }

    @Test
    void referenceIsSensitiveToRopeScaling() {
        // Guards the test itself: the llama3 config must actually exercise scaled frequencies.
        LlamaConfig c = TestModels.gqaLlama3();
        LlamaModel m = TestModels.random(c, 7);
        int[] ids = TestModels.ids(c, 40, 3);
        float[] scaled = m.newSession(48).forward(ids, true).data();
        LlamaModel plain = new LlamaModel(c.withRopeScaling(null), new java.util.Random(0));
        plain.loadStateDict(m.stateDict(), true);
        double[][] ref = LlamaReference.logits(c.withRopeScaling(null), plain.stateDict(), ids);
        assertTrue(relErr(scaled, ref) > 1e-3, "rope scaling changed nothing: " + relErr(scaled, ref));
        double[] inv = c.ropeTable(4).invFreq();
        double[] expect = LlamaReference.invFreq(c);
        for (int i = 0; i < inv.length; i++) assertEquals(expect[i], inv[i], 1e-15 * Math.abs(expect[i]) + 1e-18);
    }

    @Test
    void batchedTrainingForwardMatchesSingleSequences() {
        LlamaConfig c = TestModels.gqaLlama3();
        LlamaModel m = TestModels.random(c, 11);
        int[] a = TestModels.ids(c, 9, 1), b = TestModels.ids(c, 9, 2);
        int[] both = new int[18];
        System.arraycopy(a, 0, both, 0, 9);
        System.arraycopy(b, 0, both, 9, 9);
        float[] batched = m.logits(both, 2, 9).data();
        float[] la = m.logits(a, 1, 9).data(), lb = m.logits(b, 1, 9).data();
        int n = 9 * c.vocabSize();
        for (int i = 0; i < n; i++) {
            assertEquals(la[i], batched[i], 1e-5 * (1 + Math.abs(la[i])));
            assertEquals(lb[i], batched[n + i], 1e-5 * (1 + Math.abs(lb[i])));
        }
    }

    @ParameterizedTest(name = "vector={0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
    void prefillAndIncrementalDecodeAgree(boolean vector) {
        boolean was = Kernels.useVector(vector);
        try {
            LlamaConfig c = TestModels.gqaLlama3();
            LlamaModel m = TestModels.random(c, 5);
            int[] ids = TestModels.ids(c, 30, 9);
            int v = c.vocabSize();
            float[] all = m.newSession(30).forward(ids, true).data();

            LlamaSession s = m.newSession(30);
            for (int i = 0; i < ids.length; i++) {
                float[] step = s.decode(ids[i]).data();
                for (int j = 0; j < v; j++) assertEquals(all[i * v + j], step[j], 2e-5 * (1 + Math.abs(all[i * v + j])), "token " + i);
            }
            assertEquals(30, s.position());

            // Prefill a prefix, then decode the rest.
            LlamaSession s2 = m.newSession(30);
            float[] last = s2.prefill(java.util.Arrays.copyOf(ids, 17)).data();
            for (int j = 0; j < v; j++) assertEquals(all[16 * v + j], last[j], 2e-5 * (1 + Math.abs(all[16 * v + j])));
            float[] rest = s2.forward(java.util.Arrays.copyOfRange(ids, 17, 30), true).data();
            for (int j = 0; j < 13 * v; j++) assertEquals(all[17 * v + j], rest[j], 2e-5 * (1 + Math.abs(all[17 * v + j])));

            assertThrows(IllegalStateException.class, () -> s2.decode(1), "the cache is full");

            // A short multi-token step (the loop attention path with several queries) after a GEMM-path prefill.
            LlamaSession s3 = m.newSession(30);
            s3.prefill(java.util.Arrays.copyOf(ids, 10));
            float[] three = s3.forward(java.util.Arrays.copyOfRange(ids, 10, 13), true).data();
            for (int j = 0; j < 3 * v; j++) assertEquals(all[10 * v + j], three[j], 2e-5 * (1 + Math.abs(all[10 * v + j])));
        } finally {
            Kernels.useVector(was);
        }
    }

    @Test
    void parameterNamesFollowHuggingFace() {
        LlamaModel untied = new LlamaModel(TestModels.gqaLlama3(), new java.util.Random(0));
        Map<String, Tensor> sd = untied.stateDict();
        assertArrayEquals(new int[] {37, 16}, sd.get("model.embed_tokens.weight").shape());
        assertArrayEquals(new int[] {32, 16}, sd.get("model.layers.1.self_attn.q_proj.weight").shape());
        assertArrayEquals(new int[] {16, 16}, sd.get("model.layers.1.self_attn.k_proj.weight").shape());
        assertArrayEquals(new int[] {16, 32}, sd.get("model.layers.0.self_attn.o_proj.weight").shape());
        assertArrayEquals(new int[] {16, 40}, sd.get("model.layers.0.mlp.down_proj.weight").shape());
        assertArrayEquals(new int[] {16}, sd.get("model.layers.0.post_attention_layernorm.weight").shape());
        assertArrayEquals(new int[] {16}, sd.get("model.norm.weight").shape());
        assertArrayEquals(new int[] {37, 16}, sd.get("lm_head.weight").shape());
        assertEquals(2 + 2 * 9 + 1 /* embed, lm_head, 9 per layer, norm */, sd.size());
        assertEquals(untied.config().parameterCount(), untied.parameterCount());
        assertTrue(untied.module("model.layers.0.mlp.gate_proj") instanceof Linear);

        LlamaModel tied = new LlamaModel(TestModels.tiedLinear(), new java.util.Random(0));
        assertNull(tied.lmHead());
        assertFalse(tied.stateDict().containsKey("lm_head.weight"));
        assertEquals(tied.config().parameterCount(), tied.parameterCount());
    }

    /** A stand-in projection with the same contract, as PTQ installs: counts calls, optionally scales. */
    static final class Wrapped extends Module {
        final Module inner;
        final AtomicInteger calls = new AtomicInteger();
        final float scale;

        Wrapped(Module inner, float scale) {
            this.inner = inner;
            this.scale = scale;
        }

        @Override
        public Tensor forward(Tensor x) {
            calls.incrementAndGet();
            return inner.forward(x).mul(scale);
        }
    }

    @Test
    void replacedProjectionsAreUsedByBothPaths() {
        LlamaConfig c = TestModels.gqaLlama3();
        LlamaModel m = TestModels.random(c, 3);
        int[] ids = TestModels.ids(c, 6, 4);
        float[] before = m.newSession(6).forward(ids, true).data();
        Map<String, Tensor> weights = new java.util.LinkedHashMap<>(m.stateDict());
        String[] paths = {"model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.k_proj", "model.layers.0.self_attn.v_proj",
                "model.layers.1.self_attn.o_proj", "model.layers.1.mlp.gate_proj", "model.layers.1.mlp.up_proj", "model.layers.1.mlp.down_proj", "lm_head"};
        Wrapped[] w = new Wrapped[paths.length];
        for (int i = 0; i < paths.length; i++) m.replaceChild(paths[i], w[i] = new Wrapped(m.module(paths[i]), 1f));
        float[] after = m.newSession(6).forward(ids, true).data();
        assertArrayEquals(before, after, 0f);
        m.logits(ids, 1, 6);
        for (Wrapped x : w) assertEquals(2, x.calls.get(), "each replacement is called once per path");

        // A replacement that changes the function changes the output (it is not bypassed).
        m.replaceChild("model.layers.1.mlp.down_proj", new Wrapped(w[6].inner, 0f));
        float[] cut = m.newSession(6).forward(ids, true).data();
        Tensor down = weights.get("model.layers.1.mlp.down_proj.weight");
        weights.put("model.layers.1.mlp.down_proj.weight", Tensor.zeros(down.shape()));
        double[][] ref = LlamaReference.logits(c, weights, ids);
        assertTrue(relErr(cut, ref) < 2e-5);
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        LlamaConfig c = new LlamaConfig(8, 12, 1, 2, 1, 4, 1e-5, 100.0, new RopeScaling.Llama3(4.0, 1.0, 4.0, 8), 11, 16, false, -1,
                new int[0], "float32", java.util.List.of("LlamaForCausalLM"), Map.of());
        LlamaModel m = TestModels.random(c, 21);
        int[] ids = {3, 7, 1, 9, 4};
        Map<String, Tensor> p = m.namedParameters();
        Tensor[] checked = {p.get("model.layers.0.self_attn.q_proj.weight"), p.get("model.layers.0.self_attn.k_proj.weight"),
                p.get("model.layers.0.self_attn.v_proj.weight"), p.get("model.layers.0.input_layernorm.weight"),
                p.get("model.layers.0.mlp.gate_proj.weight"), p.get("model.norm.weight"), p.get("model.embed_tokens.weight"), p.get("lm_head.weight")};
        GradCheck.check("llama logits", 1e-2, 2e-2, in -> m.logits(ids, 1, ids.length), checked);
        // The loss helper too (cross-entropy over shifted targets).
        GradCheck.check("llama loss", 1e-2, 2e-2, in -> m.loss(ids, 1, ids.length), checked[0], checked[4], checked[7]);
    }

    @Test
    void lossIsMeanNextTokenNll() {
        LlamaConfig c = TestModels.tiedLinear();
        LlamaModel m = TestModels.random(c, 2);
        int[] ids = TestModels.ids(c, 12, 8);
        double[][] ref = LlamaReference.logits(c, m.stateDict(), ids);
        double nll = 0;
        for (int t = 0; t < 11; t++) {
            double mx = Double.NEGATIVE_INFINITY, z = 0;
            for (double v : ref[t]) mx = Math.max(mx, v);
            for (double v : ref[t]) z += Math.exp(v - mx);
            nll += -(ref[t][ids[t + 1]] - mx - Math.log(z));
        }
        float loss;
        try (var ignored = GradMode.off()) {
            loss = m.loss(ids, 1, 12).item();
        }
        assertEquals(nll / 11, loss, 1e-4 * nll / 11);
    }

    @Test
    void greedyGenerationFollowsArgmaxOfTheReference() {
        LlamaConfig c = TestModels.gqaLlama3().withSpecialTokens(1); // no EOS: run the full length
        LlamaModel m = TestModels.random(c, 13);
        int[] prompt = {1, 5, 9};
        int[] out = m.generate(prompt, 8, Sampler.greedy());
        assertEquals(8, out.length);
        int[] seq = prompt.clone();
        for (int i = 0; i < 8; i++) {
            double[][] ref = LlamaReference.logits(c, m.stateDict(), seq);
            double[] last = ref[seq.length - 1];
            int best = 0;
            for (int j = 1; j < last.length; j++) if (last[j] > last[best]) best = j;
            assertEquals(best, out[i], "greedy token " + i);
            seq = java.util.Arrays.copyOf(seq, seq.length + 1);
            seq[seq.length - 1] = best;
        }
        // Seeded sampling is reproducible; generation stops at EOS.
        assertArrayEquals(m.generate(prompt, 8, Sampler.of(1.0, 0.9, 5)), m.generate(prompt, 8, Sampler.of(1.0, 0.9, 5)));
        LlamaConfig withEos = c.withSpecialTokens(1, out[2]);
        LlamaModel m2 = new LlamaModel(withEos, new java.util.Random(0));
        m2.loadStateDict(m.stateDict(), true);
        int[] stopped = m2.generate(prompt, 8, Sampler.greedy());
        assertArrayEquals(java.util.Arrays.copyOf(out, stopped.length), stopped);
        assertTrue(stopped.length <= 3 && withEos.isEos(stopped[stopped.length - 1]));
    }
}
