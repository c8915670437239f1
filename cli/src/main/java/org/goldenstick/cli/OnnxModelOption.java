package org.goldenstick.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.goldenstick.importer.ImportedNetwork;
import org.goldenstick.importer.OnnxImport;
import org.goldenstick.train.GivenNetwork;
import org.goldenstick.train.Recipes;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code --onnx FILE}, shared by {@code train}, {@code qat} and {@code prune} (a picocli mixin): a float ONNX network
 * ({@link OnnxImport}, docs/onnx-import.md) in place of {@code --model}. The file is imported and checked against the
 * data set (input shape, number of classes) before any work; the LeNet recipe of the data set gives the
 * hyper-parameters ({@code --epochs}, {@code --lr} override them).
 *
 * <pre>{@code
 * @Mixin OnnxModelOption onnx;
 * Recipes.Spec spec = recipe.spec(onnx.recipeModel(model));
 * GivenNetwork net = onnx.network(Recipes.data(spec));     // null without --onnx
 * }</pre>
 */
public final class OnnxModelOption {
    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    @Option(names = "--onnx", paramLabel = "FILE", description = "a float ONNX network (CNN) to start from, in place of --model (see docs/onnx-import.md)")
    Path file;

    /** True when {@code --onnx} was given. */
    public boolean given() {
        return file != null;
    }

    /** The recipe whose hyper-parameters apply: {@code model}, or LeNet's for an ONNX network; --model with --onnx is an error. */
    public String recipeModel(String model) {
        if (file == null) return model;
        if (command != null && command.commandLine() != null && command.commandLine().getParseResult() != null
                && command.commandLine().getParseResult().hasMatchedOption("--model")) {
            throw new IllegalArgumentException("--onnx and --model are alternatives; give one");
        }
        return "lenet";
    }

    /** The network's name in file names and reports (the file name without .onnx), or {@code model} without --onnx. */
    public String name(String model) {
        if (file == null) return model;
        String n = file.getFileName().toString().replaceFirst("(?i)\\.onnx$", "").replaceAll("[^A-Za-z0-9._-]", "_");
        return n.isEmpty() ? "onnx" : n;
    }

    /**
     * Imports the file now (a truncated file or an unsupported op fails here, before any training) and checks that it
     * takes the data set's samples and has one output per class; null without {@code --onnx}.
     */
    public GivenNetwork network(Recipes.Data data) throws IOException {
        if (file == null) return null;
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException("--onnx " + file + ": no such file");
        ImportedNetwork first = OnnxImport.load(file);
        int[] want = data.train().sampleShape();
        if (!Arrays.equals(first.inputShape(), want)) {
            throw new IllegalArgumentException("--onnx " + file + ": the network takes samples of shape " + Arrays.toString(first.inputShape()) + " (input '"
                    + first.inputName() + "'), the data set has " + Arrays.toString(want));
        }
        if (first.outputWidth() != data.numClasses()) {
            throw new IllegalArgumentException("--onnx " + file + ": output '" + first.outputName() + "' has " + first.outputWidth() + " values per sample, the data set has "
                    + data.numClasses() + " classes");
        }
        boolean[] used = {false};
        return new GivenNetwork(name("onnx"), () -> {
            if (!used[0]) {  // the first copy is the one already imported
                used[0] = true;
                return first.module();
            }
            try {
                return OnnxImport.load(file).module();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }
}
