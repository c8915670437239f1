package org.goldenstick.llm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.Random;
import java.util.function.IntConsumer;
import java.util.function.IntPredicate;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Functional;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.tensor.kernel.FloatWeights;
import org.goldenstick.tensor.kernel.Parallel;

/**
 * A Llama-style decoder-only causal language model of any supported {@link ModelFamily} (Llama, Mistral,
 * Qwen2/2.5, Qwen3, Gemma, Phi-3: the family, read from config.json, decides tensor names and the few computations
 * that differ), with the Hugging Face module tree and parameter names
 * ({@code model.embed_tokens.weight}, {@code model.layers.0.self_attn.q_proj.weight}, …, {@code model.norm.weight},
 * {@code lm_head.weight} unless the embeddings are tied).
 *
 * <p>Two paths share the same weights:
 * <ul>
 *   <li>training: {@link #logits(int[], int, int)} and {@link #loss(int[], int, int)} record the autograd graph;</li>
 *   <li>inference: {@link #newSession(int)} gives a {@link LlamaSession} with a KV cache (batched prefill,
 *       incremental decode) and {@link #generate} samples text.</li>
 * </ul>
 * Every projection ({@code q_proj … down_proj}, {@code lm_head}) is an ordinary {@link Linear} child called only
 * through {@link Module#forward(Tensor)}, so {@code replaceChild("model.layers.3.mlp.up_proj", q)} swaps in a
 * quantized layer for both paths.
 *
 * <pre>{@code
 * LlamaModel m = new LlamaModel(LlamaConfig.of(256, 688, 4, 8, 4, 2000, 512), new Random(0));
 * Tensor loss = m.loss(ids, batch, seqLen);              // training
 * loss.backward();
 * int[] out = m.generate(prompt, 50, Sampler.greedy());  // inference
 * }</pre>
 */
public final class LlamaModel extends Module {
    private final LlamaConfig config;

    /**
     * A model with fresh weights: embeddings ~ N(0, initializer_range or 0.02), projections with the
     * {@link Linear} default initialisation, norms = 1.
     */
    public LlamaModel(LlamaConfig config, Random rng) {
        this(config, LlamaParts.random(rng, config.extra().containsKey("initializer_range") ? config.extra().get("initializer_range").asDouble(0.02) : 0.02));
    }

    /**
     * A model assembled from {@code parts} (fresh modules, or views of a checkpoint as {@link HfCheckpoint#map} builds):
     * the parts are asked for in a fixed order under their Hugging Face names.
     */
    public LlamaModel(LlamaConfig config, LlamaParts parts) {
        this.config = config;
        registerChild("model", new LlamaTransformer(config, parts));
        if (!config.tieWordEmbeddings()) registerChild("lm_head", parts.linear("lm_head", config.hiddenSize(), config.vocabSize(), false));
    }

    private LlamaModel(LlamaConfig config, LlamaTransformer transformer, Module head) {
        this.config = config;
        registerChild("model", transformer);
        registerChild("lm_head", head);
    }

    /**
     * This model with its own {@code lm_head}: for a model whose head is tied to the embeddings, a new model (config
     * {@code tie_word_embeddings: false}) sharing this one's decoder stack, whose head is a float copy of the embedding
     * table, so the head can be quantized while the embedding stays float; an untied model is returned as it is. The
     * embedding must be a float parameter (a model loaded into memory, not read in place).
     *
     * <pre>{@code
     * LlamaModel m = HfCheckpoint.load(dir).withUntiedHead();   // m.lmHead() is a Linear [vocab, hidden]
     * }</pre>
     */
    public LlamaModel withUntiedHead() {
        if (!config.tieWordEmbeddings()) return this;
        Linear head = new Linear(config.hiddenSize(), config.vocabSize(), false, NO_INIT);
        float[] table = transformer().embedTokens().weight().data();
        System.arraycopy(table, 0, head.weight().data(), 0, table.length);
        return new LlamaModel(config.withTiedEmbeddings(false), transformer(), head);
    }

    /** A Random whose draws are all zero, for models whose weights are overwritten right away (skips the init cost). */
    static final Random NO_INIT = new Random() {
        @Override
        public float nextFloat() {
            return 0f;
        }

        @Override
        public double nextGaussian() {
            return 0.0;
        }
    };

