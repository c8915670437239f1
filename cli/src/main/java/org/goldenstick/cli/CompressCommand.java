package org.goldenstick.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.goldenstick.compress.CompressInputs;
import org.goldenstick.compress.GoldenStick;
import org.goldenstick.compress.Modifier;
import org.goldenstick.compress.Recipe;
import org.goldenstick.compress.AwqModifier;
import org.goldenstick.compress.GptqModifier;
import org.goldenstick.compress.RtnModifier;
import org.goldenstick.llm.tokenizer.Tokenizer;
import org.goldenstick.llm.tokenizer.Tokenizers;
import org.goldenstick.ptq.WeightMethod;
import org.goldenstick.compress.SmoothQuantModifier;
import org.goldenstick.nn.Module;
import org.goldenstick.prune.PrunedCheckpoints;
import org.goldenstick.ptq.PTQConfig;
import org.goldenstick.ptq.PtqReport;
import org.goldenstick.ptq.Quantizer;
import org.goldenstick.ptq.SmoothingMapping;
import org.goldenstick.rewrite.CompAlgo;
import org.goldenstick.train.Checkpoints;
import org.goldenstick.train.Evaluator;
import org.goldenstick.progress.ProgressListener;
import org.goldenstick.train.Recipes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code gstick compress --recipe FILE}: runs a recipe file ({@link Recipe}, YAML or JSON in llm-compressor's shape)
 * with the library's one verb, {@link GoldenStick#compress}. A recipe of QAT/pruning modifiers runs on a CNN (trained by
 * its recipe, or {@code --from} a checkpoint), fine-tunes and writes the compressed network; a post-training recipe
 * (one SmoothQuant or RTN modifier) quantizes a Hugging Face Llama folder into {@code --out}.
 */
@Command(name = "compress", mixinStandardHelpOptions = true,
        description = {"Run a compression recipe file (YAML or JSON) on a CNN with fine-tuning, or on a Llama model folder.",
                "Modifiers: SimQATModifier, SLBModifier, SCOPModifier (CNNs); SmoothQuantModifier, QuantizationModifier, GPTQModifier, AWQModifier (Llama).",
                "Format: docs/recipes.md; examples: recipes/."})
public final class CompressCommand implements Callable<Integer> {
    @Option(names = "--recipe", required = true, paramLabel = "FILE", description = "the recipe file (.yaml/.yml, or .json)")
    Path recipeFile;

    @Mixin
    RecipeOptions recipe;

    @Option(names = "--model", description = "lenet | resnet8 | resnet20 for QAT/pruning recipes (default: lenet); a Llama folder for post-training ones (default: models/gstick-llama-demo)")
    String model;

    @Option(names = "--from", description = "start from this FP32 checkpoint (gstick train --out) instead of training")
    Path from;

    @Option(names = "--ft-epochs", description = "fine-tuning epochs of each modifier (default: a quarter of the recipe's, at least 2)")
    Integer ftEpochs;

    @Option(names = "--ft-lr-scale", defaultValue = "0.1", description = "fine-tuning learning rate as a fraction of the recipe's (default: ${DEFAULT-VALUE})")
    double ftLrScale;

    @Option(names = "--calib", description = "post-training: calibration text file or folder (default: <model>/calib.txt, else <model>/heldout.txt)")
    Path calib;

    @Option(names = "--calib-samples", defaultValue = "64", description = "post-training: maximum calibration samples (default: ${DEFAULT-VALUE})")
    int calibSamples;

    @Option(names = "--seq-len", defaultValue = "256", description = "post-training: calibration sample length in tokens (default: ${DEFAULT-VALUE})")
    int seqLen;

    @Option(names = "--out", description = "output: a new folder for post-training recipes (required); the compressed network's safetensors file otherwise (default: runs/compress/<model>-<dataset>-<recipe>.safetensors)")
    Path out;

    @Option(names = "--json", description = "print one JSON object instead of text")
    boolean json;

    /** The {@code --json} object (docs/cli.md). */
    record CompressJson(Path recipe, List<String> modifiers, String model, String dataset, Double fp32Accuracy, Double compressedAccuracy,
                        Double accuracyDropPoints, Path out, long compressedBytes, Map<String, String> nullReasons) {}

    @Override
    public Integer call() throws Exception {
        Recipe r = Recipe.load(recipeFile);
        List<String> names = r.modifiers().stream().map(Modifier::recipeName).toList();
        return r.postTrainingOnly() ? postTraining(r, names) : withTraining(r, names);
    }

