package org.goldenstick.llm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.goldenstick.formats.gguf.GgmlBlocks;
import org.goldenstick.formats.gguf.GgmlType;
import org.goldenstick.llm.tokenizer.BpeTrainer;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.GgmlBlockKernels;
import org.goldenstick.tensor.kernel.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Q8_0/Q4_0 block kernels, vector and scalar, against a float64 product with the decoded weights. */
class GgufBlockLinearTest {
    @TempDir
    Path tmp;

    @Test
    void kernelsEqualFloat64ProductOfDecodedBlocks() {
        // m = 3: row-by-row block dots (decode); m = 20: blocks dequantized into packed GEMM panels (prefill),
        // 544 columns cross a panel depth of 256
        for (int[] shape : new int[][] {{37, 160, 3}, {37, 544, 20}}) kernelsEqualFloat64ProductOfDecodedBlocks(shape[0], shape[1], shape[2]);
    }

    private static void kernelsEqualFloat64ProductOfDecodedBlocks(int rows, int cols, int m) {
        Random r = new Random(4);
        float[] w = new float[rows * cols], x = new float[m * cols];
        for (int i = 0; i < w.length; i++) w[i] = (float) (r.nextGaussian() * (1 + i % 7));
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        for (GgmlType t : List.of(GgmlType.Q8_0, GgmlType.Q4_0)) {
            byte[] blocks = GgmlBlocks.encode(t, w);
            float[] dec = new float[w.length];
            GgmlBlocks.decode(t, MemorySegment.ofArray(blocks), 0, dec, 0, dec.length);
            // Offset the tensor inside a larger segment, as in a mapped file.
            byte[] file = new byte[blocks.length + 64];
            System.arraycopy(blocks, 0, file, 40, blocks.length);
            for (boolean vector : new boolean[] {true, false}) {
                boolean was = Kernels.useVector(vector);
                try {
                    float[] y = new float[m * rows];
                    GgmlBlockKernels.matmul(t == GgmlType.Q8_0 ? GgmlBlockKernels.Format.Q8_0 : GgmlBlockKernels.Format.Q4_0,
                            MemorySegment.ofArray(file), 40, rows, cols, x, m, y);
                    for (int i = 0; i < m; i++) {
                        for (int o = 0; o < rows; o++) {
                            double ref = 0, mag = 0;
                            for (int c = 0; c < cols; c++) {
                                ref += (double) dec[o * cols + c] * x[i * cols + c];
                                mag += Math.abs((double) dec[o * cols + c] * x[i * cols + c]);
                            }
                            assertEquals(ref, y[i * rows + o], 1e-5 * mag + 1e-6, t + (vector ? " vector" : " scalar") + " y[" + i + "," + o + "]");
                        }
                    }
                } finally {
                    Kernels.useVector(was);
                }
            }
        }
    }

    @Test
    void mappedModelMatchesTheDequantizedModel() throws Exception {
        String text = "the whale and the sea and the ship of the white whale ".repeat(30);
        BpeTrainer.Result vocab = BpeTrainer.train(List.of(text), new BpeTrainer.Options(270, 2, List.of("<s>", "</s>")));
        Path dir = Files.createDirectories(tmp.resolve("m"));
        vocab.write(dir.resolve("tokenizer.json"));
        LlamaConfig c = new LlamaConfig(64, 96, 2, 4, 2, 16, 1e-5, 10000.0, null, vocab.tokens().size(), 64, false, 0, new int[] {1},
                "float32", List.of("LlamaForCausalLM"), Map.of());
        LlamaModel model = LlamaModel.withRandomWeights(c, 9);
        int[] ids = new int[20];
        for (int i = 0; i < ids.length; i++) ids[i] = (i * 7) % c.vocabSize();
        for (GgmlType t : List.of(GgmlType.Q8_0, GgmlType.Q4_0)) {
            Path f = tmp.resolve(t + ".gguf");
            LlamaGguf.export(model, dir, t, f);
            Tensor want = LlamaGguf.load(f).logits(ids, 1, ids.length);
            try (LlamaGguf.MappedModel mm = LlamaGguf.open(f)) {
                assertEquals(7 * c.numHiddenLayers() + 1, mm.blockLayers(), t + ": every projection and lm_head on blocks");
                Tensor got = mm.model().logits(ids, 1, ids.length);
                float[] a = want.data(), b = got.data();
                double maxAbs = 0;
                for (float v : a) maxAbs = Math.max(maxAbs, Math.abs(v));
                for (int i = 0; i < a.length; i++) assertEquals(a[i], b[i], 1e-4 * maxAbs, t + " logit " + i);
                int[] g1 = LlamaGguf.load(f).generate(new int[] {0, 5, 9}, 8, Sampler.greedy());
                int[] g2 = mm.model().generate(new int[] {0, 5, 9}, 8, Sampler.greedy());
                assertTrue(java.util.Arrays.equals(g1, g2), t + ": greedy continuation");
            }
        }
    }
}
