package org.goldenstick.cli.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Map;
import org.goldenstick.nn.Layer;
import org.goldenstick.tensor.Tensor;

/**
 * An ONNX classifier file (input "input" {@code [N, ...]}, output {@code [N, classes]}) run by ONNX Runtime behind the
 * {@code Module} interface, so a benchmark times it in the same interleaved rounds as our own networks
 * ({@code Inference.compareImagesPerSecond}). Full graph optimization (ONNX Runtime fuses our QDQ pairs into its integer
 * kernels), {@code threads} intra-op threads.
 *
 * <pre>{@code
 * try (OrtClassifier ort = new OrtClassifier(Path.of("lenet-int8.onnx"), 2)) {
 *     double[] ips = Inference.compareImagesPerSecond(List.of(fp32, int8, ort), inputs, 6);
 * }
 * }</pre>
 */
final class OrtClassifier extends Layer implements AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession.SessionOptions options;
    private final OrtSession session;

    OrtClassifier(Path onnx, int threads) throws OrtException {
        options = new OrtSession.SessionOptions();
        try {
            options.setIntraOpNumThreads(threads);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            session = env.createSession(onnx.toString(), options);
        } catch (OrtException | RuntimeException e) {
            options.close();
            throw e;
        }
    }

    @Override
    protected Tensor compute(Tensor x) {
        long[] shape = new long[x.rank()];
        for (int i = 0; i < shape.length; i++) shape[i] = x.dim(i);
        try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x.data()), shape);
             OrtSession.Result r = session.run(Map.of("input", in))) {
            float[][] y = (float[][]) r.get(0).getValue();
            float[] flat = new float[y.length * y[0].length];
            for (int i = 0; i < y.length; i++) System.arraycopy(y[i], 0, flat, i * y[0].length, y[0].length);
            return Tensor.of(flat, y.length, y[0].length);
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed on the exported network: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() throws OrtException {
        try {
            session.close();
        } finally {
            options.close();
        }
    }

    @Override
    public String describe() {
        return "OrtClassifier";
    }
}
