package org.goldenstick.ptq;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.goldenstick.llm.LlamaDecoderLayer;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.llm.LlamaTransformer;
import org.goldenstick.progress.ProgressListener;
import org.goldenstick.progress.ProgressTask;
import org.goldenstick.tensor.GradMode;
import org.goldenstick.tensor.RopeTable;
import org.goldenstick.tensor.Tensor;

/**
 * Calibration one decoder layer at a time (GPTQ and AWQ): the calibration samples' hidden states at the input of
 * layer {@code l} are kept (one {@code [T, hidden]} array per sample), the layer is calibrated and quantized on them
 * alone, and the inputs of layer {@code l+1} are then computed by the <b>quantized</b> layer {@code l}. Memory is the
 * model, one layer's inputs for the calibration set and what the step keeps (a Hessian per linear of a stage).
 * With a {@link ResumeState} each finished layer is kept, so that an interrupted run continues after it.
 *
 * <pre>{@code
 * LayerByLayer.run(model, samples, (index, prefix, layer, inputs) -> { ... quantize layer, using inputs.forward() ... });
 * }</pre>
 */
final class LayerByLayer {
    private LayerByLayer() {}

    /** The hidden states entering one decoder layer, one array per calibration sample. */
    static final class Inputs {
        private final List<float[]> states;
        private final List<Integer> lengths;
        private final int hidden;
        private final RopeTable rope;
        private final LlamaDecoderLayer layer;

        Inputs(List<float[]> states, List<Integer> lengths, int hidden, RopeTable rope, LlamaDecoderLayer layer) {
            this.states = states;
            this.lengths = lengths;
            this.hidden = hidden;
            this.rope = rope;
            this.layer = layer;
        }

        int samples() {
            return states.size();
        }

        long tokens() {
            long t = 0;
            for (int n : lengths) t += n;
            return t;
        }

        RopeTable rope() {
            return rope;
        }

        float[] state(int i) {
            return states.get(i);
        }

        int length(int i) {
            return lengths.get(i);
        }

        /** Runs the layer (as it is now: observers and processed weights included) on sample {@code i}. */
        float[] forward(int i) {
            try (var ignored = GradMode.off()) {
                int t = lengths.get(i);
                return layer.forward(Tensor.of(states.get(i), 1, t, hidden), rope).data();
            }
        }

        /** Runs the layer on every sample (for observers that record what flows in). */
        void forwardAll() {
            for (int i = 0; i < samples(); i++) forward(i);
        }
    }

    interface Step {
        void quantize(int index, String prefix, LlamaDecoderLayer layer, Inputs inputs);
    }

    /**
     * What a resumable run keeps of each finished layer besides the layer's own float tensors: the caller's results
     * for that layer (packed weights, AWQ scales), as {@link ResumeState} values, and how to put them back.
     */
    interface Results {
        Map<String, Object> save(String prefix);

        void restore(String prefix, Map<String, Object> saved);
    }

    /** Test hook: called with each layer index once that layer's unit is saved. */
    static java.util.function.IntConsumer layerDone = i -> {};

    static void run(LlamaModel model, List<int[]> samples, Step step, ProgressListener progress) {
        run(model, samples, step, progress, null, null);
    }

    /**
     * As above; with a {@code state} (not null) each finished layer is saved as a unit — its float tensors (processed
     * weights, folded norms) and {@code results} — followed by the next layer's inputs, and a continuing state skips
     * the finished layers: their tensors and results are put back and the run goes on from the saved inputs. Every
     * saved value is exact, so the result is the same as an uninterrupted run's.
     */
    static void run(LlamaModel model, List<int[]> samples, Step step, ProgressListener progress, ResumeState state, Results results) {
        LlamaTransformer tr = model.transformer();
        int d = model.config().hiddenSize();
        int maxT = 0;
        for (int[] s : samples) maxT = Math.max(maxT, s.length);
        RopeTable rope = model.config().ropeTable(maxT);
        List<float[]> states = new ArrayList<>();
        List<Integer> lengths = new ArrayList<>();
        for (int[] s : samples) {
            float[] x = new float[s.length * d];
            tr.embed(s, x);
            states.add(x);
            lengths.add(s.length);
        }
        ProgressTask p = ProgressTask.start(ProgressListener.orSilent(progress), "layers", tr.numLayers(), "layer");
        int start = 0;
        Map<String, Object> saved = state == null ? null : state.load(INPUTS);
        if (saved != null) {
            int done = (int) ((long[]) saved.get("layer"))[0];
            List<Map<String, Object>> units = new ArrayList<>();
            for (int l = 0; l <= done && l < tr.numLayers(); l++) units.add(state.load(LAYER + l));
            if (done < tr.numLayers() && !units.contains(null)) {
                for (int l = 0; l <= done; l++) {
                    Map<String, Object> u = units.get(l);
                    tr.layer(l).stateDict().forEach((n, t) -> {
                        float[] v = (float[]) u.get(TENSOR + n);
                        System.arraycopy(v, 0, t.data(), 0, v.length);
                    });
                    results.restore("model.layers." + l + ".", u);
                }
                List<float[]> restored = new ArrayList<>();
                for (int i = 0; i < lengths.size(); i++) restored.add((float[]) saved.get("state." + i));
                states = restored;
                start = done + 1;
                p.advance(start, start, "resumed after model.layers." + done);
            }
        }
        for (int l = start; l < tr.numLayers(); l++) {
            LlamaDecoderLayer layer = tr.layer(l);
            Inputs in = new Inputs(states, lengths, d, rope, layer);
            String prefix = "model.layers." + l + ".";
            step.quantize(l, prefix, layer, in);
            List<float[]> next = new ArrayList<>();
            for (int i = 0; i < in.samples(); i++) next.add(in.forward(i));
            states = next;
            if (state != null) {
                // the layer first, then the inputs naming it: inputs of layer l imply that units 0..l exist
                Map<String, Object> unit = new LinkedHashMap<>(results.save(prefix));
                layer.stateDict().forEach((n, t) -> unit.put(TENSOR + n, t.data().clone()));
                state.save(LAYER + l, unit);
                Map<String, Object> inputs = new LinkedHashMap<>();
                inputs.put("layer", new long[] {l});
                for (int i = 0; i < states.size(); i++) inputs.put("state." + i, states.get(i));
                state.save(INPUTS, inputs);
                layerDone.accept(l);
            }
            p.advance(1, 1, "model.layers." + l);
        }
        p.finish("");
    }

    private static final String INPUTS = "inputs", LAYER = "layer-", TENSOR = "t.";
}
