package org.goldenstick.llm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.regex.Pattern;
import java.util.concurrent.TimeUnit;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.kernel.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.extension.ExtendWith;
import org.goldenstick.tensor.kernel.KernelSettings;

/** Models whose weights stay in the mapped checkpoint: same results as the heap model, small heap, early errors. */
@ExtendWith(KernelSettings.class)
class MappedModelTest {
    @TempDir
    Path tmp;


    @Test
    void mappedModelHoldsViewsAndMatchesTheHeapModelForEveryDtype() throws IOException {
        for (LlamaConfig c : new LlamaConfig[] {TestModels.gqaLlama3(), TestModels.tiedLinear()}) {
            LlamaModel m = TestModels.random(c, 7);
            for (DType dtype : new DType[] {DType.F32, DType.BF16, DType.F16}) {
                Path dir = tmp.resolve(dtype + "-" + c.tieWordEmbeddings());
                HfCheckpoint.save(m, dir, dtype, null, false);
                LlamaModel heap = HfCheckpoint.load(dir);
                LlamaModel mapped = HfCheckpoint.map(dir);
                int linears = 0;
                for (Module mod : mapped.namedModules().values()) {
                    assertFalse(mod instanceof Linear, "a mapped model holds no float Linear: " + mod.describe());
                    if (mod instanceof MappedLinear ml) {
                        linears++;
                        assertTrue(org.goldenstick.tensor.kernel.WeightMemory.isFileView(ml.weights().data()), ml.describe());
                    }
                }
                assertEquals(c.numHiddenLayers() * 7 + (c.tieWordEmbeddings() ? 0 : 1), linears);
                assertTrue(org.goldenstick.tensor.kernel.WeightMemory.isFileView(mapped.transformer().embedTokens().stored().data()));
                // only norms remain float parameters on the heap
                assertTrue(mapped.parameterCount() <= (long) (2 * c.numHiddenLayers() + 1) * c.hiddenSize(), "parameters on the heap: " + mapped.parameterCount());
                int[] ids = TestModels.ids(c, 20, 3);
                for (boolean vector : new boolean[] {true, false}) {
                    Kernels.useVector(vector);
                    float[] a = heap.newSession(20).forward(ids, true).data(), b = mapped.newSession(20).forward(ids, true).data();
                    float[] a1 = heap.logits(ids, 1, 20).data(), b1 = mapped.logits(ids, 1, 20).data();
                    for (int i = 0; i < a.length; i++) {
                        assertEquals(a[i], b[i], 2e-4 * (1 + Math.abs(a[i])), dtype + " session logit " + i);
                        assertEquals(a1[i], b1[i], 2e-4 * (1 + Math.abs(a1[i])), dtype + " reference-path logit " + i);
                    }
                    LlamaSession s = mapped.newSession(24);
                    s.prefill(java.util.Arrays.copyOf(ids, 19));
                    float[] last = s.decode(ids[19]).data();
                    for (int j = 0; j < c.vocabSize(); j++) assertEquals(a[19 * c.vocabSize() + j], last[j], 2e-4 * (1 + Math.abs(last[j])), "decode logit " + j);
                }
            }
        }
    }

