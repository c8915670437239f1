package org.goldenstick.llm;

import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.goldenstick.data.DataPaths;

/**
 * Where the shipped demo model lives ({@code models/gstick-llama-demo} under the project root) and how
 * commands resolve their {@code --model} and {@code --text} defaults.
 *
 * <pre>{@code
 * Path dir = DemoModel.resolve(null);                 // the demo model, or a clear error if it is absent
 * Path text = DemoModel.heldoutText(dir, null);       // dir/heldout.txt
 * Path gguf = DemoModel.resolve(Path.of("m.gguf"));   // a GGUF model file is taken as is
 * }</pre>
 */
public final class DemoModel {
    /** Folder name of the demo model under {@code models/}. */
    public static final String NAME = "gstick-llama-demo";

    private DemoModel() {}

    /** {@code <project root>/models/gstick-llama-demo}. */
    public static Path defaultDir() {
        return DataPaths.root().resolve("models").resolve(NAME);
    }

    /** {@code model} if given, else the demo model folder; checks the folder has a config.json (or is a .gguf file). */
    public static Path resolve(Path model) throws NoSuchFileException {
        if (LlamaGguf.isGguf(model)) {
            if (!Files.isRegularFile(model)) throw new NoSuchFileException(model.toString(), null, "no such GGUF file");
            return model;
        }
        Path dir = model != null ? model : defaultDir();
        if (!Files.isRegularFile(dir.resolve("config.json"))) {
            throw new NoSuchFileException(dir.toString(), null, model != null
                    ? "not a model folder (no config.json)"
                    : "the demo model is not there (it is trained by './gstick train-lm'); pass --model DIR");
        }
        return dir;
    }

    /** {@code text} if given, else {@code heldout.txt} in the model folder (beside a .gguf model file); checks it exists. */
    public static Path heldoutText(Path modelDir, Path text) throws NoSuchFileException {
        Path folder = LlamaGguf.isGguf(modelDir) ? modelDir.toAbsolutePath().getParent() : modelDir;
        Path t = text != null ? text : folder.resolve("heldout.txt");
        if (!Files.isRegularFile(t)) {
            throw new NoSuchFileException(t.toString(), null, text != null ? "no such text file" : "the model folder has no heldout.txt; pass --text FILE");
        }
        return t;
    }
}
