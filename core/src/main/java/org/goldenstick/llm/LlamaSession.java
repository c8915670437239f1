package org.goldenstick.llm;

import java.util.Arrays;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.GradMode;
import org.goldenstick.tensor.RopeTable;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.PackedIntWeights;
import org.goldenstick.tensor.kernel.Parallel;
import org.goldenstick.tensor.kernel.Sgemm;
import org.goldenstick.tensor.kernel.WNA16Kernels;

/**
 * Inference on one sequence with a key/value cache: {@link #prefill(int[])} runs a whole prompt in one
 * batched forward (each projection is one matrix product over all its tokens), {@link #decode(int)} then
 * adds one token at a time, reusing the cached keys and values. No autograd graph is recorded.
 *
 * <pre>{@code
 * LlamaSession s = model.newSession(512);
 * float[] logits = s.prefill(promptIds).data();      // next-token logits after the prompt
 * int next = Sampler.greedy().sample(logits);
 * logits = s.decode(next).data();
 * }</pre>
 *
 * <p>Projections are called through {@link Module#forward(Tensor)} on {@code [T, in]} inputs, so replaced
 * (quantized) projections are used here too. Attention is parallel over heads and query blocks; the matrix
 * products are multi-threaded by the kernels. A session is not thread-safe.
 */
public final class LlamaSession {
    private final LlamaModel model;
    private final LlamaConfig c;
    private final int capacity;
    private final RopeTable rope;
    private final int window;
    private final float[][] keys;   // per layer: [kvHeads][capacity][headDim]
    private final float[][] values;
    private int position;

    LlamaSession(LlamaModel model, int capacity) {
        this(model, model.config(), capacity, model.config().numHiddenLayers());
    }

    private LlamaSession(LlamaModel model, LlamaConfig c, int capacity, int layers) {
        this.model = model;
        this.c = c;
        if (capacity <= 0) throw new IllegalArgumentException("session capacity must be positive, got " + capacity);
        long perLayer = (long) c.numKeyValueHeads() * capacity * c.headDim();
        if (perLayer > Integer.MAX_VALUE - 16) throw new IllegalArgumentException("KV cache of " + capacity + " tokens is too large for one layer array");
        this.capacity = capacity;
        this.rope = c.ropeTable(capacity);
        this.window = c.slidingWindow();
        keys = new float[layers][];
        values = new float[layers][];
        for (int l = 0; l < layers; l++) {
            keys[l] = new float[(int) perLayer];
            values[l] = new float[(int) perLayer];
        }
    }

    /**
     * Runs one decoder layer in place on the hidden states {@code x [t, hidden]} of a sequence at positions
     * {@code 0..t-1}, with exactly the arithmetic {@link #prefill} uses for that layer inside the whole model. Layer-by-
     * layer calibration holds one layer (and the calibration activations) at a time and gets the same activations as
     * a calibration pass through the loaded model.
     *
     * <pre>{@code
     * float[] x = embeddings(ids);                  // [t, hidden]
     * for (LlamaDecoderLayer l : layersLoadedOneByOne) LlamaSession.prefillLayer(config, l, x, ids.length);
     * }</pre>
     */
    public static void prefillLayer(LlamaConfig c, LlamaDecoderLayer layer, float[] x, int t) {
        if (x.length != (long) t * c.hiddenSize()) throw new IllegalArgumentException("prefillLayer: " + x.length + " values are not [" + t + ", " + c.hiddenSize() + "]");
        try (var ignored = GradMode.off()) {
            new LlamaSession(null, c, t, 1).layer(0, layer, x, t);
        }
    }

    /** Tokens processed so far (the position of the next token). */
    public int position() {
        return position;
    }

    /** Maximum number of tokens this session's cache holds. */
    public int capacity() {
        return capacity;
    }

    /** Forgets all cached tokens. */
    public void reset() {
        position = 0;
    }

    /** Runs a prompt in one batched forward; returns the logits {@code [vocab]} predicting the token after it. */
    public Tensor prefill(int[] tokens) {
        return forward(tokens, false);
    }

