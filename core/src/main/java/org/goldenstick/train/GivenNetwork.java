package org.goldenstick.train;

import java.util.function.Supplier;
import org.goldenstick.nn.Module;

/**
 * A network given to a workflow from outside the recipes' built-in models, already trained (e.g. imported from an ONNX
 * file): the workflow starts from its weights instead of training one of {@link Recipes#MODELS}, names its files after
 * {@code name}, and calls {@code fresh} again when it needs a second, untouched copy (the FP32 side of a speed
 * comparison). The recipe still gives the data set and the hyper-parameters of fine-tuning.
 *
 * <pre>{@code
 * GivenNetwork g = new GivenNetwork("mobilenet", () -> OnnxImport.load(file).module());
 * }</pre>
 *
 * @param name  a short name for file names and reports (letters, digits, '.', '_' and '-')
 * @param fresh builds a new copy of the network with its given weights on each call
 */
public record GivenNetwork(String name, Supplier<Module> fresh) {
    public GivenNetwork {
        if (name == null || !name.matches("[A-Za-z0-9._-]+")) throw new IllegalArgumentException("network name '" + name + "' must be letters, digits, '.', '_' or '-'");
        if (fresh == null) throw new IllegalArgumentException("GivenNetwork " + name + ": no factory");
    }

    /** A new copy of the network. */
    public Module create() {
        Module m = fresh.get();
        if (m == null) throw new IllegalStateException("GivenNetwork " + name + ": the factory returned null");
        return m;
    }
}
