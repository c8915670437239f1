package org.goldenstick.ptq.onnx;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.goldenstick.llm.tokenizer.WordPieceTokenizer;

/**
 * A BERT-family encoder graph in an ONNX Runtime session: feeds a tokenized batch to whichever of
 * {@code input_ids}, {@code attention_mask} and {@code token_type_ids} the graph declares, and returns any
 * float outputs by name (the graph's own, or intermediate tensors exposed as extra outputs for calibration).
 *
 * <pre>{@code
 * try (OrtEncoder enc = OrtEncoder.open(modelBytes, 2)) {
 *     float[][] emb = enc.sentenceEmbeddings(tokenizer.encodeBatch(sentences));
 * }
 * }</pre>
 */
public final class OrtEncoder implements AutoCloseable {
    /** A float tensor read back from the runtime. */
    public record Output(float[] data, long[] shape) {}

    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;
    private final List<String> inputNames;
    private final String firstOutput;

    private OrtEncoder(OrtSession session) throws OrtException {
        this.session = session;
        this.inputNames = new ArrayList<>(session.getInputNames());
        this.firstOutput = session.getOutputNames().iterator().next();
        for (String in : inputNames) {
            if (!in.equals("input_ids") && !in.equals("attention_mask") && !in.equals("token_type_ids")) {
                throw new IllegalArgumentException("graph input '" + in + "' is not one of input_ids, attention_mask, token_type_ids: not a BERT-style encoder");
            }
        }
        if (!inputNames.contains("input_ids")) throw new IllegalArgumentException("the graph has no 'input_ids' input");
    }

    /** Opens a serialized model with {@code threads} intra-op threads (0: the runtime's default) and full graph optimization. */
    public static OrtEncoder open(byte[] model, int threads) throws OrtException {
        try (OrtSession.SessionOptions so = options(threads)) {
            return new OrtEncoder(OrtEnvironment.getEnvironment().createSession(model, so));
        }
    }

    public static OrtEncoder open(java.nio.file.Path model, int threads) throws OrtException {
        try (OrtSession.SessionOptions so = options(threads)) {
            return new OrtEncoder(OrtEnvironment.getEnvironment().createSession(model.toString(), so));
        }
    }

    private static OrtSession.SessionOptions options(int threads) throws OrtException {
        OrtSession.SessionOptions so = new OrtSession.SessionOptions();
        if (threads > 0) so.setIntraOpNumThreads(threads);
        so.setInterOpNumThreads(1);
        so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        return so;
    }

    /** The float outputs {@code names} for one batch. */
    public Map<String, Output> run(WordPieceTokenizer.Batch b, List<String> names) throws OrtException {
        long[] shape = {b.rows(), b.length()};
        Map<String, OnnxTensor> feeds = new HashMap<>();
        try {
            for (String in : inputNames) {
                long[] v = switch (in) {
                    case "input_ids" -> b.inputIds();
                    case "attention_mask" -> b.attentionMask();
                    default -> b.tokenTypeIds();
                };
                feeds.put(in, OnnxTensor.createTensor(env, LongBuffer.wrap(v), shape));
            }
            try (OrtSession.Result r = session.run(feeds, new java.util.LinkedHashSet<>(names))) {
                Map<String, Output> out = new LinkedHashMap<>();
                for (String n : names) {
                    OnnxTensor t = (OnnxTensor) r.get(n).orElseThrow(() -> new IllegalStateException("runtime returned no '" + n + "'"));
                    TensorInfo info = t.getInfo();
                    FloatBuffer fb = t.getFloatBuffer();
                    if (fb == null) throw new IllegalStateException("output '" + n + "' is " + info.type + ", not float");
                    float[] data = new float[fb.remaining()];
                    fb.get(data);
                    out.put(n, new Output(data, info.getShape()));
                }
                return out;
            }
        } finally {
            for (OnnxTensor t : feeds.values()) t.close();
        }
    }

    /** The graph's first output ({@code [rows, length, hidden]}): mean over unmasked tokens, then L2-normalised. */
    public float[][] sentenceEmbeddings(WordPieceTokenizer.Batch b) throws OrtException {
        Output o = run(b, List.of(firstOutput)).get(firstOutput);
        long[] s = o.shape();
        if (s.length != 3 || s[0] != b.rows() || s[1] != b.length()) {
            throw new IllegalStateException("output '" + firstOutput + "' has shape " + java.util.Arrays.toString(s) + ", expected [" + b.rows() + ", " + b.length() + ", hidden]");
        }
        int d = (int) s[2];
        float[][] emb = new float[b.rows()][d];
        for (int r = 0; r < b.rows(); r++) {
            int count = 0;
            for (int t = 0; t < b.length(); t++) {
                if (b.attentionMask()[r * b.length() + t] == 0) continue;
                count++;
                int off = (r * b.length() + t) * d;
                for (int i = 0; i < d; i++) emb[r][i] += o.data()[off + i];
            }
            double norm = 0;
            for (int i = 0; i < d; i++) {
                emb[r][i] /= Math.max(1, count);
                norm += (double) emb[r][i] * emb[r][i];
            }
            float inv = (float) (1 / Math.max(1e-12, Math.sqrt(norm)));
            for (int i = 0; i < d; i++) emb[r][i] *= inv;
        }
        return emb;
    }

    /** Names of the graph inputs the runtime reports. */
    public List<String> inputNames() {
        return List.copyOf(inputNames);
    }

    /** Element type and shape of each graph output, as the runtime reports them. */
    public Map<String, NodeInfo> outputInfo() throws OrtException {
        return session.getOutputInfo();
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
