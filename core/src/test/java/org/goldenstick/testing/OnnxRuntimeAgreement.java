package org.goldenstick.testing;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Map;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.train.Inference;

/**
 * Runs an exported ONNX file in ONNX Runtime on a set of inputs and compares it with our network: top-1 agreement and
 * the largest absolute logit difference (for tests that check an export against the network it came from).
 *
 * <pre>{@code
 * var a = OnnxRuntimeAgreement.measure(onnx, net, testInputs);
 * assertTrue(a.agreement() >= 0.995, a.toString());
 * }</pre>
 */
public record OnnxRuntimeAgreement(int agree, int n, double maxLogitError, double maxLogit) {
    public double agreement() {
        return agree / (double) n;
    }

    /** ONNX Runtime's logits {@code [n][classes]} for {@code x} (input name "input"). */
    public static float[][] logits(Path onnx, Tensor x) throws Exception {
        float[] flat = output(onnx, x);
        int n = x.dim(0), k = flat.length / n;
        float[][] out = new float[n][];
        for (int i = 0; i < n; i++) out[i] = java.util.Arrays.copyOfRange(flat, i * k, (i + 1) * k);
        return out;
    }

    /** ONNX Runtime's first output for {@code x} (input name "input"), flattened row-major, whatever its rank. */
    public static float[] output(Path onnx, Tensor x) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long[] shape = new long[x.rank()];
        for (int i = 0; i < shape.length; i++) shape[i] = x.dim(i);
        try (OrtSession s = env.createSession(onnx.toString(), new OrtSession.SessionOptions());
             OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x.data()), shape);
             OrtSession.Result r = s.run(Map.of("input", in))) {
            FloatBuffer fb = ((OnnxTensor) r.get(0)).getFloatBuffer();
            float[] out = new float[fb.remaining()];
            fb.get(out);
            return out;
        }
    }

    public static OnnxRuntimeAgreement measure(Path onnx, Module net, Tensor x) throws Exception {
        float[][] ort = logits(onnx, x);
        float[] ours = Inference.logits(net, x);
        int n = x.dim(0), k = ort[0].length, agree = 0;
        double err = 0, max = 0;
        for (int i = 0; i < n; i++) {
            int a = 0, b = 0;
            for (int c = 0; c < k; c++) {
                if (ort[i][c] > ort[i][a]) a = c;
                if (ours[i * k + c] > ours[i * k + b]) b = c;
                err = Math.max(err, Math.abs(ort[i][c] - ours[i * k + c]));
                max = Math.max(max, Math.abs(ours[i * k + c]));
            }
            if (a == b) agree++;
        }
        return new OnnxRuntimeAgreement(agree, n, err, max);
    }

    @Override
    public String toString() {
        return String.format("ONNX Runtime top-1 agreement %d/%d (%.2f %%), max |logit difference| %.3g (max |logit| %.3g)", agree, n, 100 * agreement(),
                maxLogitError, maxLogit);
    }
}
