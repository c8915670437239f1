package org.goldenstick.ptq;

import java.util.ArrayList;
import java.util.List;
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

    static void run(LlamaModel model, List<int[]> samples, Step step, ProgressListener progress) {
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
        for (int l = 0; l < tr.numLayers(); l++) {
            LlamaDecoderLayer layer = tr.layer(l);
            Inputs in = new Inputs(states, lengths, d, rope, layer);
            step.quantize(l, "model.layers." + l + ".", layer, in);
            List<float[]> next = new ArrayList<>();
            for (int i = 0; i < in.samples(); i++) next.add(in.forward(i));
            states = next;
            p.advance(1, 1, "model.layers." + l);
        }
        p.finish("");
    }
}
