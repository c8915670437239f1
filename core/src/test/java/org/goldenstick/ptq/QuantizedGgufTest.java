package org.goldenstick.ptq;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.goldenstick.formats.gguf.GgmlBlocks;
import org.goldenstick.formats.gguf.GgmlType;
import org.goldenstick.formats.gguf.GgufFile;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.llm.HfCheckpoint;
import org.goldenstick.llm.LlamaConfig;
import org.goldenstick.llm.LlamaGguf;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.llm.tokenizer.BpeTrainer;
import org.goldenstick.llm.tokenizer.Tokenizer;
import org.goldenstick.llm.tokenizer.Tokenizers;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.kernel.PackedIntWeights;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code export --from-quantized}: GPTQ/AWQ/RTN results quantized in ggml's block layout ({@link WeightScheme#ggml})
 * land in Q4_0/Q8_0 blocks code for code, so reading the GGUF back gives exactly the quantized folder's dequantized
 * weights; and the ggml scale rule picks the scale ggml's reference quantizer picks.
 */
class QuantizedGgufTest {
    @TempDir
    static Path tmp;
    static Path dir, calib;
    static Tokenizer tok;

    @BeforeAll
    static void makeModel() throws Exception {
        StringBuilder sb = new StringBuilder();
        String[] words = {"the", "whale", "ship", "sea", "captain", "of", "and", "a", "white", "ocean", "to", "sail", "storm", "deck"};
        Random rng = new Random(7);
        for (int i = 0; i < 3000; i++) sb.append(words[rng.nextInt(words.length)]).append(i % 9 == 8 ? ".\n" : " ");
        BpeTrainer.Result vocab = BpeTrainer.train(List.of(sb.toString()), new BpeTrainer.Options(300, 2, List.of("<s>", "</s>")));
        Path src = Files.createDirectories(tmp.resolve("src"));
        vocab.write(src.resolve("tokenizer.json"));
        calib = src.resolve("calib.txt");
        Files.writeString(calib, sb.toString());
        // GQA (4 query heads, 2 kv heads), untied output, every linear's inputs a multiple of 32
        LlamaConfig c = new LlamaConfig(64, 128, 2, 4, 2, 16, 1e-5, 10000.0, null, vocab.tokens().size(), 128, false, 0, new int[] {1}, "float32",
                List.of("LlamaForCausalLM"), Map.of());
        dir = tmp.resolve("tiny");
        HfCheckpoint.save(LlamaModel.withRandomWeights(c, 5), dir, DType.F32, src, false);
        tok = Tokenizers.load(dir);
    }

    private static Path quantize(String name, WeightScheme ws, WeightMethod method) throws Exception {
        Path out = tmp.resolve(name);
        Quantizer.quantizeWeights(dir, out, PTQConfig.rtn(ws), method, null, method.needsCalibration() ? calib : null, 32, 64, t -> tok.encode(t, true));
        return out;
    }

    /** Every quantized layer of {@code qdir} reads back from the GGUF as exactly its dequantized weights; float tensors too. */
    private static void assertExactRoundTrip(Path qdir, Path gguf, GgmlType expected) throws Exception {
        LlamaModel q = QuantizedCheckpoints.load(qdir);
        LlamaModel back = LlamaGguf.load(gguf);
        int layers = 0;
        for (var e : q.namedModules().entrySet()) {
            Module mod = e.getValue();
            float[] got = back.stateDict().get(e.getKey() + ".weight") == null ? null : back.stateDict().get(e.getKey() + ".weight").data();
            if (mod instanceof WNA16Linear w) {
                assertArrayEquals(w.weights().dequantize(), got, e.getKey() + ": the GGUF holds our codes and scales");
                layers++;
            }
        }
        assertEquals(14, layers, "2 decoder layers x 7 projections (lm_head stays float)");
        for (var e : q.stateDict().entrySet()) assertArrayEquals(e.getValue().data(), back.stateDict().get(e.getKey()).data(), e.getKey() + " (kept float, written F32)");
        try (GgufFile g = GgufFile.open(gguf)) {
            assertEquals(expected, g.tensor("blk.1.ffn_down.weight").type());
            assertEquals(expected, g.tensor("blk.0.attn_k.weight").type());
            assertEquals(GgmlType.F32, g.tensor("output.weight").type());
        }
    }

    @Test
    void gptqInQ4_0LayoutRoundTripsExactly() throws Exception {
        Path qdir = quantize("gptq-q4_0", WeightScheme.ggml(4), WeightMethod.Gptq.defaults());
        Path f = tmp.resolve("gptq-q4_0.gguf");
        QuantizedGguf.Report r = QuantizedGguf.export(qdir, null, GgmlType.F32, f);
        assertEquals(14, r.copied().size());
        assertTrue(r.copied().values().stream().allMatch(t -> t == GgmlType.Q4_0) && r.reencoded().isEmpty(), r.toString());
        assertExactRoundTrip(qdir, f, GgmlType.Q4_0);
        // GPTQ moved codes away from round-to-nearest (else the test would not tell GPTQ's decisions from ggml's)
        LlamaModel fp = HfCheckpoint.load(dir);
        float[] w = fp.stateDict().get("model.layers.1.mlp.down_proj.weight").data();
        float[] rtn = new float[w.length];
        GgmlBlocks.decode(GgmlType.Q4_0, MemorySegment.ofArray(GgmlBlocks.encode(GgmlType.Q4_0, w)), 0, rtn, 0, w.length);
        float[] ours = LlamaGguf.load(f).stateDict().get("model.layers.1.mlp.down_proj.weight").data();
        int differ = 0;
        for (int i = 0; i < w.length; i++) if (ours[i] != rtn[i]) differ++;
        assertTrue(differ > w.length / 20, "GPTQ codes differ from llama-quantize's in " + differ + " of " + w.length);
    }

