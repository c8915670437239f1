package org.goldenstick.cli;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Map;
import org.goldenstick.tensor.Tensor;

/**
 * Runs an exported classifier (input "input" {@code [N, ...]}, output {@code [N, classes]}) in ONNX Runtime and
 * compares it with the labels and with our own predictions: the check that the export runs in a real runtime.
 *
 * <pre>{@code
 * OnnxRuntimeCheck.Result r = OnnxRuntimeCheck.run(Path.of("lenet-int8.onnx"), testX, labels, ourPredictions);
 * }</pre>
 */
public final class OnnxRuntimeCheck {
    private OnnxRuntimeCheck() {}

    /** Top-1 accuracy against the labels and top-1 agreement with {@code reference}. */
    public record Result(double accuracy, double agreement, int[] predictions) {}

    public static Result run(Path onnx, Tensor inputs, int[] labels, int[] reference) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        int n = inputs.dim(0), per = inputs.numel() / n;
        int[] preds = new int[n];
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setIntraOpNumThreads(1);
            try (OrtSession s = env.createSession(onnx.toString(), so)) {
                for (int start = 0; start < n; start += 256) {
                    int b = Math.min(256, n - start);
                    long[] shape = new long[inputs.rank()];
                    shape[0] = b;
                    for (int i = 1; i < shape.length; i++) shape[i] = inputs.dim(i);
                    FloatBuffer buf = FloatBuffer.wrap(inputs.data(), start * per, b * per).slice();
                    try (OnnxTensor x = OnnxTensor.createTensor(env, buf, shape); OrtSession.Result r = s.run(Map.of("input", x))) {
                        float[][] y = (float[][]) r.get(0).getValue();
                        for (int i = 0; i < b; i++) {
                            int best = 0;
                            for (int c = 1; c < y[i].length; c++) if (y[i][c] > y[i][best]) best = c;
                            preds[start + i] = best;
                        }
                    }
                }
            }
        }
        int correct = 0, agree = 0;
        for (int i = 0; i < n; i++) {
            if (preds[i] == labels[i]) correct++;
            if (reference != null && preds[i] == reference[i]) agree++;
        }
        return new Result(correct / (double) n, reference == null ? Double.NaN : agree / (double) n, preds);
    }
}