    /** Feeds one token; returns the logits {@code [vocab]} for the next one. */
    public Tensor decode(int token) {
        return forward(new int[] {token}, false);
    }

    /**
     * Runs {@code tokens} (appended after the cached ones). With {@code allLogits} returns {@code [T, vocab]}
     * (logits after each token, for evaluation); otherwise only the last row, {@code [vocab]}.
     */
    public Tensor forward(int[] tokens, boolean allLogits) {
        int t = tokens.length, d = c.hiddenSize();
        if (t == 0) throw new IllegalArgumentException("forward: no tokens");
        if (position + t > capacity) {
            throw new IllegalStateException("session holds " + capacity + " tokens; " + position + " cached + " + t + " new do not fit");
        }
        try (var ignored = GradMode.off()) {
            LlamaTransformer tr = model.transformer();
            float[] x = new float[t * d];
            tr.embed(tokens, x);
            for (int l = 0; l < c.numHiddenLayers(); l++) layer(l, tr.layer(l), x, t);
            int rows = allLogits ? t : 1;
            float[] last = allLogits ? x : Arrays.copyOfRange(x, (t - 1) * d, t * d);
            float[] h = norm(tr.norm(), last, rows);
            Tensor logits = model.head(Tensor.of(h, rows, d));
            position += t;
            return allLogits ? logits.reshape(t, c.vocabSize()) : logits.reshape(c.vocabSize());
        }
    }

    private float[] norm(Module norm, float[] x, int rows) {
        return norm(norm, x, rows, c.hiddenSize());
    }

    private static float[] norm(Module norm, float[] x, int rows, int size) {
        if (norm instanceof RmsNorm r) {
            float[] out = new float[x.length];
            r.apply(x, out, rows);
            return out;
        }
        return project(norm, x, rows, size, size);
    }

    /** Columns {@code [from, from + width)} of a row-major {@code [rows, cols]} array. */
    private static float[] columns(float[] a, int rows, int cols, int from, int width) {
        float[] out = new float[rows * width];
        for (int r = 0; r < rows; r++) System.arraycopy(a, r * cols + from, out, r * width, width);
        return out;
    }

    /** Calls a (possibly replaced) module on {@code [rows, in]} and checks it returned {@code [rows, out]}. */
    private static float[] project(Module m, float[] x, int rows, int in, int out) {
        Tensor y = m.forward(Tensor.of(x, rows, in));
        if (y.numel() != rows * out) {
            throw new IllegalStateException(m.describe() + " returned shape " + Arrays.toString(y.shape()) + " for input [" + rows + ", " + in + "], expected [" + rows + ", " + out + "]");
        }
        return y.data();
    }

    /**
     * {@link #project} of one input {@code x [rows, in]} through several modules (q, k, v; gate, up): one kernel call
     * when every module is a {@link PackedProjection} ({@link WNA16Kernels#gemmShared}: at decode one parallel region
     * instead of one per module), else one {@link #project} each. The values are the same either way.
     */
    private static float[][] projectAll(Module[] ms, float[] x, int rows, int in, int... outs) {
        float[][] ys = new float[ms.length][];
        PackedIntWeights[] ws = new PackedIntWeights[ms.length];
        for (int j = 0; j < ms.length; j++) {
            if (!(ms[j] instanceof PackedProjection p) || p.weights().cols() != in || p.weights().rows() != outs[j]) {
                for (int i = 0; i < ms.length; i++) ys[i] = project(ms[i], x, rows, in, outs[i]);
                return ys;
            }
            ws[j] = p.weights();
            ys[j] = new float[rows * outs[j]];
        }
        WNA16Kernels.gemmShared(rows, x, 0, ws, ys);
        for (int j = 0; j < ms.length; j++) ((PackedProjection) ms[j]).addBias(ys[j], rows);
        return ys;
    }