    private int postTraining(Recipe r, List<String> names) throws Exception {
        boolean awqThenGptq = names.equals(List.of("AWQModifier", "GPTQModifier"));
        if (r.modifiers().size() != 1 && !awqThenGptq) {
            throw new IllegalArgumentException(recipeFile + ": a post-training recipe runs one modifier (or AWQModifier then GPTQModifier) per gstick compress, got " + names);
        }
        if (out == null) throw new IllegalArgumentException("--out is required for a post-training recipe (a new model folder)");
        Path root = Path.of(System.getProperty("gstick.root", "."));
        Path dir = model != null ? Path.of(model) : root.resolve("models/gstick-llama-demo");
        if (!Files.isDirectory(dir)) throw new IllegalArgumentException(dir + ": model folder not found");
        PTQConfig cfg;
        List<SmoothingMapping> mappings = null; // the model family's unless the recipe lists them
        Path calibText = calib != null ? calib : Files.isRegularFile(dir.resolve("calib.txt")) ? dir.resolve("calib.txt") : dir.resolve("heldout.txt");
        WeightMethod method = null;
        switch (r.modifiers().getFirst()) {
            case SmoothQuantModifier s -> {
                cfg = s.config();
                mappings = s.mappings();
            }
            case RtnModifier q -> {
                cfg = q.config();
                calibText = null;
            }
            case GptqModifier g -> {
                cfg = g.config();
                method = g.method();
            }
            case AwqModifier a -> {
                if (awqThenGptq && !(r.modifiers().get(1) instanceof GptqModifier g && g.scheme().equals(a.scheme()) && g.ignore().equals(a.ignore()))) {
                    throw new IllegalArgumentException(recipeFile + ": AWQModifier then GPTQModifier run as one pass and need the same scheme and ignore list");
                }
                cfg = a.config();
                method = awqThenGptq ? a.method().then(((GptqModifier) r.modifiers().get(1)).method()) : a.method();
            }
            default -> throw new IllegalStateException("not a post-training modifier: " + names);
        }
        PtqReport rep;
        if (method != null) {
            Tokenizer tok = Tokenizers.load(dir);
            rep = Quantizer.quantizeWeights(dir, out, cfg, method, null, calibText, calibSamples, seqLen, t -> tok.encode(t, true), CliProgress.of(json));
        } else {
            rep = Quantizer.quantize(dir, out, cfg, mappings, calibText, calibSamples, seqLen, null, CliProgress.of(json));
        }
        var why = new Json.Reasons();
        String reason = "post-training recipe: run gstick eval --model " + out + " --ref " + dir;
        CompressJson j = new CompressJson(recipeFile, names, dir.toString(), why.present("dataset", null, reason), why.present("fp32_accuracy", null, reason),
                why.present("compressed_accuracy", null, reason), why.present("accuracy_drop_points", null, reason), out, rep.outputBytes(), why.map());
        if (json) Json.print(j);
        else System.out.println(rep.summary() + "\nwrote " + out);
        return 0;
    }

    private int withTraining(Recipe r, List<String> names) throws Exception {
        Recipes.Spec spec = recipe.spec(model == null ? "lenet" : model);
        String stem = spec.model() + "-" + spec.dataset() + "-" + recipeFile.getFileName().toString().replaceFirst("\\.[^.]*$", "");
        Path file = out != null ? out : Path.of("runs/compress").resolve(stem + ".safetensors");
        if (Files.exists(file)) throw new IllegalArgumentException(file + ": output already exists; remove it or choose another --out");
        recipe.checkNoImageFolder("compress");
        Recipes.Data data = Recipes.data(spec);
        Module net = Recipes.newModel(spec, data);
        ProgressListener bar = CliProgress.of(json);
        double fp32;
        if (from != null) {
            Checkpoints.load(net, from);
            fp32 = Evaluator.evaluate(net, Recipes.testLoader(spec, data)).accuracy();
        } else {
            fp32 = Recipes.train(spec, net, data, List.of(), bar).testAccuracy();
        }
        int epochs = ftEpochs != null ? ftEpochs : Math.max(2, spec.epochs() / 4);
        GoldenStick.Result res = GoldenStick.compress(net, r, CompressInputs.training(Recipes.trainLoader(spec, data), epochs, spec.lr() * ftLrScale));
        double acc = Evaluator.evaluate(res.model(), Recipes.testLoader(spec, data)).accuracy();
        List<Path> written = new ArrayList<>();
        Object last = res.algorithms().getLast();
        Path parent = file.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        if (last instanceof CompAlgo algo && !(last instanceof org.goldenstick.prune.PrunerFtCompressAlgo)) {
            int[] sample = data.train().sampleShape();
            String prefix = file.toString().replaceFirst("\\.safetensors$", "");
            written.addAll(algo.exportDeployModel(res.model(), Path.of(prefix), sample));
        } else {
            PrunedCheckpoints.save(res.model(), file, Map.of("model", spec.model(), "dataset", spec.dataset(), "recipe", recipeFile.getFileName().toString()));
            written.add(file);
        }
        Path main = written.getFirst();
        var why = new Json.Reasons();
        if (json) {
            Json.print(new CompressJson(recipeFile, names, spec.model(), spec.dataset(), fp32, acc, 100 * (fp32 - acc), main, Files.size(main), why.map()));
        } else {
            System.out.printf(Locale.ROOT, "%s on %s, recipe %s %s: FP32 accuracy %.2f%%, compressed %.2f%%%n", spec.model(), spec.dataset(), recipeFile, names,
                    100 * fp32, 100 * acc);
            System.out.println("written: " + written);
        }
        return 0;
    }
}
