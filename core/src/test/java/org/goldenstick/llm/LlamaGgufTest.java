package org.goldenstick.llm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.goldenstick.formats.gguf.GgmlBlocks;
import org.goldenstick.formats.gguf.GgmlType;
import org.goldenstick.formats.gguf.GgufFile;
import org.goldenstick.formats.gguf.GgufFormatException;
import org.goldenstick.formats.gguf.GgufTensor;
import org.goldenstick.formats.gguf.GgufWriter;
import org.goldenstick.llm.tokenizer.BpeTrainer;
import org.goldenstick.llm.tokenizer.Tokenizer;
import org.goldenstick.llm.tokenizer.Tokenizers;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** GGUF export and import of a tiny random GQA Llama: our reader reads back our writer, in every supported type. */
class LlamaGgufTest {
    @TempDir
    static Path tmp;
    static Path dir;
    static LlamaModel model;
    static String text;

    @BeforeAll
    static void makeModel() throws Exception {
        StringBuilder sb = new StringBuilder();
        String[] words = {"the", "whale", "ship", "sea", "captain", "of", "and", "a", "white", "ocean"};
        java.util.Random rng = new java.util.Random(5);
        for (int i = 0; i < 300; i++) sb.append(words[rng.nextInt(words.length)]).append(i % 7 == 6 ? ".\n" : " ");
        text = sb.toString();
        BpeTrainer.Result vocab = BpeTrainer.train(List.of(text), new BpeTrainer.Options(280, 2, List.of("<s>", "</s>")));
        dir = Files.createDirectories(tmp.resolve("tiny"));
        vocab.write(dir.resolve("tokenizer.json"));
        // GQA (4 query heads, 2 kv heads), head_dim 16, rows of 64 and 128 (Q4_K/Q6_K fall back below 256).
        LlamaConfig c = new LlamaConfig(64, 128, 2, 4, 2, 16, 1e-5, 10000.0, null, vocab.tokens().size() + 3, 64, false, 0, new int[] {1},
                "float32", List.of("LlamaForCausalLM"), Map.of());
        model = LlamaModel.withRandomWeights(c, 11);
    }