    /**
     * A model with random weights filled in parallel (fast enough for billion-parameter benchmark models):
     * projections uniform in ±1/√in, embeddings uniform with standard deviation 0.02, norms 1. Deterministic
     * for a given seed and thread count-independent.
     */
    public static LlamaModel withRandomWeights(LlamaConfig config, long seed) {
        LlamaModel m = new LlamaModel(config, NO_INIT);
        List<Map.Entry<String, Tensor>> params = new ArrayList<>(m.namedParameters().entrySet());
        int chunk = 1 << 20;
        List<int[]> tasks = new ArrayList<>(); // {param index, chunk index}
        for (int i = 0; i < params.size(); i++) {
            int n = params.get(i).getValue().numel();
            for (int c = 0; c * (long) chunk < n; c++) tasks.add(new int[] {i, c});
        }
        Parallel.forEach(tasks.size(), t -> {
            int pi = tasks.get(t)[0], ci = tasks.get(t)[1];
            String name = params.get(pi).getKey();
            Tensor p = params.get(pi).getValue();
            float[] d = p.data();
            int from = ci * chunk, to = Math.min(d.length, from + chunk);
            if (name.endsWith("norm.weight")) {
                Arrays.fill(d, from, to, config.family().gemmaNorms() ? 0f : 1f); // Gemma's norms multiply by 1 + weight
                return;
            }
            float bound = name.contains("embed_tokens") ? (float) (0.02 * Math.sqrt(3)) : p.rank() == 1 ? 0.02f : (float) (1 / Math.sqrt(p.dim(1)));
            SplittableRandom rng = new SplittableRandom(seed * 1_000_003L + pi * 65_537L + ci);
            for (int i = from; i < to; i++) d[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
        });
        return m;
    }

    /**
     * A model with random weights whose projections and embedding table are float32 {@link FloatWeights} in native
     * memory, read in place by the same kernels as a mapped checkpoint ({@link HfCheckpoint#map}): a billion-parameter
     * benchmark model that needs no Java heap for its weights. Same distributions as {@link #withRandomWeights} (biases
     * 0); deterministic for a seed. The memory is freed when the model is unreachable.
     */
    public static LlamaModel withRandomStoredWeights(LlamaConfig config, long seed) {
        return new LlamaModel(config, new LlamaParts() {
            private int index;

            private FloatWeights random(int rows, int cols, float bound) {
                long n = (long) rows * cols, base = seed * 1_000_003L + (index++) * 65_537L;
                MemorySegment s = org.goldenstick.tensor.kernel.WeightMemory.allocate(4 * n);
                int chunk = 1 << 20;
                Parallel.forEach((int) ((n + chunk - 1) / chunk), ci -> {
                    SplittableRandom rng = new SplittableRandom(base + ci);
                    for (long i = (long) ci * chunk, end = Math.min(n, i + chunk); i < end; i++) s.set(F32_LE, 4 * i, (float) ((rng.nextDouble() * 2 - 1) * bound));
                });
                return FloatWeights.of(s, 0, rows, cols, FloatWeights.Encoding.F32);
            }

            @Override
            public Module linear(String name, int in, int out, boolean bias) {
                return new MappedLinear(name, random(out, in, (float) (1 / Math.sqrt(in))), bias ? new float[out] : null, null);
            }

            @Override
            public RmsNorm norm(String name, int size, double eps, float offset) {
                return new RmsNorm(size, eps, offset);
            }

            @Override
            public TokenEmbedding embedding(String name, int vocab, int dim) {
                return new TokenEmbedding(random(vocab, dim, (float) (0.02 * Math.sqrt(3))));
            }
        });
    }

    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public LlamaConfig config() {
        return config;
    }

    /** The decoder stack ({@code model.}). */
    public LlamaTransformer transformer() {
        return (LlamaTransformer) children().get("model");
    }

    /** The output projection, or null when it is tied to the embeddings. */
    public Module lmHead() {
        return children().get("lm_head");
    }

    /** Final hidden states {@code [..., D]} to logits {@code [..., V]} (through lm_head, or the tied embedding). */
    Tensor head(Tensor h) {
        Module head = lmHead();
        return head != null ? head.forward(h) : transformer().embedTokens().project(h);
    }

    // ---------------------------------------------------------------- training path

    /** Target id that {@link #loss} skips (the Hugging Face convention). */
    public static final int IGNORE_INDEX = -100;

    /** Logits {@code [B, T, V]} for {@code ids} ({@code B·T} ids, row-major), with autograd. */
    public Tensor logits(int[] ids, int batch, int seqLen) {
        if (batch <= 0 || seqLen <= 0 || ids.length != batch * seqLen) {
            throw new IllegalArgumentException("logits: " + ids.length + " ids do not form [" + batch + ", " + seqLen + "]");
        }
        if (seqLen > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("logits: sequence length " + seqLen + " exceeds max_position_embeddings " + config.maxPositionEmbeddings());
        }
        LlamaTransformer tr = transformer();
        Tensor x = tr.embed(ids, batch, seqLen);
        var rope = config.ropeTable(seqLen);
        for (int l = 0; l < tr.numLayers(); l++) x = tr.layer(l).forward(x, rope);
        return head(tr.norm().forward(x));
    }

    /** Mean next-token cross-entropy over {@code [B, T]} ids: position t predicts id t+1 (T-1 targets per row). */
    public Tensor loss(int[] ids, int batch, int seqLen) {
        if (seqLen < 2) throw new IllegalArgumentException("loss: needs sequences of at least 2 tokens, got " + seqLen);
        Tensor logits = logits(ids, batch, seqLen).reshape(batch * seqLen, config.vocabSize());
        // Shifted targets; the last position of each row has nothing to predict (ignored, no slice copy needed).
        int[] targets = new int[batch * seqLen];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(ids, b * seqLen + 1, targets, b * seqLen, seqLen - 1);
            targets[b * seqLen + seqLen - 1] = IGNORE_INDEX;
        }
        return Functional.crossEntropy(logits, targets, IGNORE_INDEX);
    }