    /** config.json edited so that its sizes disagree with the (unchanged) tensors. */
    private Path withConfig(Path src, String name, String field, int value) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        for (String f : new String[] {"model.safetensors"}) Files.copy(src.resolve(f), dir.resolve(f));
        ObjectMapper json = new ObjectMapper();
        ObjectNode cfg = (ObjectNode) json.readTree(Files.readString(src.resolve("config.json")));
        cfg.put(field, value);
        Files.writeString(dir.resolve("config.json"), json.writeValueAsString(cfg));
        return dir;
    }

    @Test
    void aConfigThatDisagreesWithTheTensorsFailsBeforeAnyLargeAllocation() throws IOException {
        LlamaConfig c = TestModels.gqaLlama3();
        Path src = tmp.resolve("src");
        HfCheckpoint.save(TestModels.random(c, 2), src, DType.F32, null, false);
        // hidden 16 → 20000 and intermediate 40 → 60000: the old loader allocated a 7.2 G-parameter float model first.
        Path wide = withConfig(withConfig(src, "wide0", "intermediate_size", 60_000), "wide", "hidden_size", 20_000);
        for (boolean map : new boolean[] {true, false}) {
            String m = assertThrows(IllegalArgumentException.class, () -> {
                if (map) HfCheckpoint.map(wide);
                else HfCheckpoint.load(wide);
            }).getMessage();
            assertTrue(m.contains(wide.toString()) && m.contains("model.safetensors"), m);
            assertTrue(m.contains("tensor 'model.embed_tokens.weight' in model.safetensors has shape [37, 16] but config.json implies [37, 20000]"), m);
        }
        Path deep = withConfig(src, "deep", "num_hidden_layers", 3);
        String m = assertThrows(IllegalArgumentException.class, () -> HfCheckpoint.map(deep)).getMessage();
        assertTrue(m.contains("missing tensor 'model.layers.2.self_attn.q_proj.weight' (config.json implies shape [32, 16])"), m);
        Path shallow = withConfig(src, "shallow", "num_hidden_layers", 1);
        m = assertThrows(IllegalArgumentException.class, () -> HfCheckpoint.map(shallow)).getMessage();
        assertTrue(m.contains("unexpected tensor 'model.layers.1.mlp.up_proj.weight' in model.safetensors"), m);
    }

    // ---------------------------------------------------------------- a model larger than the heap

    private static final int SMALL_HEAP_MB = 128;

    /** The child JVM: perplexity of the mapped model over the given ids; prints the mean NLL bits. */
    public static void main(String[] args) throws IOException {
        LlamaModel m = HfCheckpoint.map(Path.of(args[0]));
        int[] ids = ids(m.config(), Integer.parseInt(args[1]));
        Evaluation.Result r = Evaluation.run(m, null, ids, Integer.parseInt(args[2]), null);
        System.out.println("meanNll=" + Double.doubleToLongBits(r.meanNll()) + " maxHeap=" + Runtime.getRuntime().maxMemory());
    }

    private static int[] ids(LlamaConfig c, int n) {
        return TestModels.ids(c, n, 42);
    }

    @Test
    void evalOfACheckpointThreeTimesTheHeapGivesTheHeapModelsPerplexity() throws Exception {
        // ~110 M parameters, 0.44 GB of float32: more than three times the child's heap.
        LlamaConfig c = LlamaConfig.of(768, 3072, 12, 12, 4, 4096, 256);
        Path dir = tmp.resolve("big");
        LlamaModel heap = LlamaModel.withRandomWeights(c, 99);
        HfCheckpoint.save(heap, dir, DType.F32, null, false);
        long bytes = Files.size(dir.resolve("model.safetensors"));
        assertTrue(bytes > 3.0 * (SMALL_HEAP_MB << 20), "checkpoint of " + bytes + " bytes");
        int tokens = 33, ctx = 32;
        Evaluation.Result inHeap = Evaluation.run(heap, null, ids(c, tokens), ctx, null);
        heap = null;

        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(List.of(javaBin, "--add-modules", "jdk.incubator.vector", "-Xmx" + SMALL_HEAP_MB + "m", "-cp", System.getProperty("java.class.path"),
                MappedModelTest.class.getName(), dir.toString(), Integer.toString(tokens), Integer.toString(ctx))).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), out);
        assertEquals(0, p.exitValue(), out);
        var match = Pattern.compile("meanNll=(-?\\d+) maxHeap=(\\d+)").matcher(out);
        assertTrue(match.find(), out);
        assertTrue(Long.parseLong(match.group(2)) <= (SMALL_HEAP_MB + 16L) << 20, "child heap " + match.group(2));
        double mapped = Double.longBitsToDouble(Long.parseLong(match.group(1)));
        assertEquals(inHeap.meanNll(), mapped, 1e-5 * Math.abs(inHeap.meanNll()), "mean NLL in heap vs mapped");
        assertEquals(Math.exp(inHeap.meanNll()), Math.exp(mapped), 1e-4 * Math.exp(inHeap.meanNll()), "perplexity");
    }
}
