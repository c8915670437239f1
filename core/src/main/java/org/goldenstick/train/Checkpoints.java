package org.goldenstick.train;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.goldenstick.formats.safetensors.SafetensorsFile;
import org.goldenstick.formats.safetensors.SafetensorsWriter;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;

/**
 * A module's state dict (parameters and buffers, PyTorch names) as a safetensors file with string metadata.
 * Values are F32 except {@code num_batches_tracked}, stored as I64 as PyTorch does. The file is written to a
 * temporary file and moved into place, so a crash never leaves a half-written checkpoint.
 *
 * <pre>{@code
 * Checkpoints.save(model, Path.of("lenet.safetensors"), Map.of("model", "lenet", "test_accuracy", "0.981"));
 * Map<String, String> meta = Checkpoints.load(freshModel, Path.of("lenet.safetensors"));
 * }</pre>
 */
public final class Checkpoints {
    private Checkpoints() {}

    public static void save(Module model, Path file, Map<String, String> metadata) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter().metadata(metadata);
        for (Map.Entry<String, Tensor> e : model.stateDict().entrySet()) {
            Tensor t = e.getValue();
            if (e.getKey().endsWith("num_batches_tracked")) {
                float[] d = t.data();
                long[] l = new long[d.length];
                for (int i = 0; i < d.length; i++) l[i] = (long) d[i];
                w.addInt64(e.getKey(), l, t.shape());
            } else {
                w.add(e.getKey(), t);
            }
        }
        w.write(file);
    }

    /**
     * Loads every tensor of {@code file} into {@code model} (strict: the key sets must match, and shapes must
     * agree) and returns the file's metadata.
     */
    public static Map<String, String> load(Module model, Path file) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Map<String, Tensor> state = new LinkedHashMap<>();
            for (String name : f.names()) state.put(name, f.toTensor(name));
            try {
                model.loadStateDict(state, true);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
            }
            return f.metadata();
        }
    }
}