    private void layer(int l, LlamaDecoderLayer layer, float[] x, int t) {
        int d = c.hiddenSize(), hd = c.headDim(), qDim = c.qDim(), kvDim = c.kvDim(), half = hd / 2;
        LlamaAttention attn = layer.selfAttn();
        float[] h = norm(layer.children().get("input_layernorm"), x, t);
        float[] q, k, v;
        if (c.family().fusedQkv()) {
            int width = qDim + 2 * kvDim;
            float[] qkv = project(attn.proj("qkv_proj"), h, t, d, width);
            q = columns(qkv, t, width, 0, qDim);
            k = columns(qkv, t, width, qDim, kvDim);
            v = columns(qkv, t, width, qDim + kvDim, kvDim);
        } else {
            float[][] qkv = projectAll(new Module[] {attn.proj("q_proj"), attn.proj("k_proj"), attn.proj("v_proj")}, h, t, d, qDim, kvDim, kvDim);
            q = qkv[0];
            k = qkv[1];
            v = qkv[2];
        }
        if (c.family().qkNorm()) {
            q = norm(attn.proj("q_norm"), q, t * c.numAttentionHeads(), hd);
            k = norm(attn.proj("k_norm"), k, t * c.numKeyValueHeads(), hd);
        }
        float[] kc = keys[l], vc = values[l];
        float[] cr = new float[half], sr = new float[half];
        for (int i = 0; i < t; i++) {
            for (int j = 0; j < half; j++) {
                cr[j] = rope.cos(position + i, j);
                sr[j] = rope.sin(position + i, j);
            }
            for (int hh = 0; hh < c.numAttentionHeads(); hh++) rotate(q, i * qDim + hh * hd, half, cr, sr);
            for (int g = 0; g < c.numKeyValueHeads(); g++) {
                rotate(k, i * kvDim + g * hd, half, cr, sr);
                int dst = (g * capacity + position + i) * hd;
                System.arraycopy(k, i * kvDim + g * hd, kc, dst, hd);
                System.arraycopy(v, i * kvDim + g * hd, vc, dst, hd);
            }
        }
        float[] a = attention(q, kc, vc, t);
        float[] o = project(attn.proj("o_proj"), a, t, qDim, d);
        for (int i = 0; i < x.length; i++) x[i] += o[i];

        LlamaMlp mlp = layer.mlp();
        int inter = c.intermediateSize();
        h = norm(layer.children().get("post_attention_layernorm"), x, t);
        float[] gate, up;
        if (c.family().fusedGateUp()) {
            float[] gu = project(mlp.proj("gate_up_proj"), h, t, d, 2 * inter);
            gate = columns(gu, t, 2 * inter, 0, inter);
            up = columns(gu, t, 2 * inter, inter, inter);
        } else {
            float[][] gu = projectAll(new Module[] {mlp.proj("gate_proj"), mlp.proj("up_proj")}, h, t, d, inter, inter);
            gate = gu[0];
            up = gu[1];
        }
        float[] act = new float[gate.length];
        final float[] g = gate, u = up;
        // in chunks, not per token: at decode (one token) the exp of every gate value was the largest serial piece of a
        // W4 step outside the matrix products (the worker idle meanwhile)
        int n = act.length;
        Parallel.forEach((n + ACTIVATION_CHUNK - 1) / ACTIVATION_CHUNK, task -> {
            for (int j = task * ACTIVATION_CHUNK, end = Math.min(n, j + ACTIVATION_CHUNK); j < end; j++) act[j] = mlp.activate(g[j]) * u[j];
        });
        float[] down = project(mlp.proj("down_proj"), act, t, inter, d);
        for (int i = 0; i < x.length; i++) x[i] += down[i];
    }

    /** Gate activations per task of the MLP's element-wise product (a decode step's 5632 take ~6 tasks). */
    private static final int ACTIVATION_CHUNK = 1024;

    /** Rotate-half rotary embedding of one head vector {@code x[off, off+2·half)}, in place. */
    private static void rotate(float[] x, int off, int half, float[] cos, float[] sin) {
        for (int i = 0; i < half; i++) {
            float a = x[off + i], b = x[off + i + half];
            x[off + i] = a * cos[i] - b * sin[i];
            x[off + i + half] = b * cos[i] + a * sin[i];
        }
    }

    /** Below this many new tokens attention runs as dot/axpy loops; from it on, as two matrix products per head. */
    private static final int GEMM_ATTENTION_MIN_TOKENS = 8;