    @Test
    void awqInQ8_0LayoutAndModelFreeRtnRoundTripExactly() throws Exception {
        Path awq = quantize("awq-q8_0", WeightScheme.ggml(8), new WeightMethod.Awq(5, true, 0.5, Awq.DuoScaling.BOTH, true, new WeightMethod.Rtn()));
        Path f = tmp.resolve("awq-q8_0.gguf");
        assertEquals(14, QuantizedGguf.export(awq, null, GgmlType.F32, f).copied().size());
        assertExactRoundTrip(awq, f, GgmlType.Q8_0);

        Path rtn = quantize("rtn-q4_0", WeightScheme.ggml(4), new WeightMethod.Rtn()); // the model-free checkpoint path
        Path g = tmp.resolve("rtn-q4_0.gguf");
        QuantizedGguf.export(rtn, null, GgmlType.F32, g);
        assertExactRoundTrip(rtn, g, GgmlType.Q4_0);
    }

    @Test
    void ggmlRuleTakesGgmlsScaleAndTheNearestCodeOfItsGrid() {
        Random rng = new Random(3);
        int rows = 64, cols = 256, groups = cols / 32;
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) w[i] = (float) (rng.nextGaussian() * 0.05 * (1 + (i % 97 == 0 ? 6 : 0)));
        for (int bits : new int[] {4, 8}) {
            GgmlType t = bits == 4 ? GgmlType.Q4_0 : GgmlType.Q8_0;
            byte[] q = new byte[w.length];
            float[] s = new float[rows * groups];
            WeightScheme.ggml(bits).quantize(w, rows, cols, DType.F32, q, s, null, "w");
            byte[] ref = GgmlBlocks.encode(t, w); // ggml's reference quantizer (llama-quantize without an imatrix)
            float[] refDeq = new float[w.length];
            GgmlBlocks.decode(t, MemorySegment.ofArray(ref), 0, refDeq, 0, w.length);
            int same = 0;
            for (int b = 0; b < s.length; b++) {
                short d = (short) ((ref[b * t.blockBytes()] & 0xFF) | (ref[b * t.blockBytes() + 1] << 8));
                assertEquals(Float.float16ToFloat(d), s[b], t + " block " + b + ": ggml's fp16 scale");
                for (int j = 0; j < 32; j++) {
                    int i = b * 32 + j;
                    float ours = q[i] * s[b];
                    assertTrue(Math.abs(ours - w[i]) <= Math.abs(refDeq[i] - w[i]), t + " value " + i + ": the nearest point of the same grid");
                    if (ours == refDeq[i]) same++;
                }
            }
            assertTrue(same > 0.99 * w.length, t + ": codes equal ggml's except where fp16 rounding moves a boundary: " + same + "/" + w.length);
            byte[] blocks = QuantizedGguf.blocks(PackedIntWeights.pack(q, rows, cols, bits, 32, s, null));
            float[] back = new float[w.length];
            GgmlBlocks.decode(t, MemorySegment.ofArray(blocks), 0, back, 0, w.length);
            for (int i = 0; i < w.length; i++) assertEquals(q[i] * s[i / 32], back[i], t + " value " + i);
        }
        assertThrows(IllegalArgumentException.class, () -> new WeightScheme(4, 64, true, WeightScheme.ScaleRule.GGML));
        assertThrows(IllegalArgumentException.class, () -> new WeightScheme(4, 32, false, WeightScheme.ScaleRule.GGML));
    }

    @Test
    void layersThatFitNoBlockAreNamedOrReencodedOnRequest() throws Exception {
        Path qdir = quantize("rtn-g32-minmax", WeightScheme.of(4, 32, true), new WeightMethod.Rtn()); // F32 scales: no fp16 block holds them
        Path f = tmp.resolve("misfit.gguf");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> QuantizedGguf.export(qdir, null, GgmlType.F16, f));
        assertTrue(e.getMessage().contains("model.layers.0.self_attn.q_proj (4 bits, groups of 32)") && e.getMessage().contains("--ggml-blocks"), e.getMessage());
        assertTrue(Files.notExists(f));
        QuantizedGguf.Report r = QuantizedGguf.export(qdir, GgmlType.Q4_0, GgmlType.F16, f);
        assertEquals(14, r.reencoded().size());
        assertTrue(r.copied().isEmpty());
        LlamaModel back = LlamaGguf.load(f);
        float[] deq = ((WNA16Linear) QuantizedCheckpoints.load(qdir).module("model.layers.0.mlp.up_proj")).weights().dequantize();
        float[] got = back.stateDict().get("model.layers.0.mlp.up_proj.weight").data();
        double err = 0, norm = 0;
        for (int i = 0; i < deq.length; i++) {
            err += (got[i] - deq[i]) * (got[i] - deq[i]);
            norm += deq[i] * deq[i];
        }
        assertTrue(err / norm < 0.02, "re-encoded Q4_0 stays close to the dequantized weights: " + err / norm);
    }
}
