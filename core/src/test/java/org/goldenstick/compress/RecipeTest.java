package org.goldenstick.compress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.goldenstick.llm.LlamaConfig;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.ptq.ActGranularity;
import org.goldenstick.ptq.CalibratedWeightOnly;
import org.goldenstick.ptq.Gptq;
import org.goldenstick.ptq.PtqAlgorithm;
import org.goldenstick.ptq.WeightMethod;
import org.goldenstick.ptq.WeightOnlyQuantizer;
import org.goldenstick.ptq.LlamaHelper;
import org.goldenstick.ptq.PTQConfig;
import org.goldenstick.ptq.SmoothQuant;
import org.goldenstick.ptq.SmoothingMapping;
import org.goldenstick.ptq.WNA16Linear;
import org.goldenstick.ptq.WeightScheme;
import org.goldenstick.qat.QuantCell;
import org.goldenstick.qat.SimQATConfig;
import org.goldenstick.quant.FakeQuantize;
import org.goldenstick.quant.QConv2d;
import org.goldenstick.train.Evaluator;
import org.goldenstick.progress.ProgressListener;
import org.goldenstick.train.Recipes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RecipeTest {
    @TempDir
    Path tmp;

    static final String YAML = """
            qat_stage:
              qat_modifiers:
                SimQATModifier:
                  bn_fold: true
                  enable_fusion: true
                  ignore: ["fc3"]
            ptq_stage:
              ptq_modifiers:
                SmoothQuantModifier:
                  smoothing_strength: 0.8
                  mappings:
                    - [["re:.*q_proj", "re:.*k_proj", "re:.*v_proj"], "re:.*input_layernorm"]
                  ignore: ["lm_head"]
                  activations: tensor
                QuantizationModifier:
                  scheme: W4A16
                  group_size: 32
                  targets: ["Linear"]
            """;

    static final String JSON = """
            {"qat_stage": {"qat_modifiers": {"SimQATModifier": {"bn_fold": true, "enable_fusion": true, "ignore": ["fc3"]}}},
             "ptq_stage": {"ptq_modifiers": {
                "SmoothQuantModifier": {"smoothing_strength": 0.8, "mappings": [[["re:.*q_proj", "re:.*k_proj", "re:.*v_proj"], "re:.*input_layernorm"]],
                                        "ignore": ["lm_head"], "activations": "tensor"},
                "QuantizationModifier": {"scheme": "W4A16", "group_size": 32, "targets": ["Linear"]}}}}
            """;

    @Test
    void awqClipQkDefaultsOnAndCanBeTurnedOff() {
        AwqModifier d = assertInstanceOf(AwqModifier.class, Recipe.parse("s:\n  m_modifiers:\n    AWQModifier: {scheme: W4A16}\n", true, "inline").modifiers().getFirst());
        assertTrue(d.method().clipQk() && d.method().settings().clipQk());
        AwqModifier off = assertInstanceOf(AwqModifier.class, Recipe.parse("s:\n  m_modifiers:\n    AWQModifier: {scheme: W4A16, clip_qk: false}\n", true, "inline").modifiers().getFirst());
        assertFalse(off.method().clipQk() || off.method().settings().clipQk());
        // before GPTQ q/k are never clipped, whatever the recipe says
        assertFalse(d.method().then(WeightMethod.Gptq.defaults()).settings().clipQk());
    }

    @Test
    void yamlAndJsonGiveTheSameTypedModifiers() throws Exception {
        Files.writeString(tmp.resolve("r.yaml"), YAML);
        Files.writeString(tmp.resolve("r.json"), JSON);
        Recipe y = Recipe.load(tmp.resolve("r.yaml")), j = Recipe.load(tmp.resolve("r.json"));
        assertEquals(y, j);
        assertEquals(3, y.modifiers().size());
        SimQatModifier q = assertInstanceOf(SimQatModifier.class, y.modifiers().get(0));
        assertEquals(SimQATConfig.defaults().withBnFold(true).withEnableFusion(true).skipLayers(), List.of());
        assertTrue(q.config().bnFold() && q.config().enableFusion());
        assertEquals(List.of("fc3"), q.config().skipLayers(), "recipe 'ignore' is SimQAT's skip list");
        SmoothQuantModifier s = assertInstanceOf(SmoothQuantModifier.class, y.modifiers().get(1));
        assertEquals(0.8, s.alpha());
        assertEquals(ActGranularity.PER_TENSOR, s.activations());
        assertEquals(List.of(new SmoothingMapping(List.of("re:.*q_proj", "re:.*k_proj", "re:.*v_proj"), "re:.*input_layernorm")), s.mappings());
        assertEquals(new RtnModifier(WeightScheme.of(4, 32, true), PTQConfig.DEFAULT_SKIP_W8A16), y.modifiers().get(2));
        assertFalse(y.postTrainingOnly());
    }

    @Test
    void everyShippedExampleRecipeLoads() throws Exception {
        Path dir = org.goldenstick.data.DataPaths.root().resolve("recipes");
        List<Path> files;
        try (var s = Files.list(dir)) {
            files = s.sorted().toList();
        }
        assertTrue(files.size() >= 4, files.toString());
        for (Path f : files) assertFalse(Recipe.load(f).modifiers().isEmpty(), f.toString());
        assertEquals(List.of("SCOPModifier", "SimQATModifier"), Recipe.load(dir.resolve("scop-then-simqat.yaml")).modifiers().stream().map(Modifier::recipeName).toList());
        assertEquals(SmoothingMapping.LLAMA.size(), ((SmoothQuantModifier) Recipe.load(dir.resolve("smoothquant.yaml")).modifiers().getFirst()).mappings().size());
    }

    @Test
    void badRecipesNameTheFileAndTheField() throws Exception {
        record Case(String yaml, String field, String says) {}
        List<Case> cases = List.of(
                new Case("s:\n  m_modifiers:\n    GPTQQModifier: {}\n", "s.m_modifiers.GPTQQModifier", "unknown modifier 'GPTQQModifier'"),
                new Case("s:\n  m_modifiers:\n    GPTQModifier: {actorder: group}\n", "s.m_modifiers.GPTQModifier.actorder", "must be static"),
                new Case("s:\n  m_modifiers:\n    GPTQModifier: {dampening: 0.1}\n", "s.m_modifiers.GPTQModifier.dampening", "unknown argument"),
                new Case("s:\n  m_modifiers:\n    AWQModifier: {apply_clip: maybe}\n", "s.m_modifiers.AWQModifier.apply_clip", "true or false"),
                new Case("s:\n  m_modifiers:\n    AWQModifier: {duo_scaling: sometimes}\n", "s.m_modifiers.AWQModifier.duo_scaling", "true, false or \"both\""),
                new Case("s:\n  m_modifiers:\n    AWQModifier: {clip_qk: 1}\n", "s.m_modifiers.AWQModifier.clip_qk", "true or false"),
                new Case("s:\n  m_modifiers:\n    SLBModifier: {ignore: ['(']}\n", "s.m_modifiers.SLBModifier.ignore", "regular expressions"),
                new Case("s:\n  m_modifiers:\n    SCOPModifier: {ignore: conv1}\n", "s.m_modifiers.SCOPModifier.ignore", "list of strings"),
                new Case("s:\n  m_modifiers:\n    SmoothQuantModifier: {alpha: 0.5}\n", "s.m_modifiers.SmoothQuantModifier.alpha", "unknown argument"),
                new Case("s:\n  m_modifiers:\n    SmoothQuantModifier: {smoothing_strength: high}\n", "s.m_modifiers.SmoothQuantModifier.smoothing_strength", "must be a number"),
                new Case("s:\n  m_modifiers:\n    SmoothQuantModifier: {smoothing_strength: 1.5}\n", "s.m_modifiers.SmoothQuantModifier", "alpha must be in [0, 1]"),
                new Case("s:\n  m_modifiers:\n    SimQATModifier: {freeze_bn: -1}\n", "s.m_modifiers.SimQATModifier.freeze_bn", "not allowed"),
                new Case("s:\n  m_modifiers:\n    SimQATModifier: {ignore: ['(']}\n", "s.m_modifiers.SimQATModifier.skip_layers", "regular expressions"),
                new Case("s:\n  m_modifiers:\n    SLBModifier: {t_factor: 2}\n", "s.m_modifiers.SLBModifier.t_factor", "float"),
                new Case("s:\n  m_modifiers:\n    SCOPModifier: {prune_rate: 1.2}\n", "s.m_modifiers.SCOPModifier.prune_rate", "[0.0, 1.0)"),
                new Case("s:\n  m_modifiers:\n    QuantizationModifier: {scheme: W3A16}\n", "s.m_modifiers.QuantizationModifier.scheme", "W8A16 or W4A16"),
                new Case("s:\n  m_modifiers:\n    QuantizationModifier: {targets: [Conv2d]}\n", "s.m_modifiers.QuantizationModifier.targets", "[Linear]"),
                new Case("s:\n  oops: {}\n", "s.oops", "end in _modifiers"),
                new Case("s: [1, 2\n", "", "not valid YAML"));
        for (Case c : cases) {
            Path f = tmp.resolve("bad-" + cases.indexOf(c) + ".yaml");
            Files.writeString(f, c.yaml());
            RecipeException e = assertThrows(RecipeException.class, () -> Recipe.load(f), c.yaml());
            assertEquals(f.toString(), e.source());
            assertEquals(c.field(), e.field(), e.getMessage());
            assertTrue(e.getMessage().startsWith(f.toString()) && e.getMessage().contains(c.says()), e.getMessage());
        }
        assertThrows(RecipeException.class, () -> Recipe.load(tmp.resolve("absent.yaml")));
    }

    @Test
    void compressRunsSimQatOnATrainedLeNet() {
        Recipes.Spec spec = Recipes.Spec.defaults("lenet", "digits").withEpochs(6);
        Recipes.Data data = Recipes.data(spec);
        Module net = Recipes.newModel(spec, data);
        double fp32 = Recipes.train(spec, net, data, List.of(), ProgressListener.SILENT).testAccuracy();
        Recipe recipe = Recipe.parse("s:\n  q_modifiers:\n    SimQATModifier: {}\n", true, "inline");
        GoldenStick.Result r = GoldenStick.compress(net, recipe, CompressInputs.training(Recipes.trainLoader(spec, data), 1, spec.lr() * 0.1));
        boolean int8 = false;
        for (Module m : r.model().namedModules().values()) {
            assertFalse(m instanceof QuantCell || m instanceof FakeQuantize, "left after convert: " + m.getClass().getSimpleName());
            int8 |= m instanceof QConv2d;
        }
        assertTrue(int8, "the deploy network has int8 convolutions");
        double acc = Evaluator.evaluate(r.model(), Recipes.testLoader(spec, data)).accuracy();
        assertTrue(acc >= fp32 - 0.03 && acc > 0.9, "int8 " + acc + " vs FP32 " + fp32);
        var e = assertThrows(IllegalArgumentException.class, () -> GoldenStick.compress(Recipes.newModel(spec, data), recipe, CompressInputs.none()));
        assertTrue(e.getMessage().contains("CompressInputs.training"), e.getMessage());
    }

    @Test
    void smoothQuantFollowsTheRecipeMappingsAndRtnItsIgnoreList() {
        LlamaConfig c = LlamaConfig.of(64, 128, 2, 4, 2, 96, 64);
        Random rng = new Random(3);
        List<int[]> samples = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            int[] ids = new int[24];
            for (int k = 0; k < ids.length; k++) ids[k] = rng.nextInt(c.vocabSize());
            samples.add(ids);
        }
        Recipe attentionOnly = Recipe.parse("""
                s:
                  q_modifiers:
                    SmoothQuantModifier:
                      mappings: [[["re:.*q_proj", "re:.*k_proj", "re:.*v_proj"], "re:.*input_layernorm"]]
                """, true, "inline");
        LlamaModel a = new LlamaModel(c, new Random(1));
        SmoothQuant sqA = (SmoothQuant) GoldenStick.compress(a, attentionOnly, CompressInputs.calibration(new LlamaHelper(a, 32, null), samples)).algorithms().getFirst();
        LlamaModel b = new LlamaModel(c, new Random(1));
        SmoothQuant sqB = new SmoothQuant(PTQConfig.smoothQuant());
        sqB.apply(b, new LlamaHelper(b, 32, null), samples);
        assertEquals(List.of("model.layers.0.input_layernorm", "model.layers.1.input_layernorm"), List.copyOf(sqA.smoothScales().keySet()));
        assertEquals(4, sqB.smoothScales().size(), "the default (Llama) mappings smooth both norms of each layer");
        for (String norm : sqA.smoothScales().keySet()) {
            assertTrue(java.util.Arrays.equals(sqB.smoothScales().get(norm), sqA.smoothScales().get(norm)), norm + ": same statistics, same factors");
        }

        LlamaModel r = new LlamaModel(c, new Random(2));
        GoldenStick.compress(r, Recipe.parse("s:\n  q_modifiers:\n    QuantizationModifier: {scheme: W4A16, group_size: 32, ignore: ['lm_head', 're:.*down_proj$']}\n",
                true, "inline"), CompressInputs.none());
        int packed = 0;
        for (var e : r.namedModules().entrySet()) {
            boolean ignored = e.getKey().equals("lm_head") || e.getKey().endsWith("down_proj");
            if (e.getValue() instanceof WNA16Linear) {
                packed++;
                assertFalse(ignored, e.getKey());
            }
            if (ignored) assertInstanceOf(Linear.class, e.getValue(), e.getKey());
        }
        assertEquals(2 * 6, packed, "q/k/v/o/gate/up of both layers");
    }
    static List<int[]> tokens(LlamaConfig c, int n, int len, long seed) {
        Random rng = new Random(seed);
        List<int[]> samples = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] ids = new int[len];
            for (int k = 0; k < ids.length; k++) ids[k] = rng.nextInt(c.vocabSize());
            samples.add(ids);
        }
        return samples;
    }

    static java.util.Map<String, org.goldenstick.tensor.kernel.PackedIntWeights> packed(Module m) {
        java.util.Map<String, org.goldenstick.tensor.kernel.PackedIntWeights> out = new java.util.TreeMap<>();
        m.namedModules().forEach((n, l) -> {
            if (l instanceof WNA16Linear w) out.put(n, w.weights());
        });
        return out;
    }

    @Test
    void gptqAndAwqRecipesRunTheLibraryAlgorithmsLayerByLayer() {
        LlamaConfig c = LlamaConfig.of(64, 128, 2, 4, 2, 96, 64);
        List<int[]> samples = tokens(c, 4, 48, 5);
        WeightScheme w4 = WeightScheme.of(4, 32, true);
        var plan = WeightOnlyQuantizer.uniform(List.of(), w4);

        Recipe gptq = Recipe.parse("s:\n  q_modifiers:\n    GPTQModifier: {scheme: W4A16, group_size: 32, actorder: static, dampening_frac: 0.02}\n", true, "inline");
        GptqModifier gm = assertInstanceOf(GptqModifier.class, gptq.modifiers().getFirst());
        assertEquals(new WeightMethod.Gptq(0.02, 128, true), gm.method());
        LlamaModel a = new LlamaModel(c, new Random(1));
        var res = GoldenStick.compress(a, gptq, CompressInputs.calibration(new LlamaHelper(a, 48, null), samples));
        assertInstanceOf(CalibratedWeightOnly.class, res.algorithms().getFirst());
        LlamaModel b = new LlamaModel(c, new Random(1));
        var direct = WeightOnlyQuantizer.gptq(b, samples, WeightOnlyQuantizer.uniform(PtqAlgorithm.targets(b, PTQConfig.rtn(w4)), w4),
                new Gptq.Settings(w4, 0.02, 128, true), org.goldenstick.formats.safetensors.DType.F32);
        assertEquals(2 * 7, direct.size(), "every linear of both layers; lm_head ignored by default");
        assertEquals(new java.util.TreeMap<>(direct), packed(a), "the recipe runs the same GPTQ as the library call");
        assertInstanceOf(Linear.class, a.module("lm_head"));

        Recipe awqGptq = Recipe.parse("""
                s:
                  q_modifiers:
                    AWQModifier: {scheme: W4A16, group_size: 32, n_grid: 10, duo_scaling: true}
                    GPTQModifier: {scheme: W4A16, group_size: 32}
                """, true, "inline");
        LlamaModel x = new LlamaModel(c, new Random(4));
        var r2 = GoldenStick.compress(x, awqGptq, CompressInputs.calibration(new LlamaHelper(x, 48, null), samples));
        assertEquals(1, r2.algorithms().size(), "AWQ then GPTQ is one pass");
        assertEquals("awq+gptq", ((CalibratedWeightOnly) r2.algorithms().getFirst()).method().name());
        LlamaModel y = new LlamaModel(c, new Random(4));
        var awqDirect = WeightOnlyQuantizer.awq(y, samples, WeightOnlyQuantizer.uniform(PtqAlgorithm.targets(y, PTQConfig.rtn(w4)), w4),
                new WeightMethod.Awq(10, true, 0.5, org.goldenstick.ptq.Awq.DuoScaling.ON, true, WeightMethod.Gptq.defaults()), org.goldenstick.formats.safetensors.DType.F32,
                org.goldenstick.ptq.Awq.Applied.empty());
        assertEquals(new java.util.TreeMap<>(awqDirect), packed(x));

        var e = assertThrows(IllegalArgumentException.class, () -> GoldenStick.compress(new LlamaModel(c, new Random(1)), gptq, CompressInputs.none()));
        assertTrue(e.getMessage().contains("GPTQModifier calibrates"), e.getMessage());
        var mismatch = Recipe.parse("s:\n  q_modifiers:\n    AWQModifier: {scheme: W4A16}\n    GPTQModifier: {scheme: W8A16}\n", true, "inline");
        e = assertThrows(IllegalArgumentException.class, () -> GoldenStick.compress(new LlamaModel(c, new Random(1)), mismatch,
                CompressInputs.calibration(new LlamaHelper(new LlamaModel(c, new Random(1)), 48, null), samples)));
        assertTrue(e.getMessage().contains("same scheme"), e.getMessage());
    }

    @Test
    void slbAndScopRecipesHonourIgnore() {
        Recipes.Spec spec = Recipes.Spec.defaults("lenet", "digits").withEpochs(1);
        Recipes.Data data = Recipes.data(spec);
        Recipe scop = Recipe.parse("s:\n  p_modifiers:\n    SCOPModifier: {prune_rate: 0.5, knockoff_epochs: 0, ignore: ['^conv1$']}\n", true, "inline");
        assertEquals(List.of("^conv1$"), ((ScopModifier) scop.modifiers().getFirst()).ignore());
        Module net = Recipes.newModel(spec, data);
        var r = GoldenStick.compress(net, scop, CompressInputs.training(Recipes.trainLoader(spec, data), 0, 0.01));
        assertEquals(6, r.model().module("conv1").parameter("weight").shape()[0], "ignored: conv1 keeps its 6 channels");
        assertTrue(r.model().module("conv2").parameter("weight").shape()[0] < 16, "conv2 is pruned");
        var ft = (org.goldenstick.prune.PrunerFtCompressAlgo) r.algorithms().getLast();
        assertTrue(ft.skipped().stream().anyMatch(s -> s.path().equals("conv1") && s.reason().contains("^conv1$")), ft.skipped().toString());

        Recipe slb = Recipe.parse("s:\n  q_modifiers:\n    SLBModifier: {weight_quant_dtype: INT4, ignore: ['^fc1$']}\n", true, "inline");
        Module s = Recipes.newModel(spec, data);
        var q = GoldenStick.compress(s, slb, CompressInputs.training(Recipes.trainLoader(spec, data), 1, 0.01));
        assertEquals(org.goldenstick.nn.Linear.class, q.model().module("fc1").getClass(), "ignored: fc1 stays a float Linear");
        assertTrue(q.model().module("fc2").getClass() != org.goldenstick.nn.Linear.class, "fc2 is quantized: " + q.model().module("fc2").getClass());
        assertTrue(q.model().module("conv1").getClass() != org.goldenstick.nn.Conv2d.class, "conv1 is quantized");
    }
}