    /** {@code ids} {@code [B, T]} stored as floats; returns logits {@code [B, T, V]}. */
    @Override
    public Tensor forward(Tensor ids) {
        if (ids.rank() != 2) throw new IllegalArgumentException("LlamaModel.forward: expects token ids [B, T], got " + Arrays.toString(ids.shape()));
        float[] f = ids.data();
        int[] ii = new int[f.length];
        for (int i = 0; i < f.length; i++) ii[i] = Math.round(f[i]);
        return logits(ii, ids.dim(0), ids.dim(1));
    }

    // ---------------------------------------------------------------- inference path

    /** A KV-cached inference session for up to {@code maxTokens} tokens (prompt plus generated). */
    public LlamaSession newSession(int maxTokens) {
        if (maxTokens > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("session of " + maxTokens + " tokens exceeds max_position_embeddings " + config.maxPositionEmbeddings());
        }
        return new LlamaSession(this, maxTokens);
    }

    /**
     * Generates up to {@code maxNewTokens} tokens after {@code prompt} (prefilled in one forward), stopping
     * early at an end-of-sequence id of the config. Returns only the new tokens (the EOS, if reached, included).
     */
    public int[] generate(int[] prompt, int maxNewTokens, Sampler sampler) {
        return generate(prompt, maxNewTokens, sampler, t -> {}, config::isEos);
    }

    /** As {@link #generate(int[], int, Sampler)}, calling {@code onToken} for each new token as it is produced. */
    public int[] generate(int[] prompt, int maxNewTokens, Sampler sampler, IntConsumer onToken, IntPredicate stop) {
        if (prompt.length == 0) throw new IllegalArgumentException("generate: empty prompt (add a BOS token)");
        if (maxNewTokens < 0) throw new IllegalArgumentException("generate: maxNewTokens must be >= 0, got " + maxNewTokens);
        int total = Math.min(config.maxPositionEmbeddings(), prompt.length + maxNewTokens);
        if (prompt.length >= total && maxNewTokens > 0) {
            throw new IllegalArgumentException("generate: prompt of " + prompt.length + " tokens leaves no room within max_position_embeddings " + config.maxPositionEmbeddings());
        }
        LlamaSession s = newSession(Math.max(1, total));
        int[] out = new int[total - prompt.length];
        if (out.length == 0) return out;
        Tensor logits = s.prefill(prompt);
        int n = 0;
        while (true) {
            int next = sampler.sample(logits.data());
            out[n++] = next;
            onToken.accept(next);
            if (n == out.length || stop.test(next)) break;
            logits = s.decode(next);
        }
        return Arrays.copyOf(out, n);
    }
}