    /** The first key a query at {@code pos} attends to: 0, or the start of its sliding window ({@code pos - key < window}). */
    private int firstKey(int pos) {
        return window > 0 ? Math.max(0, pos - window + 1) : 0;
    }

    /** Causal attention of the new queries over cached keys 0..position+i (or the window's last keys). */
    private float[] attention(float[] q, float[] kc, float[] vc, int t) {
        return t >= GEMM_ATTENTION_MIN_TOKENS ? attentionGemm(q, kc, vc, t) : attentionLoops(q, kc, vc, t);
    }

    /**
     * Prefill: per head, scores = Q·Kᵀ over all cached keys (one SGEMM), causal mask and softmax per row, then
     * P·V (a second SGEMM). Computing the masked upper triangle wastes up to half of the first product, but
     * blocked GEMM is far faster than per-query dot products.
     */
    private float[] attentionGemm(float[] q, float[] kc, float[] vc, int t) {
        int heads = c.numAttentionHeads(), hd = c.headDim(), qDim = c.qDim(), group = heads / c.numKeyValueHeads();
        int p0 = position, len = p0 + t;
        float scale = (float) (1.0 / Math.sqrt(hd));
        float[] out = new float[t * qDim];
        // One task per head (the products inside run serially): a few large tasks instead of three small parallel
        // regions per head, whose fork/join cost showed at 128 tokens.
        Parallel.forEach(heads, hh -> {
            int kvBase = (hh / group) * capacity * hd;
            float[] scores = new float[t * len];
            Sgemm.gemm(false, true, t, len, hd, q, hh * hd, qDim, kc, kvBase, hd, scores, 0, len, false);
            for (int i = 0; i < t; i++) {
                int o = i * len, valid = p0 + i + 1, first = firstKey(p0 + i);
                float max = Float.NEGATIVE_INFINITY;
                for (int s = first; s < valid; s++) max = Math.max(max, scores[o + s] *= scale);
                float sum = 0;
                for (int s = first; s < valid; s++) sum += scores[o + s] = (float) Math.exp(scores[o + s] - max);
                float inv = 1f / sum;
                for (int s = first; s < valid; s++) scores[o + s] *= inv;
                java.util.Arrays.fill(scores, o, o + first, 0f);
                java.util.Arrays.fill(scores, o + valid, o + len, 0f);
            }
            Sgemm.gemm(false, false, t, hd, len, scores, 0, len, vc, kvBase, hd, out, hh * hd, qDim, false);
        });
        return out;
    }

    /** Decode: loops over cached keys, parallel over (head, query block). */
    private float[] attentionLoops(float[] q, float[] kc, float[] vc, int t) {
        int heads = c.numAttentionHeads(), hd = c.headDim(), qDim = c.qDim(), group = heads / c.numKeyValueHeads();
        float scale = (float) (1.0 / Math.sqrt(hd));
        float[] out = new float[t * qDim];
        int block = 16, blocks = (t + block - 1) / block;
        int p0 = position;
        Parallel.forEach(heads * blocks, task -> {
            int hh = task % heads, b = task / heads;
            int kvBase = (hh / group) * capacity * hd;
            float[] p = new float[p0 + Math.min(t, (b + 1) * block)];
            for (int i = b * block; i < Math.min(t, (b + 1) * block); i++) {
                int qo = i * qDim + hh * hd, len = p0 + i + 1, first = firstKey(p0 + i);
                float max = Float.NEGATIVE_INFINITY;
                for (int s = first; s < len; s++) {
                    float sc = AttentionKernels.dot(q, qo, kc, kvBase + s * hd, hd) * scale;
                    p[s] = sc;
                    if (sc > max) max = sc;
                }
                float sum = 0;
                for (int s = first; s < len; s++) sum += p[s] = (float) Math.exp(p[s] - max);
                float inv = 1f / sum;
                for (int s = first; s < len; s++) AttentionKernels.axpy(p[s] * inv, vc, kvBase + s * hd, out, qo, hd);
            }
        });
        return out;
    }
}