    @Test
    void openedFloatGgufServesItsWeightsFromTheMappingWithTheSameLogits() throws Exception {
        int[] ids = {1, 5, 9, 2, 7, 3, 11, 4, 6, 8, 10, 12};
        float[] want = model.newSession(ids.length).forward(ids, true).data();
        for (GgmlType type : new GgmlType[] {GgmlType.F32, GgmlType.F16, GgmlType.BF16}) {
            Path f = tmp.resolve("mapped-" + type + ".gguf");
            LlamaGguf.export(model, dir, type, f);
            try (LlamaGguf.MappedModel mm = LlamaGguf.open(f)) {
                LlamaModel m = mm.model();
                int views = 0;
                for (var mod : m.namedModules().values()) {
                    assertFalse(mod instanceof org.goldenstick.nn.Linear, type + ": " + mod.describe());
                    if (mod instanceof MappedLinear ml && org.goldenstick.tensor.kernel.WeightMemory.isFileView(ml.weights().data())) views++;
                }
                assertEquals(2 * 7 + 1, views, type + ": projections read in place");
                assertTrue(org.goldenstick.tensor.kernel.WeightMemory.isFileView(m.transformer().embedTokens().stored().data()));
                float[] got = m.newSession(ids.length).forward(ids, true).data();
                double tol = type == GgmlType.F32 ? 1e-4 : 0.05; // 16-bit weights round each weight
                for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], tol * (1 + Math.abs(want[i])), type + " logit " + i);
                float[] heap = LlamaGguf.load(f).newSession(ids.length).forward(ids, true).data();
                for (int i = 0; i < want.length; i++) assertEquals(heap[i], got[i], 1e-4 * (1 + Math.abs(heap[i])), type + " mapped vs dequantized logit " + i);
            }
        }
    }

    @Test
    void f32RoundTripIsExactAndConfigSurvives() throws Exception {
        Path f = tmp.resolve("f32.gguf");
        LlamaGguf.export(model, dir, GgmlType.F32, f);
        LlamaModel back = LlamaGguf.load(f);
        LlamaConfig a = model.config(), b = back.config();
        assertEquals(a.hiddenSize(), b.hiddenSize());
        assertEquals(a.numKeyValueHeads(), b.numKeyValueHeads());
        assertEquals(a.headDim(), b.headDim());
        assertEquals(a.rmsNormEps(), b.rmsNormEps());
        assertEquals(a.vocabSize(), b.vocabSize());
        assertEquals(a.tieWordEmbeddings(), b.tieWordEmbeddings());
        assertEquals(a.bosTokenId(), b.bosTokenId());
        for (var e : model.stateDict().entrySet()) {
            assertArrayEquals(e.getValue().data(), back.stateDict().get(e.getKey()).data(), e.getKey());
        }
    }

    @Test
    void qkRowsAreInterleavedSoGgmlRopeEqualsHuggingFaceRope() throws Exception {
        Path f = tmp.resolve("perm.gguf");
        LlamaGguf.export(model, dir, GgmlType.F32, f);
        LlamaConfig c = model.config();
        int hd = c.headDim(), cols = c.hiddenSize();
        float[] hfK = model.stateDict().get("model.layers.1.self_attn.k_proj.weight").data();
        try (GgufFile g = GgufFile.open(f)) {
            float[] gK = g.tensor("blk.1.attn_k.weight").toFloatArray();
            double[] xin = new double[cols];
            java.util.Random r = new java.util.Random(3);
            for (int i = 0; i < cols; i++) xin[i] = r.nextGaussian();
            int pos = 5;
            for (int h = 0; h < c.numKeyValueHeads(); h++) {
                double[] kh = new double[hd], kg = new double[hd];
                for (int i = 0; i < hd; i++) {
                    for (int j = 0; j < cols; j++) {
                        kh[i] += hfK[(h * hd + i) * cols + j] * xin[j];
                        kg[i] += gK[(h * hd + i) * cols + j] * xin[j];
                    }
                }
                // HF rotate_half: pairs (i, i + hd/2); ggml's normal rope: pairs (2i, 2i+1); same frequency i.
                for (int i = 0; i < hd / 2; i++) {
                    double th = pos * Math.pow(c.ropeTheta(), -2.0 * i / hd), cs = Math.cos(th), sn = Math.sin(th);
                    double hx = kh[i] * cs - kh[i + hd / 2] * sn, hy = kh[i + hd / 2] * cs + kh[i] * sn;
                    double gx = kg[2 * i] * cs - kg[2 * i + 1] * sn, gy = kg[2 * i + 1] * cs + kg[2 * i] * sn;
                    assertEquals(hx, gx, 1e-9, "head " + h + " pair " + i + " x");
                    assertEquals(hy, gy, 1e-9, "head " + h + " pair " + i + " y");
                }
            }
        }
    }

    @Test
    void everyTypeStoresDecodableBlocksOfTheWeights() throws Exception {
        for (GgmlType t : LlamaGguf.SUPPORTED_TYPES) {
            Path f = tmp.resolve(t.name().toLowerCase() + ".gguf");
            LlamaGguf.ExportReport r = LlamaGguf.export(model, dir, t, f);
            LlamaModel back = LlamaGguf.load(f);
            try (GgufFile g = GgufFile.open(f)) {
                for (var e : model.stateDict().entrySet()) {
                    String name = LlamaGguf.ggufName(e.getKey());
                    GgufTensor gt = g.tensor(name);
                    int[] shape = e.getValue().shape();
                    assertEquals(LlamaGguf.storedType(t, shape.length, shape[shape.length - 1]), gt.type(), name);
                    assertEquals(r.types().get(name), gt.type(), name);
                    // The loaded weights are the stored blocks decoded (in HF row order), and close to the originals.
                    float[] orig = e.getValue().data(), loaded = back.stateDict().get(e.getKey()).data();
                    double num = 0, den = 0;
                    for (int i = 0; i < orig.length; i++) {
                        num += (orig[i] - loaded[i]) * (double) (orig[i] - loaded[i]);
                        den += orig[i] * (double) orig[i];
                    }
                    double rel = Math.sqrt(num / den);
                    double bound = switch (gt.type()) {
                        case F32 -> 0;
                        case F16, BF16 -> 4e-3;
                        case Q8_0 -> 1e-2;
                        case Q6_K -> 4e-2;
                        default -> 0.2;
                    };
                    assertTrue(rel <= bound, t + " " + name + ": relative error " + rel);
                    if (!e.getKey().contains("q_proj") && !e.getKey().contains("k_proj")) {
                        float[] dec = new float[orig.length];
                        GgmlBlocks.decode(gt.type(), gt.raw(), 0, dec, 0, dec.length);
                        assertArrayEquals(dec, loaded, name);
                    }
                }
                assertEquals("llama", g.getString("general.architecture"));
            }
        }
    }

    @Test
    void vocabularyInTheFileTokenizesLikeTokenizerJson() throws Exception {
        Path f = tmp.resolve("vocab.gguf");
        LlamaGguf.export(model, dir, GgmlType.Q8_0, f);
        Tokenizer hf = Tokenizers.load(dir.resolve("tokenizer.json")), gg = Tokenizers.load(f);
        assertArrayEquals(hf.encode(text, true), gg.encode(text, true));
        try (GgufFile g = GgufFile.open(f)) {
            assertEquals("gpt2", g.getString("tokenizer.ggml.model"));
            assertEquals("gpt-2", g.getString("tokenizer.ggml.pre"));
            assertEquals(model.config().vocabSize(), g.getArray("tokenizer.ggml.tokens").length(), "padded to vocab_size");
            assertEquals(5, g.getArray("tokenizer.ggml.token_type").ints()[model.config().vocabSize() - 1], "padding rows are UNUSED");
            assertEquals(3, g.getArray("tokenizer.ggml.token_type").ints()[0], "<s> is CONTROL");
            assertTrue(g.getBool("tokenizer.ggml.add_bos_token", false));
        }
    }

    @Test
    void toHfFolderWritesTheWeightsConfigAndAVocabularyThatTokenizesAlike() throws Exception {
        Path f = tmp.resolve("to-hf-f32.gguf");
        LlamaGguf.export(model, dir, GgmlType.F32, f);
        Path hf = tmp.resolve("from-gguf-f32");
        LlamaGguf.toHfFolder(f, hf);
        LlamaModel back = HfCheckpoint.load(hf);
        assertEquals(model.config().numKeyValueHeads(), back.config().numKeyValueHeads());
        assertEquals(model.config().tieWordEmbeddings(), back.config().tieWordEmbeddings());
        assertEquals("float32", back.config().torchDtype());
        for (var e : model.stateDict().entrySet()) assertArrayEquals(e.getValue().data(), back.stateDict().get(e.getKey()).data(), e.getKey());
        Tokenizer orig = Tokenizers.load(dir), fromGguf = Tokenizers.load(hf);
        assertArrayEquals(orig.encode(text, true), fromGguf.encode(text, true), "tokenizer.json written from the GGUF vocabulary");
        assertArrayEquals(orig.encode("the whale, sails! 42 times\n\tunknown-words ünïcode", false), fromGguf.encode("the whale, sails! 42 times\n\tunknown-words ünïcode", false));

        // quantized and half types: the dequantized weights, in the narrowest dtype that holds them exactly
        for (GgmlType t : List.of(GgmlType.Q8_0, GgmlType.F16)) {
            Path q = tmp.resolve("to-hf-" + t + ".gguf");
            LlamaGguf.export(model, dir, t, q);
            Path qhf = tmp.resolve("from-gguf-" + t);
            LlamaGguf.toHfFolder(q, qhf);
            LlamaModel deq = LlamaGguf.load(q), read = HfCheckpoint.load(qhf);
            assertEquals(t == GgmlType.F16 ? "float16" : "float32", read.config().torchDtype(), t.toString());
            for (var e : deq.stateDict().entrySet()) assertArrayEquals(e.getValue().data(), read.stateDict().get(e.getKey()).data(), t + " " + e.getKey());
        }
        assertThrows(java.nio.file.FileAlreadyExistsException.class, () -> LlamaGguf.toHfFolder(f, hf));
    }

    @Test
    void unsupportedTypeOrArchitectureIsNamed() throws Exception {
        Path f = tmp.resolve("base.gguf");
        LlamaGguf.export(model, dir, GgmlType.F32, f);
        // Same file with one tensor re-typed as Q5_K, and one with another architecture.
        GgufWriter q5 = new GgufWriter(), arch = new GgufWriter();
        try (GgufFile g = GgufFile.open(f)) {
            for (var e : g.metadata().entrySet()) {
                q5.put(e.getKey(), g.type(e.getKey()), e.getValue());
                arch.put(e.getKey(), g.type(e.getKey()), e.getKey().equals("general.architecture") ? "falcon" : e.getValue());
            }
            for (GgufTensor t : g.tensors().values()) {
                byte[] b = t.raw().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                arch.addRawTensor(t.name(), t.type(), t.dims(), b);
                if (t.name().equals("blk.0.ffn_up.weight")) q5.addRawTensor(t.name(), GgmlType.Q5_K, new long[] {256, t.numel() / 256}, new byte[(int) (t.numel() / 256 * 176)]);
                else q5.addRawTensor(t.name(), t.type(), t.dims(), b);
            }
        }
        Path fq = tmp.resolve("q5.gguf"), fa = tmp.resolve("falcon.gguf");
        q5.write(fq);
        arch.write(fa);
        var e1 = assertThrows(GgufFormatException.class, () -> LlamaGguf.load(fq));
        assertTrue(e1.getMessage().contains("Q5_K") && e1.getMessage().contains("blk.0.ffn_up.weight"), e1.getMessage());
        var e2 = assertThrows(GgufFormatException.class, () -> LlamaGguf.load(fa));
        assertTrue(e2.getMessage().contains("'falcon'") && e2.getMessage().contains(fa.toString()), e2.getMessage());
    }

    @Test
    void exportsAreAtomicAndRejectModelsWithoutTokenizer() throws Exception {
        Path empty = Files.createDirectories(tmp.resolve("notok"));
        Path f = tmp.resolve("never.gguf");
        assertThrows(java.nio.file.NoSuchFileException.class, () -> LlamaGguf.export(model, empty, GgmlType.F32, f));
        assertTrue(!Files.exists(f), "nothing written");
        try (var s = Files.list(tmp)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "no temp file left");
        }
    }
}
