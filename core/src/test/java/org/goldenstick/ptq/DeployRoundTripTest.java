package org.goldenstick.ptq;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.llm.HfCheckpoint;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.nn.Linear;
import org.goldenstick.tensor.kernel.Kernels;
import org.goldenstick.tensor.kernel.WeightMemory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** QUANTIZE → save → DEPLOY → load gives exactly the logits of the in-memory quantized model. */
class DeployRoundTripTest {
    @TempDir
    Path tmp;

    @BeforeAll
    static void quiet() {
    }

    private Path floatCheckpoint(DType dtype) throws IOException {
        LlamaModel m = LlamaFixtures.randomModel(LlamaFixtures.tinyConfig(), 21);
        LlamaFixtures.injectOutlierChannels(m, new int[] {5, 30}, 20f);
        Path dir = tmp.resolve("fp-" + dtype);
        HfCheckpoint.save(m, dir, dtype, null, false);
        return dir;
    }

    private static List<int[]> calibration() {
        Random rng = new Random(3);
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < 4; i++) out.add(LlamaFixtures.randomIds(rng, 24, LlamaFixtures.tinyConfig().vocabSize()));
        return out;
    }

    @Test
    void rtnFromTheCheckpointEqualsInMemoryRtn() throws IOException {
        Path fp = floatCheckpoint(DType.BF16), q = tmp.resolve("rtn");
        RoundToNearest.quantizeCheckpoint(fp, q, PTQConfig.rtn());
        LlamaModel deployed = QuantizedCheckpoints.load(q);
        assertInstanceOf(WNA16Linear.class, deployed.module("model.layers.1.mlp.down_proj"));
        assertInstanceOf(org.goldenstick.llm.MappedLinear.class, deployed.module("lm_head"));

        LlamaModel inMemory = HfCheckpoint.load(fp);
        RoundToNearest rtn = new RoundToNearest(PTQConfig.rtn(), DType.BF16); // scales rounded to the checkpoint's dtype
        rtn.apply(inMemory, null, List.of());
        rtn.convert(inMemory);

        int[] ids = LlamaFixtures.randomIds(new Random(8), 20, LlamaFixtures.tinyConfig().vocabSize());
        assertSameFunction(inMemory, deployed, ids);
        // and generation works on the deployed model
        assertEquals(5, deployed.generate(new int[] {1, 2, 3}, 5, org.goldenstick.llm.Sampler.greedy(), t -> {}, t -> false).length);
    }

    @Test
    void deployCopiesIntWeightsOffTheFileWhereHugePagesExistAndReadsThemInPlaceOnRequest() throws IOException {
        Path fp = floatCheckpoint(DType.F32), w4 = tmp.resolve("w4"), w8a8 = tmp.resolve("w8a8");
        RoundToNearest.quantizeCheckpoint(fp, w4, PTQConfig.rtn());
        PTQConfig sqCfg = PTQConfig.smoothQuant();
        LlamaModel m = HfCheckpoint.load(fp);
        SmoothQuant sq = new SmoothQuant(sqCfg);
        sq.apply(m, new LlamaHelper(m, 24, null), calibration());
        sq.convert(m);
        QuantizedCheckpoints.save(m, sqCfg, PtqAlgorithm.skipped(m, sqCfg), fp, w8a8, sq.modifiedTensors());
        int[] ids = LlamaFixtures.randomIds(new Random(10), 20, LlamaFixtures.tinyConfig().vocabSize());

        String saved = System.getProperty(QuantizedCheckpoints.IN_PLACE_PROPERTY);
        try {
            for (String setting : new String[] {null, "true", "false"}) {
                if (setting == null) System.clearProperty(QuantizedCheckpoints.IN_PLACE_PROPERTY);
                else System.setProperty(QuantizedCheckpoints.IN_PLACE_PROPERTY, setting);
                // unset: copied exactly when the system has transparent huge pages
                boolean inPlace = setting == null ? !WeightMemory.hugePagesAvailable() : Boolean.parseBoolean(setting);
                LlamaModel packed = QuantizedCheckpoints.load(w4), int8 = QuantizedCheckpoints.load(w8a8);
                for (var e : packed.namedModules().entrySet()) {
                    if (e.getValue() instanceof WNA16Linear l) {
                        assertTrue(WeightMemory.isWeightKind(l.weights().words()), e.getKey());
                        assertEquals(inPlace, WeightMemory.isFileView(l.weights().words()), setting + ": " + e.getKey());
                    }
                }
                var qp = assertInstanceOf(W8A8Linear.class, int8.module("model.layers.0.self_attn.q_proj")).int8Weights().data();
                assertTrue(WeightMemory.isWeightKind(qp));
                assertEquals(inPlace, WeightMemory.isFileView(qp), setting + ": int8 per channel");
                // both ways compute the same function as the in-memory quantized model
                assertSameFunction(m, int8, ids);
                assertSameFunction(QuantizedCheckpoints.loadOnHeap(w4), packed, ids);
            }
        } finally {
            if (saved == null) System.clearProperty(QuantizedCheckpoints.IN_PLACE_PROPERTY);
            else System.setProperty(QuantizedCheckpoints.IN_PLACE_PROPERTY, saved);
        }
    }

    @Test
    void smoothQuantStaticAndDynamicRoundTrip() throws IOException {
        Path fp = floatCheckpoint(DType.F32);
        for (ActGranularity g : ActGranularity.values()) {
            Path q = tmp.resolve("sq-" + g);
            PTQConfig cfg = PTQConfig.smoothQuant().withActGranularity(g);
            LlamaModel m = HfCheckpoint.load(fp);
            SmoothQuant sq = new SmoothQuant(cfg);
            sq.apply(m, new LlamaHelper(m, 24, null), calibration());
            sq.convert(m);
            QuantizedCheckpoints.save(m, cfg, PtqAlgorithm.skipped(m, cfg), fp, q, sq.modifiedTensors());
            assertEquals(g, QuantizedCheckpoints.scheme(q).granularity());
            assertTrue(QuantizedCheckpoints.scheme(q).actInt8());

            LlamaModel deployed = QuantizedCheckpoints.load(q);
            W8A8Linear qp = assertInstanceOf(W8A8Linear.class, deployed.module("model.layers.0.self_attn.q_proj"));
            assertEquals(g, qp.granularity());
            assertInstanceOf(W8A8Linear.class, deployed.module("model.layers.0.self_attn.o_proj"));
            assertInstanceOf(org.goldenstick.llm.MappedLinear.class, deployed.module("model.layers.0.mlp.down_proj"));
            if (g == ActGranularity.PER_TENSOR) assertEquals(((W8A8Linear) m.module("model.layers.0.self_attn.q_proj")).inputScale(), qp.inputScale());

            int[] ids = LlamaFixtures.randomIds(new Random(9), 20, LlamaFixtures.tinyConfig().vocabSize());
            assertSameFunction(m, deployed, ids);

            // DEPLOY through the algorithm: placeholders from the config, then the checkpoint
            LlamaModel viaAlgo = new LlamaModel(LlamaFixtures.tinyConfig(), new Random(0));
            PtqAlgorithm.of(cfg.withMode(PTQMode.DEPLOY)).apply(viaAlgo, null, null);
            assertInstanceOf(W8A8Linear.class, viaAlgo.module("model.layers.1.mlp.gate_proj"));
            QuantizedCheckpoints.loadInto(viaAlgo, q);
            assertSameFunction(m, viaAlgo, ids);
        }
    }

    /**
     * Same parameters bit for bit, and the same logits: bit-identical on the scalar kernels (plain Java arithmetic is
     * reproducible); on the Vector API path within 1e-6, because lane reductions before and after JIT intrinsification
     * may add in a different order, so even one float model run twice can differ in the last bit.
     */
    static void assertSameFunction(LlamaModel a, LlamaModel b, int[] ids) {
        var sa = a.namedModules();
        var sb = b.namedModules();
        assertEquals(sa.keySet(), sb.keySet());
        for (var e : sa.entrySet()) {
            Object x = e.getValue(), y = sb.get(e.getKey());
            // a deployed model reads its float layers in place from the checkpoint: same weights, other class
            if (x instanceof Linear l && y instanceof org.goldenstick.llm.MappedLinear ml) {
                assertArrayEquals(l.weight().data(), ml.weights().toFloats(), e.getKey());
                continue;
            }
            if (x instanceof org.goldenstick.llm.TokenEmbedding t && y instanceof org.goldenstick.llm.TokenEmbedding u && u.stored() != null) {
                assertArrayEquals(t.weight().data(), u.stored().toFloats(), e.getKey());
                continue;
            }
            assertEquals(x.getClass(), y.getClass(), e.getKey());
            if (x instanceof W8A16Linear p) assertArrayEquals(p.int8Weight(), ((W8A16Linear) y).int8Weight(), e.getKey());
            if (x instanceof WNA16Linear p) assertEquals(p.weights(), ((WNA16Linear) y).weights(), e.getKey());
            if (x instanceof W8A8Linear p) assertArrayEquals(p.int8Weight(), ((W8A8Linear) y).int8Weight(), e.getKey());
        }
        var pa = a.stateDict();
        var pb = b.stateDict();
        for (var e : pb.entrySet()) assertArrayEquals(pa.get(e.getKey()).data(), e.getValue().data(), e.getKey());
        for (String k : pa.keySet()) {
            String module = k.substring(0, k.lastIndexOf('.'));
            assertTrue(pb.containsKey(k) || (k.endsWith(".weight") && sb.get(module) instanceof org.goldenstick.llm.StoredWeights), "tensor " + k + " neither in the deployed state nor read in place");
        }
        boolean was = Kernels.useVector(false);
        try {
            assertArrayEquals(LlamaFixtures.logits(a, ids).data(), LlamaFixtures.logits(b, ids).data(), "scalar kernels: bit-identical logits");
        } finally {
            Kernels.useVector(was);
        }
        double rel = LlamaFixtures.relError(LlamaFixtures.logits(a, ids), LlamaFixtures.logits(b, ids));
        assertTrue(rel < 1e-6, "vector kernels: relative difference " + rel);
    }

    @Test
    void quantizedCheckpointIsCheckedOnLoad() throws IOException {
        Path fp = floatCheckpoint(DType.F32), q = tmp.resolve("rtn");
        RoundToNearest.quantizeCheckpoint(fp, q, PTQConfig.rtn());
        assertFalse(QuantizedCheckpoints.isQuantized(fp));
        assertThrows(IllegalArgumentException.class, () -> QuantizedCheckpoints.load(fp));
        // a float loader refuses the int8 checkpoint, QuantizedCheckpoints.loadModel picks the right one
        assertThrows(IllegalArgumentException.class, () -> HfCheckpoint.load(q));
        assertInstanceOf(WNA16Linear.class, QuantizedCheckpoints.loadModel(q).module("model.layers.0.mlp.up_proj"));
        // config.json disagreeing with the tensors
        String cfg = Files.readString(q.resolve("config.json")).replace("\"intermediate_size\" : 128", "\"intermediate_size\" : 136");
        assertTrue(cfg.contains("136"), "test setup: config rewrite");
        Files.writeString(q.resolve("config.json"), cfg);
        var e = assertThrows(IllegalArgumentException.class, () -> QuantizedCheckpoints.load(q));
        assertTrue(e.getMessage().contains("shape"), e.getMessage());
    }
}
