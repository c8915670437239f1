package org.goldenstick.ptq;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.formats.safetensors.SafetensorsFile;
import org.goldenstick.llm.HfCheckpoint;
import org.goldenstick.llm.LlamaConfig;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.llm.TokenEmbedding;
import org.goldenstick.nn.Linear;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.PackedIntWeights;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A quantized LM head ({@link PTQConfig#head()}): written as its own compressed-tensors config group, read by DEPLOY
 * onto the packed kernels, equal to a float64 reference of the quantized head, and a tied head quantized as its own
 * copy while the embedding stays float.
 */
class QuantizedHeadTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int HIDDEN = 64, VOCAB = 50, T = 12;

    @TempDir
    Path tmp;

    private Path checkpoint(String name, boolean tied) throws IOException {
        String cfg = TinyCheckpoints.configJson(HIDDEN, 128, 2, 4, 2, VOCAB, tied);
        Path dir = tmp.resolve(name);
        TinyCheckpoints.write(dir, cfg, TinyCheckpoints.randomWeights(LlamaLayout.of(LlamaConfig.parse(cfg, "t")), 11), DType.F32);
        return dir;
    }

    /** The float head's input (the final normed hidden states) as the float model computes it. */
    private static final class Capture extends Linear {
        float[] input;

        Capture(Linear head) {
            super(head.inFeatures(), head.outFeatures(), false, new Random(0));
            System.arraycopy(head.weight().data(), 0, weight().data(), 0, head.weight().numel());
        }

        @Override
        protected Tensor compute(Tensor x) {
            input = x.data().clone();
            return super.compute(x);
        }
    }

    /**
     * Only the head quantized (int8 per channel): DEPLOY's logits equal {@code h · Ŵᵀ} with {@code Ŵ} the int8 head
     * computed here in float64 from the source table (max|w|/127.5, round half away from zero), and differ from the
     * float model's by at most the quantization bound {@code Σ|h|·scale/2} — tied (a copy of the embedding table,
     * which stays float) and untied.
     */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void int8HeadEqualsAFloat64ReferenceAndStaysWithinTheQuantizationError(boolean tied) throws IOException {
        Path in = checkpoint("fp", tied), out = tmp.resolve("q");
        PTQConfig cfg = PTQConfig.rtn().withSkip(List.of("model\\.layers")).withHead(WeightScheme.int8PerChannel());
        PtqReport r = RoundToNearest.quantizeCheckpoint(in, out, cfg);
        assertEquals(1, r.layersQuantized(), "the head only");

        float[] table;
        try (SafetensorsFile src = SafetensorsFile.open(in.resolve("model.safetensors"))) {
            table = src.floats(tied ? "model.embed_tokens.weight" : "lm_head.weight");
        }
        LlamaModel deployed = QuantizedCheckpoints.load(out);
        WNA16Linear head = assertInstanceOf(WNA16Linear.class, deployed.lmHead());
        assertEquals(8, head.weights().bits());
        assertEquals("int8 per channel", QuantizedCheckpoints.scheme(out).headLabel());

        LlamaModel fp = HfCheckpoint.load(in).withUntiedHead();
        Capture capture = new Capture((Linear) fp.lmHead());
        fp.replaceChild("lm_head", capture);
        int[] ids = LlamaFixtures.randomIds(new Random(3), T, VOCAB);
        float[] floatLogits = fp.logits(ids, 1, T).data(), got = deployed.logits(ids, 1, T).data();
        float[] h = capture.input;

        // float64 reference of the int8 per-channel head
        double[] deq = new double[VOCAB * HIDDEN], scale = new double[VOCAB];
        for (int v = 0; v < VOCAB; v++) {
            double max = 0;
            for (int c = 0; c < HIDDEN; c++) max = Math.max(max, Math.abs(table[v * HIDDEN + c]));
            scale[v] = max / 127.5;
            for (int c = 0; c < HIDDEN; c++) {
                double q = table[v * HIDDEN + c] / (double) (float) scale[v];
                long code = Math.max(-128, Math.min(127, (long) (Math.signum(q) * Math.floor(Math.abs(q) + 0.5))));
                deq[v * HIDDEN + c] = code * (double) (float) scale[v];
            }
        }
        double worst = 0;
        for (int t = 0; t < T; t++) {
            for (int v = 0; v < VOCAB; v++) {
                double ref = 0, bound = 0;
                for (int c = 0; c < HIDDEN; c++) {
                    ref += h[t * HIDDEN + c] * deq[v * HIDDEN + c];
                    bound += Math.abs(h[t * HIDDEN + c]) * scale[v] / 2;
                }
                int i = t * VOCAB + v;
                assertEquals(ref, got[i], 1e-4 * (1 + Math.abs(ref)), "logit " + t + "," + v + " against the float64 quantized head");
                assertTrue(Math.abs(got[i] - floatLogits[i]) <= bound * 1.0001 + 1e-5, "logit " + t + "," + v + " within the quantization error of the float head");
                worst = Math.max(worst, Math.abs(got[i] - floatLogits[i]));
            }
        }
        assertTrue(worst > 0, "the head really is quantized");

        if (tied) {
            TokenEmbedding emb = deployed.transformer().embedTokens();
            assertArrayEquals(table, emb.stored().toFloats(), "the embedding stays float, unchanged");
        }
    }

    /**
     * W4 groups of 32 with an int8 head on a tied model: two config groups (the class {@code Linear} at 4 bits, the
     * exact name {@code lm_head} at 8), nothing ignored, {@code tie_word_embeddings} false; the embedding is copied
     * byte for byte, the source has no float head left; the streamed file deploys to the same function as the
     * in-memory pipeline ({@link LlamaModel#withUntiedHead()}, RTN, save) and both write the same config.
     */
    @Test
    void w4WithInt8HeadIsASecondConfigGroupAndATiedHeadIsWrittenUntied() throws IOException {
        Path in = checkpoint("fp", true), out = tmp.resolve("q"), saved = tmp.resolve("saved");
        PTQConfig cfg = PTQConfig.rtn(WeightScheme.of(4, 32, true)).withHead(WeightScheme.int8PerChannel());
        assertEquals(15, RoundToNearest.quantizeCheckpoint(in, out, cfg).layersQuantized(), "14 projections and the head");

        JsonNode config = JSON.readTree(out.resolve("config.json").toFile());
        assertFalse(config.get("tie_word_embeddings").asBoolean(), "the head has its own tensors now");
        JsonNode q = config.get("quantization_config");
        JsonNode g0 = q.get("config_groups").get("group_0"), g1 = q.get("config_groups").get("group_1");
        assertEquals(List.of("Linear"), JSON.convertValue(g0.get("targets"), List.class));
        assertEquals(4, g0.get("weights").get("num_bits").asInt());
        assertEquals(32, g0.get("weights").get("group_size").asInt());
        assertEquals(List.of("lm_head"), JSON.convertValue(g1.get("targets"), List.class));
        assertEquals(8, g1.get("weights").get("num_bits").asInt());
        assertEquals("channel", g1.get("weights").get("strategy").asText());
        assertTrue(g1.get("weights").get("group_size").isNull());
        assertEquals(0, q.get("ignore").size(), "every linear is quantized");
        assertEquals(QuantizedCheckpoints.UNTIED_HEAD, q.get("gstick").get("lm_head").asText());
        QuantizedCheckpoints.Scheme s = QuantizedCheckpoints.scheme(out);
        assertEquals(WeightScheme.int8PerChannel(), s.weightsFor("lm_head"));
        assertEquals(WeightScheme.of(4, 32, true), s.weightsFor("model.layers.0.mlp.up_proj"));

        try (SafetensorsFile src = SafetensorsFile.open(in.resolve("model.safetensors"));
             SafetensorsFile dst = SafetensorsFile.open(out.resolve("model.safetensors"))) {
            assertArrayEquals(new int[] {VOCAB, HIDDEN * 8 / 32}, dst.entry("lm_head.weight_packed").shape());
            assertArrayEquals(new int[] {VOCAB, 1}, dst.entry("lm_head.weight_scale").shape());
            assertFalse(dst.contains("lm_head.weight"));
            assertArrayEquals(src.floats("model.embed_tokens.weight"), dst.floats("model.embed_tokens.weight"));
            // the head's codes are the embedding table's, rounded per row
            byte[] codes = PackedIntWeights.unpackRows(dst.int32("lm_head.weight_packed"), VOCAB, HIDDEN, 8);
            float[] table = src.floats("model.embed_tokens.weight"), sc = dst.floats("lm_head.weight_scale");
            for (int i = 0; i < codes.length; i++) assertEquals(table[i], codes[i] * sc[i / HIDDEN], sc[i / HIDDEN] / 2 * 1.0001, "weight " + i);
        }

        LlamaModel deployed = QuantizedCheckpoints.load(out);
        assertInstanceOf(WNA16Linear.class, deployed.lmHead());
        double headError = LayerErrors.relativeWeightErrors(in, out).get("lm_head"); // against the tied table (quantize --report)
        assertTrue(headError > 0 && headError < 0.02, "relative error of the int8 head " + headError);
        LlamaModel inMemory = HfCheckpoint.load(in);
        RoundToNearest rtn = new RoundToNearest(cfg);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> rtn.apply(inMemory, null, List.of()));
        assertTrue(e.getMessage().contains("withUntiedHead"), e.getMessage());
        LlamaModel untied = inMemory.withUntiedHead();
        rtn.apply(untied, null, List.of());
        rtn.convert(untied);
        DeployRoundTripTest.assertSameFunction(untied, deployed, LlamaFixtures.randomIds(new Random(5), T, VOCAB));
        QuantizedCheckpoints.save(untied, cfg, PtqAlgorithm.skipped(untied, cfg), in, saved, java.util.Set.of());
        JsonNode savedConfig = JSON.readTree(saved.resolve("config.json").toFile());
        assertFalse(savedConfig.get("tie_word_embeddings").asBoolean());
        assertEquals(q.get("config_groups"), savedConfig.get("quantization_config").get("config_groups"));
        DeployRoundTripTest.assertSameFunction(untied, QuantizedCheckpoints.load(saved), LlamaFixtures.randomIds(new Random(6), T, VOCAB));
    }

    /**
     * {@code --ggml-blocks --head-bits 8}: Q4_0 projections and a Q8_0 head, so {@code export --from-quantized} copies
     * the head's codes into a Q8_0 {@code output.weight} (llama-quantize's {@code --output-tensor-type q8_0}); a tied
     * model's file gets its own output tensor beside the float embedding.
     */
    @Test
    void ggmlBlocksHeadExportsAsQ8_0Output() throws Exception {
        var vocab = org.goldenstick.llm.tokenizer.BpeTrainer.train(List.of("the whale and the sea and the ship of the captain ".repeat(20)),
                new org.goldenstick.llm.tokenizer.BpeTrainer.Options(280, 2, List.of("<s>", "</s>")));
        Path tokDir = Files.createDirectories(tmp.resolve("src"));
        vocab.write(tokDir.resolve("tokenizer.json"));
        LlamaConfig c = new LlamaConfig(HIDDEN, 128, 2, 4, 2, 16, 1e-5, 10000.0, null, vocab.tokens().size(), 128, true, 0, new int[] {1}, "float32",
                List.of("LlamaForCausalLM"), java.util.Map.of());
        Path in = tmp.resolve("fp"), out = tmp.resolve("q"), gguf = tmp.resolve("q.gguf");
        HfCheckpoint.save(LlamaModel.withRandomWeights(c, 5), in, DType.F32, tokDir, false);
        RoundToNearest.quantizeCheckpoint(in, out, PTQConfig.rtn(WeightScheme.ggml(4)).withHead(WeightScheme.ggml(8)));
        QuantizedGguf.Report r = QuantizedGguf.export(out, null, org.goldenstick.formats.gguf.GgmlType.F32, gguf);
        assertEquals(org.goldenstick.formats.gguf.GgmlType.Q8_0, r.copied().get("lm_head"));
        assertEquals(org.goldenstick.formats.gguf.GgmlType.Q4_0, r.copied().get("model.layers.1.mlp.down_proj"));
        LlamaModel back = org.goldenstick.llm.LlamaGguf.load(gguf);
        WNA16Linear head = assertInstanceOf(WNA16Linear.class, QuantizedCheckpoints.load(out).lmHead());
        assertArrayEquals(head.weights().dequantize(), back.stateDict().get("lm_head.weight").data(), "the GGUF holds the head's codes and scales");
        try (SafetensorsFile src = SafetensorsFile.open(in.resolve("model.safetensors"))) {
            assertArrayEquals(src.floats("model.embed_tokens.weight"), back.stateDict().get("model.embed_tokens.weight").data());
        }
    }

    /** The default keeps the head float and listed in {@code ignore}; the head of a W8A8 config cannot be quantized. */
    @Test
    void defaultHeadStaysFloatAndW8A8RefusesAHeadScheme() throws IOException {
        Path in = checkpoint("fp", false), out = tmp.resolve("q");
        RoundToNearest.quantizeCheckpoint(in, out, PTQConfig.rtn(WeightScheme.of(4, 32, true)));
        assertEquals("float", QuantizedCheckpoints.scheme(out).headLabel());
        assertTrue(QuantizedCheckpoints.scheme(out).ignore().contains("lm_head"));
        assertInstanceOf(org.goldenstick.llm.MappedLinear.class, QuantizedCheckpoints.load(out).lmHead());
        assertNull(PTQConfig.rtn().head());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PTQConfig.smoothQuant().withHead(WeightScheme.int8PerChannel()));
        assertTrue(e.getMessage().contains("weight-only"), e.getMessage());
    }

    /**
     * GPTQ calibrates the decoder layers; the head, outside them, is rounded to nearest — the same codes as RTN's head —
     * instead of being left float under a config that says it is quantized.
     */
    @Test
    void calibratedMethodsRoundTheHeadToNearest() throws IOException {
        Path in = checkpoint("fp", false), gptq = tmp.resolve("gptq"), rtn = tmp.resolve("rtn");
        Path calib = Files.writeString(tmp.resolve("calib.txt"), "y".repeat(400));
        NetworkHelper.TextEncoder enc = text -> {
            int[] ids = new int[text.length()];
            for (int i = 0; i < ids.length; i++) ids[i] = (i * 13 + 5) % VOCAB;
            return ids;
        };
        PTQConfig cfg = PTQConfig.rtn(WeightScheme.of(4, 32, true)).withHead(WeightScheme.int8PerChannel());
        Quantizer.quantizeWeights(in, gptq, cfg, WeightMethod.Gptq.defaults(), null, calib, 8, 48, enc);
        RoundToNearest.quantizeCheckpoint(in, rtn, cfg);
        WNA16Linear a = assertInstanceOf(WNA16Linear.class, QuantizedCheckpoints.load(gptq).lmHead());
        WNA16Linear b = assertInstanceOf(WNA16Linear.class, QuantizedCheckpoints.load(rtn).lmHead());
        assertEquals(8, a.weights().bits());
        assertArrayEquals(b.weights().dequantize(), a.weights().dequantize());
        assertEquals("int8 per channel", QuantizedCheckpoints.scheme(gptq).headLabel());
    }
}
