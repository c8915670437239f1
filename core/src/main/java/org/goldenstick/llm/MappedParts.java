package org.goldenstick.llm;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.goldenstick.formats.safetensors.SafetensorsEntry;
import org.goldenstick.formats.safetensors.SafetensorsFile;
import org.goldenstick.nn.Identity;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.FloatWeights;

/**
 * {@link LlamaParts} that are views of a checkpoint's mapped safetensors files: projections are {@link MappedLinear}s
 * and the embedding table a {@link TokenEmbedding} read in place (F32, F16 or BF16, no copy); norms and biases, which
 * are small, are copied. Each requested tensor is checked against the shape config.json implies; problems are
 * collected (a placeholder stands in, nothing of the config's size is allocated) and {@link #finish} reports them all,
 * together with tensors the model did not use, in one error naming the folder, file, tensor and both shapes.
 * Subclasses (the quantized loader) override {@link #linear} for layers stored in other forms.
 *
 * <pre>{@code
 * MappedParts parts = new MappedParts(dir, tensorsByName);
 * LlamaModel m = new LlamaModel(config, parts);
 * parts.finish(config);
 * }</pre>
 */
public class MappedParts implements LlamaParts {
    private final Path dir;
    private final Map<String, SafetensorsFile> files;
    private final List<String> problems = new ArrayList<>();
    private final Set<String> used = new HashSet<>();

    /** Views of the tensors of {@code files} (tensor name → the mapped file holding it) of the folder {@code dir}. */
    public MappedParts(Path dir, Map<String, SafetensorsFile> files) {
        this.dir = dir;
        this.files = files;
    }

    /** The folder, for messages. */
    protected final Path dir() {
        return dir;
    }

    /** The entry {@code name}, or null if the checkpoint has none. */
    protected final SafetensorsEntry entry(String name) {
        SafetensorsFile f = files.get(name);
        return f == null ? null : f.entry(name);
    }

    /** The file holding {@code name} (which must exist). */
    protected final Path fileOf(String name) {
        return files.get(name).path();
    }

    /** Records a problem to report in {@link #finish}. */
    protected final void problem(String message) {
        problems.add(message);
    }

    /** Marks checkpoint tensors as used by the model. */
    protected final void use(String... names) {
        used.addAll(Arrays.asList(names));
    }

    /** A stand-in for a part that could not be built (never run: {@link #finish} throws). */
    protected static Module placeholder() {
        return new Identity();
    }

    /**
     * The float tensor {@code name} with {@code shape} as a {@code [shape[0], rest]} view of the mapping, marked used;
     * or null after recording why it cannot be (missing, another shape, not F32/F16/BF16).
     */
    public final FloatWeights floatView(String name, int... shape) {
        use(name);
        SafetensorsEntry t = entry(name);
        if (t == null) {
            problem("missing tensor '" + name + "' (config.json implies shape " + Arrays.toString(shape) + ")");
            return null;
        }
        if (!Arrays.equals(t.shape(), shape)) {
            problem("tensor '" + name + "' in " + fileOf(name).getFileName() + " has shape " + Arrays.toString(t.shape()) + " but config.json implies " + Arrays.toString(shape));
            return null;
        }
        FloatWeights.Encoding enc = switch (t.dtype()) {
            case F32 -> FloatWeights.Encoding.F32;
            case BF16 -> FloatWeights.Encoding.BF16;
            case F16 -> FloatWeights.Encoding.F16;
            default -> null;
        };
        if (enc == null) {
            problem("tensor '" + name + "' in " + fileOf(name).getFileName() + " has dtype " + t.dtype() + "; a float tensor must be F32, F16 or BF16");
            return null;
        }
        int cols = 1;
        for (int i = 1; i < shape.length; i++) cols *= shape[i];
        return FloatWeights.of(t.segment(), 0, shape.length == 0 ? 1 : shape[0], cols, enc);
    }

    /** The (small) float tensor {@code name} of {@code shape} copied to the heap, or null (problem recorded). */
    protected final float[] floatVector(String name, int... shape) {
        FloatWeights w = floatView(name, shape);
        return w == null ? null : w.toFloats();
    }

    @Override
    public Module linear(String name, int in, int out, boolean bias) {
        FloatWeights w = floatView(name + ".weight", out, in);
        float[] b = bias ? floatVector(name + ".bias", out) : null;
        if (w == null || (bias && b == null)) return placeholder();
        return new MappedLinear(name, w, b, null);
    }

    @Override
    public RmsNorm norm(String name, int size, double eps, float offset) {
        float[] w = floatVector(name + ".weight", size);
        return new RmsNorm(w == null ? Tensor.zeros(1) : Tensor.of(w, size), eps, offset);
    }

    @Override
    public TokenEmbedding embedding(String name, int vocab, int dim) {
        FloatWeights w = floatView(name + ".weight", vocab, dim);
        return new TokenEmbedding(w == null ? FloatWeights.of(new float[0], 0, 0) : w);
    }

    /**
     * Throws one error listing every problem (up to eight) and every checkpoint tensor the model did not use (rotary
     * {@code inv_freq} buffers and a tied model's redundant {@code lm_head.weight} excepted).
     */
    public void finish(LlamaConfig config) {
        for (String name : files.keySet()) {
            if (used.contains(name) || name.endsWith("rotary_emb.inv_freq") || (config.tieWordEmbeddings() && name.equals("lm_head.weight"))) continue;
            problem("unexpected tensor '" + name + "' in " + fileOf(name).getFileName() + " (not part of a " + config.family().modelType() + " model with this config.json)");
        }
        if (problems.isEmpty()) return;
        int shown = Math.min(problems.size(), 8);
        throw new IllegalArgumentException(dir + ": checkpoint does not match config.json: " + String.join("; ", problems.subList(0, shown))
                + (problems.size() > shown ? "; and " + (problems.size() - shown) + " more" : ""));
    }
}
