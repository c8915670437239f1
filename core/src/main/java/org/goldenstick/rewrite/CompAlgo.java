package org.goldenstick.rewrite;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.goldenstick.graph.ModelGraph;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.train.LossFunction;
import org.goldenstick.train.TrainCallback;
import org.goldenstick.train.TrainContext;

/**
 * The one way to apply a compression algorithm (upstream {@code CompAlgo}, spec §2):
 * <ol>
 *   <li>{@link #apply} rewrites a network for compression-aware training (or calibration) and returns it;</li>
 *   <li>train it with {@link #callbacks()} and {@link #loss};</li>
 *   <li>{@link #convert} turns it into the deploy network.</li>
 * </ol>
 * With {@link #setSaveDeployModel(boolean) save-deploy-model} on (upstream {@code set_save_mindir}), the base
 * callbacks convert the trained network at the end of training and export it to
 * {@link #setSaveDeployModelPath(Path) the deploy path} via {@link #exportDeployModel}.
 *
 * <pre>{@code
 * CompAlgo algo = new SimQAT(SimQATConfig.defaults());
 * Module qnet = algo.apply(net, ApplyOptions.none());
 * Trainer.Builder b = Trainer.builder(qnet, opt).loss(algo.loss(LossFunction.crossEntropy()));
 * algo.callbacks().forEach(b::callback);
 * b.build().fit(train);
 * Module deploy = algo.convert(qnet);
 * }</pre>
 */
public abstract class CompAlgo {
    private boolean saveDeployModel;
    private Path saveDeployModelPath = Path.of("./network").toAbsolutePath().normalize();

    /** Rewrites {@code network} for this algorithm and returns the network to train (may be the same object). */
    public abstract Module apply(Module network, ApplyOptions options);

    public final Module apply(Module network) {
        return apply(network, ApplyOptions.none());
    }

    /**
     * Traces {@code network} for this algorithm: on the {@code "example_input"} option (a {@code Tensor} with a batch
     * axis), else on a sample of the {@code "input_shape"} option (an {@code int[]} without batch axis), else on a sample
     * of {@link Module#exampleInputShape()}; with none of these the error says what to pass.
     */
    protected final ModelGraph trace(Module network, ApplyOptions options) {
        Tensor example = options.get("example_input", Tensor.class);
        if (example != null) return ModelGraph.trace(network, example);
        int[] shape = options.get("input_shape", int[].class);
        if (shape == null) shape = network.exampleInputShape();
        if (shape == null) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": cannot trace " + network.getClass().getSimpleName()
                    + ": give one sample's shape, e.g. apply(net, ApplyOptions.of(Map.of(\"input_shape\", new int[] {1, 28, 28}))), or override Module.exampleInputShape()");
        }
        return ModelGraph.trace(network, shape);
    }

    /** The deploy network; the base returns {@code network} unchanged. */
    public Module convert(Module network) {
        return network;
    }

    /**
     * Training callbacks: subclasses put theirs first and end with {@code super.callbacks()}. The base list holds the
     * deploy-export callback when saving is enabled.
     */
    public List<TrainCallback> callbacks() {
        List<TrainCallback> out = new ArrayList<>();
        if (saveDeployModel) out.add(new ExportAtTrainEnd());
        return out;
    }

    /** The training loss for this algorithm; the base returns {@code loss} unchanged. */
    public LossFunction loss(LossFunction loss) {
        return loss;
    }

    public void setSaveDeployModel(boolean on) {
        this.saveDeployModel = on;
    }

    public boolean saveDeployModel() {
        return saveDeployModel;
    }

    /**
     * Where the deploy model goes (a path prefix: {@code <path>.safetensors}, {@code <path>.onnx}). Stored as an absolute
     * path; null or blank is an error. Setting it while saving is off only stores it (upstream warns).
     */
    public void setSaveDeployModelPath(Path path) {
        if (path == null || path.toString().isBlank()) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": 'save_deploy_model_path' should be a non-empty path but got " + path);
        }
        this.saveDeployModelPath = path.toAbsolutePath().normalize();
    }

    public Path saveDeployModelPath() {
        return saveDeployModelPath;
    }

    /**
     * What the last {@link #apply} rewrote, as text (a table per layer), or null when the algorithm keeps no summary.
     * Workflows send it to their {@link org.goldenstick.progress.ProgressListener}; algorithms print nothing themselves.
     */
    public String applySummary() {
        return null;
    }

    /**
     * The algorithm and its bit widths as a short file-name part, e.g. {@code simqat-w8a8} or {@code slb-w2a32}, so that
     * outputs of different algorithms or widths never share a name. The base uses the lower-cased class name.
     */
    public String deployTag() {
        return getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT);
    }

    /**
     * Writes a converted network to files starting with {@code pathPrefix} and returns them; {@code sampleShape} is one
     * input sample's shape (from the last training batch, as upstream passes the dataset to fix shapes). The base has
     * no deploy format and throws; algorithms override it.
     */
    public List<Path> exportDeployModel(Module deploy, Path pathPrefix, int[] sampleShape) throws IOException {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " has no deploy export");
    }

    private final class ExportAtTrainEnd implements TrainCallback {
        @Override
        public void onTrainEnd(TrainContext ctx) {
            int[] shape = ctx.batch() == null ? null : ctx.batch().inputs().shape();
            if (shape == null) throw new IllegalStateException("deploy export: no training batch seen, cannot fix the input shape");
            int[] sample = java.util.Arrays.copyOfRange(shape, 1, shape.length);
            try {
                Path parent = saveDeployModelPath.getParent();
                if (parent != null) Files.createDirectories(parent);
                exportDeployModel(convert(ctx.model()), saveDeployModelPath, sample);
            } catch (IOException e) {
                throw new UncheckedIOException("deploy export to " + saveDeployModelPath + " failed: " + e.getMessage(), e);
            }
        }
    }
}
