package org.goldenstick.llm;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.goldenstick.formats.gguf.GgmlBlocks;
import org.goldenstick.formats.gguf.GgmlType;
import org.goldenstick.formats.gguf.GgufArray;
import org.goldenstick.formats.gguf.GgufFile;
import org.goldenstick.formats.gguf.GgufFormatException;
import org.goldenstick.formats.gguf.GgufTensor;
import org.goldenstick.formats.gguf.GgufType;
import org.goldenstick.formats.gguf.GgufWriter;
import org.goldenstick.llm.tokenizer.BpeTokenizer;
import org.goldenstick.llm.tokenizer.HfTokenizerJson;
import org.goldenstick.tensor.RopeScaling;
import org.goldenstick.tensor.Tensor;

/**
 * Llama models in GGUF, the way llama.cpp's {@code convert_hf_to_gguf.py} writes them and {@code llama.cpp} reads
 * them: architecture {@code llama}, hyper-parameters under {@code llama.*}, the vocabulary under
 * {@code tokenizer.ggml.*}, tensors named {@code token_embd}, {@code blk.N.attn_q} … {@code output}, and the rows of
 * {@code attn_q}/{@code attn_k} permuted from Hugging Face's half-split rotary layout to ggml's interleaved one.
 *
 * <pre>{@code
 * LlamaModel m = HfCheckpoint.load(dir);
 * LlamaGguf.export(m, dir, GgmlType.Q8_0, Path.of("model-q8_0.gguf"));
 * LlamaModel back = LlamaGguf.load(Path.of("model-q8_0.gguf"));     // weights dequantized
 * try (LlamaGguf.MappedModel mm = LlamaGguf.open(Path.of("model-q8_0.gguf"))) {   // Q8_0/Q4_0 kernels on the map
 *     int[] next = mm.model().generate(prompt, 20, Sampler.greedy());
 * }
 * }</pre>
 */
public final class LlamaGguf {
    /** The tensor types {@link #export} writes and {@link #load} reads. */
    public static final List<GgmlType> SUPPORTED_TYPES = List.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0,
            GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q4_K, GgmlType.Q6_K);

    private static final int TOKEN_NORMAL = 1, TOKEN_UNKNOWN = 2, TOKEN_CONTROL = 3, TOKEN_USER_DEFINED = 4, TOKEN_UNUSED = 5, TOKEN_BYTE = 6;

    private LlamaGguf() {}

    /** True for a path ending in {@code .gguf} (what the commands take as a GGUF model). */
    public static boolean isGguf(Path p) {
        return p != null && p.getFileName() != null && p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".gguf") && !Files.isDirectory(p);
    }

    // ---------------------------------------------------------------- names and layout

    /** The GGUF name of a Hugging Face Llama parameter (throws for a name llama.cpp has no place for). */
    public static String ggufName(String hf) {
        if (hf.equals("model.embed_tokens.weight")) return "token_embd.weight";
        if (hf.equals("model.norm.weight")) return "output_norm.weight";
        if (hf.equals("lm_head.weight")) return "output.weight";
        if (hf.startsWith("model.layers.")) {
            int dot = hf.indexOf('.', "model.layers.".length());
            String layer = hf.substring("model.layers.".length(), dot), rest = hf.substring(dot + 1);
            String g = switch (rest) {
                case "input_layernorm.weight" -> "attn_norm.weight";
                case "self_attn.q_proj.weight" -> "attn_q.weight";
                case "self_attn.k_proj.weight" -> "attn_k.weight";
                case "self_attn.v_proj.weight" -> "attn_v.weight";
                case "self_attn.o_proj.weight" -> "attn_output.weight";
                case "post_attention_layernorm.weight" -> "ffn_norm.weight";
                case "mlp.gate_proj.weight" -> "ffn_gate.weight";
                case "mlp.up_proj.weight" -> "ffn_up.weight";
                case "mlp.down_proj.weight" -> "ffn_down.weight";
                default -> null;
            };
            if (g != null) return "blk." + layer + "." + g;
        }
        throw new IllegalArgumentException("tensor '" + hf + "' has no GGUF name for the llama architecture");
    }

    /**
     * Row order of a GGUF {@code attn_q}/{@code attn_k} weight: GGUF row {@code r} holds Hugging Face row
     * {@code hfRow(r)}. Per head of {@code headDim} rows, HF keeps the two rotary halves apart
     * ({@code [x0..x_{d/2-1}, y0..]}) while ggml rotates adjacent pairs ({@code [x0, y0, x1, y1, …]}).
     */
    public static int[] ggufRowToHfRow(int heads, int headDim) {
        int[] map = new int[heads * headDim];
        int half = headDim / 2;
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < half; i++) {
                for (int j = 0; j < 2; j++) map[h * headDim + 2 * i + j] = h * headDim + j * half + i;
            }
        }
        return map;
    }

    /** Heads whose rows a tensor's rotary permutation runs over, or 0 when it is not permuted. */
    static int permutedHeads(String hf, LlamaConfig c) {
        if (hf.endsWith("self_attn.q_proj.weight")) return c.numAttentionHeads();
        if (hf.endsWith("self_attn.k_proj.weight")) return c.numKeyValueHeads();
        return 0;
    }

    /**
     * The type a tensor is stored in for a requested file type: 1-D tensors (norms) stay F32, as llama.cpp's
     * converter keeps them; a block type whose block does not divide the row length falls back (Q4_K → Q4_1,
     * Q6_K → Q8_0, then F16), as llama-quantize falls back to a type with smaller blocks.
     */
    public static GgmlType storedType(GgmlType requested, int rank, long rowLength) {
        if (!SUPPORTED_TYPES.contains(requested)) throw new IllegalArgumentException("GGUF export: type " + requested + " is not supported (supported: " + SUPPORTED_TYPES + ")");
        if (rank == 1) return GgmlType.F32;
        GgmlType t = requested;
        if (rowLength % t.blockSize() != 0) {
            t = switch (t) {
                case Q4_K -> GgmlType.Q4_1;
                case Q6_K -> GgmlType.Q8_0;
                default -> t;
            };
        }
        return rowLength % t.blockSize() == 0 ? t : GgmlType.F16;
    }

    /** llama.cpp's {@code general.file_type} (enum llama_ftype) for a file mostly of {@code t}. */
    static int fileType(GgmlType t) {
        return switch (t) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q4_1 -> 3;
            case Q8_0 -> 7;
            case Q4_K -> 14; // MOSTLY_Q4_K_S: every block tensor Q4_K
            case Q6_K -> 18;
            case BF16 -> 32;
            default -> throw new IllegalArgumentException("no llama file type for " + t);
        };
    }

    // ---------------------------------------------------------------- export

    /**
     * Refuses a model GGUF's {@code llama} architecture would compute differently: a family whose llama.cpp
     * architecture is not {@code llama} (Qwen2/3, Gemma, Phi-3 have their own), or a Mistral model whose sliding
     * window is shorter than its context (llama.cpp's llama graph attends to the whole context).
     */
    static void requireLlamaArch(LlamaConfig c) {
        ModelFamily f = c.family();
        if (!"llama".equals(f.ggufArch())) {
            throw new IllegalArgumentException("GGUF export: model_type '" + f.modelType() + "' is not supported (llama.cpp's architecture for it is not 'llama'); "
                    + "supported: " + String.join(", ", ModelFamily.ALL.stream().filter(x -> "llama".equals(x.ggufArch())).map(ModelFamily::modelType).toList()));
        }
        if (c.slidingWindow() > 0 && c.slidingWindow() < c.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("GGUF export: sliding_window " + c.slidingWindow() + " is shorter than max_position_embeddings "
                    + c.maxPositionEmbeddings() + "; llama.cpp's 'llama' architecture has no sliding window, so the exported model would attend differently");
        }
    }

    /**
     * What an export wrote.
     *
     * @param types  GGUF tensor name → stored type, in file order
     * @param bytes  size of the written file
     */
    public record ExportReport(Map<String, GgmlType> types, long bytes) {
        /** Tensors stored in another type than requested (fallbacks), excluding 1-D tensors. */
        public Map<String, GgmlType> fallbacks(GgmlType requested) {
            Map<String, GgmlType> m = new LinkedHashMap<>();
            types.forEach((n, t) -> {
                if (t != requested && !(t == GgmlType.F32 && n.endsWith("norm.weight"))) m.put(n, t);
            });
            return m;
        }
    }

    /**
     * Writes {@code model} as a GGUF file of {@code type} with the vocabulary of {@code tokenizerDir/tokenizer.json}
     * (atomically). {@code name} goes to {@code general.name}.
     */
    public static ExportReport export(LlamaModel model, Path tokenizerDir, GgmlType type, Path out) throws java.io.IOException {
        return export(model, tokenizerDir, type, out, Map.of());
    }

    /**
     * A tensor already encoded in a GGUF block type, rows in Hugging Face order (the q/k permutation is applied on
     * export): e.g. GPTQ codes copied into Q4_0 blocks.
     */
    public record Encoded(GgmlType type, byte[] bytes) {}

    /**
     * As {@link #export(LlamaModel, Path, GgmlType, Path)}, with some 2-D tensors given already encoded
     * ({@code preEncoded}: Hugging Face tensor name → its blocks); {@code type} is then the type of the other tensors,
     * and {@code general.file_type} names the pre-encoded tensors' type when they all share one.
     */
    public static ExportReport export(LlamaModel model, Path tokenizerDir, GgmlType type, Path out, Map<String, Encoded> preEncoded) throws java.io.IOException {
        LlamaConfig c = model.config();
        requireLlamaArch(c);
        if (c.ropeScaling() instanceof RopeScaling.Llama3) {
            throw new IllegalArgumentException("GGUF export: rope_scaling 'llama3' is not supported yet (llama.cpp stores it as a rope_freqs tensor)");
        }
        Path tokJson = tokenizerDir.resolve("tokenizer.json");
        if (!Files.isRegularFile(tokJson)) throw new java.nio.file.NoSuchFileException(tokJson.toString(), null, "GGUF export needs the model's tokenizer.json for tokenizer.ggml.*");
        BpeTokenizer tok = HfTokenizerJson.load(tokJson);
        GgufWriter w = new GgufWriter();
        w.put("general.architecture", GgufType.STRING, "llama");
        w.put("general.type", GgufType.STRING, "model");
        w.put("general.name", GgufType.STRING, tokenizerDir.toAbsolutePath().normalize().getFileName().toString());
        w.put("llama.block_count", GgufType.UINT32, (long) c.numHiddenLayers());
        w.put("llama.context_length", GgufType.UINT32, (long) c.maxPositionEmbeddings());
        w.put("llama.embedding_length", GgufType.UINT32, (long) c.hiddenSize());
        w.put("llama.feed_forward_length", GgufType.UINT32, (long) c.intermediateSize());
        w.put("llama.attention.head_count", GgufType.UINT32, (long) c.numAttentionHeads());
        w.put("llama.attention.head_count_kv", GgufType.UINT32, (long) c.numKeyValueHeads());
        w.put("llama.rope.freq_base", GgufType.FLOAT32, (float) c.ropeTheta());
        w.put("llama.attention.layer_norm_rms_epsilon", GgufType.FLOAT32, (float) c.rmsNormEps());
        w.put("llama.attention.key_length", GgufType.UINT32, (long) c.headDim());
        w.put("llama.attention.value_length", GgufType.UINT32, (long) c.headDim());
        if (c.ropeScaling() instanceof RopeScaling.Linear lin) {
            w.put("llama.rope.scaling.type", GgufType.STRING, "linear");
            w.put("llama.rope.scaling.factor", GgufType.FLOAT32, (float) lin.factor());
        }
        java.util.Set<GgmlType> preTypes = new java.util.HashSet<>();
        preEncoded.values().forEach(e -> preTypes.add(e.type()));
        w.put("general.file_type", GgufType.UINT32, (long) fileType(preTypes.size() == 1 ? preTypes.iterator().next() : type));
        w.put("llama.vocab_size", GgufType.UINT32, (long) c.vocabSize());
        w.put("llama.rope.dimension_count", GgufType.UINT32, (long) c.headDim());
        putVocabulary(w, tok, c);
        w.put("general.quantization_version", GgufType.UINT32, 2L);

        Map<String, Tensor> state = model.stateDict();
        Map<String, GgmlType> types = new LinkedHashMap<>();
        List<String> order = new ArrayList<>();
        order.add("model.embed_tokens.weight");
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            String p = "model.layers." + l + ".";
            for (String s : List.of("input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
                    "self_attn.o_proj.weight", "post_attention_layernorm.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight")) order.add(p + s);
        }
        order.add("model.norm.weight");
        if (!c.tieWordEmbeddings()) order.add("lm_head.weight");
        for (String n : state.keySet()) if (!order.contains(n)) throw new IllegalArgumentException("GGUF export: model tensor '" + n + "' has no place in a llama GGUF");
        for (String hf : order) {
            String g = ggufName(hf);
            Encoded pre = preEncoded.get(hf);
            Tensor t = state.get(hf);
            if (t == null) throw new IllegalArgumentException("GGUF export: model has no tensor '" + hf + "'");
            int[] shape = t.shape();
            GgmlType st = storedType(type, shape.length, shape[shape.length - 1]);
            int heads = permutedHeads(hf, c);
            if (pre != null) {
                st = pre.type();
                if (shape.length != 2 || shape[1] % st.blockSize() != 0) throw new IllegalArgumentException("GGUF export: pre-encoded '" + hf + "' " + Arrays.toString(shape) + " is not whole rows of " + st + " blocks");
                long rowBytes = shape[1] / st.blockSize() * (long) st.blockBytes();
                if (pre.bytes().length != rowBytes * shape[0]) throw new IllegalArgumentException("GGUF export: pre-encoded '" + hf + "' has " + pre.bytes().length + " bytes, " + st + " " + Arrays.toString(shape) + " needs " + rowBytes * shape[0]);
                byte[] bytes = heads > 0 ? permuteRows(pre.bytes(), ggufRowToHfRow(heads, c.headDim()), (int) rowBytes) : pre.bytes();
                w.addRawTensor(g, st, new long[] {shape[1], shape[0]}, bytes);
            } else {
                float[] data = t.data();
                if (heads > 0) data = permuteRows(data, ggufRowToHfRow(heads, c.headDim()), shape[1]);
                w.addTensor(g, st, shape, data);
            }
            types.put(g, st);
        }
        w.write(out);
        return new ExportReport(types, Files.size(out));
    }

    private static float[] permuteRows(float[] w, int[] ggufToHf, int cols) {
        float[] out = new float[w.length];
        for (int r = 0; r < ggufToHf.length; r++) System.arraycopy(w, ggufToHf[r] * cols, out, r * cols, cols);
        return out;
    }

    private static byte[] permuteRows(byte[] w, int[] ggufToHf, int rowBytes) {
        byte[] out = new byte[w.length];
        for (int r = 0; r < ggufToHf.length; r++) System.arraycopy(w, ggufToHf[r] * rowBytes, out, r * rowBytes, rowBytes);
        return out;
    }

    /** {@code tokenizer.ggml.*} as llama.cpp's converter writes it for a BPE tokenizer.json. */
    static void putVocabulary(GgufWriter w, BpeTokenizer tok, LlamaConfig c) {
        BpeTokenizer.Spec spec = tok.spec();
        List<String> tokens = spec.tokens();
        int n = c.vocabSize();
        if (tokens.size() > n) throw new IllegalArgumentException("GGUF export: tokenizer.json has " + tokens.size() + " tokens but vocab_size is " + n);
        String[] list = new String[n];
        int[] types = new int[n];
        for (int i = 0; i < n; i++) {
            if (i >= tokens.size()) {
                list[i] = "[PAD" + i + "]"; // what the converter writes for embedding rows without a token
                types[i] = TOKEN_UNUSED;
                continue;
            }
            String s = tokens.get(i);
            list[i] = s;
            if (spec.controlIds().contains(i)) types[i] = TOKEN_CONTROL;
            else if (spec.addedTokens().containsKey(s) && spec.addedTokens().get(s) == i) types[i] = TOKEN_USER_DEFINED;
            else if (i == spec.unkId()) types[i] = TOKEN_UNKNOWN;
            else if (spec.flavor() == BpeTokenizer.Flavor.SENTENCEPIECE && s.matches("<0x[0-9A-F]{2}>")) types[i] = TOKEN_BYTE;
            else types[i] = TOKEN_NORMAL;
        }
        // Merges in rank order.
        String[] merges = new String[spec.merges().ranks().size()];
        int m = 0;
        List<Map.Entry<BpeTokenizer.Pair, Integer>> byRank = new ArrayList<>(spec.merges().ranks().entrySet());
        byRank.sort(Map.Entry.comparingByValue());
        for (var e : byRank) merges[m++] = e.getKey().left() + " " + e.getKey().right();
        if (spec.flavor() == BpeTokenizer.Flavor.BYTE_LEVEL) {
            String pre = spec.preTokenizer() == null ? null : spec.preTokenizer().ggufName();
            if (pre == null) throw new IllegalArgumentException("GGUF export: the byte-level pre-tokenizer " + spec.preTokenizer()
                    + " matches no llama.cpp pre-tokenizer we know (" + String.join(", ", org.goldenstick.llm.tokenizer.PreTokenizer.ggufNames()) + ")");
            w.put("tokenizer.ggml.model", GgufType.STRING, "gpt2");
            w.put("tokenizer.ggml.pre", GgufType.STRING, pre);
            w.put("tokenizer.ggml.tokens", GgufType.ARRAY, new GgufArray(GgufType.STRING, list));
            w.put("tokenizer.ggml.token_type", GgufType.ARRAY, new GgufArray(GgufType.INT32, types));
            w.put("tokenizer.ggml.merges", GgufType.ARRAY, new GgufArray(GgufType.STRING, merges));
        } else {
            // SentencePiece merging by score: a token's score is minus the rank of the merge that makes it.
            float[] scores = new float[n];
            Map<String, Integer> index = new java.util.HashMap<>();
            for (int i = 0; i < list.length; i++) index.putIfAbsent(list[i], i);
            Arrays.fill(scores, -1e9f);
            for (var e : byRank) {
                Integer id = index.get(e.getKey().left() + e.getKey().right());
                if (id != null && scores[id] == -1e9f) scores[id] = -e.getValue();
            }
            for (int i = 0; i < n; i++) if (scores[i] == -1e9f) scores[i] = types[i] == TOKEN_NORMAL ? 0f : -1000f;
            w.put("tokenizer.ggml.model", GgufType.STRING, "llama");
            w.put("tokenizer.ggml.pre", GgufType.STRING, "default");
            w.put("tokenizer.ggml.tokens", GgufType.ARRAY, new GgufArray(GgufType.STRING, list));
            w.put("tokenizer.ggml.scores", GgufType.ARRAY, new GgufArray(GgufType.FLOAT32, scores));
            w.put("tokenizer.ggml.token_type", GgufType.ARRAY, new GgufArray(GgufType.INT32, types));
            w.put("tokenizer.ggml.add_space_prefix", GgufType.BOOL, spec.addPrefixSpace());
        }
        int bos = c.bosTokenId() >= 0 ? c.bosTokenId() : tok.bosId();
        int eos = c.eosTokenIds().length > 0 ? c.eosTokenIds()[0] : tok.eosId();
        if (bos >= 0) w.put("tokenizer.ggml.bos_token_id", GgufType.UINT32, (long) bos);
        if (eos >= 0) w.put("tokenizer.ggml.eos_token_id", GgufType.UINT32, (long) eos);
        if (spec.unkId() >= 0) w.put("tokenizer.ggml.unknown_token_id", GgufType.UINT32, (long) spec.unkId());
        w.put("tokenizer.ggml.add_bos_token", GgufType.BOOL, bos >= 0);
    }

    // ---------------------------------------------------------------- import

    /** The Llama config a GGUF file's {@code llama.*} metadata and tensor shapes describe. */
    public static LlamaConfig config(GgufFile g) {
        String arch = g.has("general.architecture") ? g.getString("general.architecture") : null;
        if (!"llama".equals(arch)) {
            throw new GgufFormatException(g.path() + ": general.architecture is " + (arch == null ? "missing" : "'" + arch + "'") + "; only 'llama' models are supported");
        }
        if (g.tensors().containsKey("rope_freqs.weight")) throw new GgufFormatException(g.path() + ": tensor 'rope_freqs.weight' (Llama 3.1 rope scaling) is not supported yet");
        int hidden = g.getInt("llama.embedding_length");
        int heads = g.getInt("llama.attention.head_count");
        int kvHeads = g.getInt("llama.attention.head_count_kv", heads);
        if (heads <= 0) throw new GgufFormatException(g.path() + ": llama.attention.head_count must be > 0, got " + heads);
        int headDim = g.getInt("llama.attention.key_length", hidden / heads);
        GgufTensor emb = g.tensor("token_embd.weight");
        long[] ed = emb.dims();
        if (ed.length != 2 || ed[0] != hidden) throw new GgufFormatException(g.path() + ": tensor 'token_embd.weight' has dims " + Arrays.toString(ed) + ", expected [" + hidden + ", vocab]");
        int vocab = (int) ed[1];
        RopeScaling scaling = null;
        if (g.has("llama.rope.scaling.type")) {
            String st = g.getString("llama.rope.scaling.type");
            switch (st) {
                case "none" -> {}
                case "linear" -> scaling = new RopeScaling.Linear(shortest(g.getFloat("llama.rope.scaling.factor")));
                default -> throw new GgufFormatException(g.path() + ": llama.rope.scaling.type '" + st + "' is not supported (none, linear)");
            }
        }
        int bos = g.has("tokenizer.ggml.bos_token_id") ? g.getInt("tokenizer.ggml.bos_token_id") : -1;
        int[] eos = g.has("tokenizer.ggml.eos_token_id") ? new int[] {g.getInt("tokenizer.ggml.eos_token_id")} : new int[0];
        double eps = g.has("llama.attention.layer_norm_rms_epsilon") ? shortest(g.getFloat("llama.attention.layer_norm_rms_epsilon")) : 1e-5;
        double theta = g.has("llama.rope.freq_base") ? shortest(g.getFloat("llama.rope.freq_base")) : 10000.0;
        try {
            return new LlamaConfig(hidden, g.getInt("llama.feed_forward_length"), g.getInt("llama.block_count"), heads, kvHeads, headDim, eps, theta, scaling,
                    vocab, g.getInt("llama.context_length"), !g.tensors().containsKey("output.weight"), bos, eos, "float32", List.of("LlamaForCausalLM"), Map.of());
        } catch (IllegalArgumentException e) {
            throw new GgufFormatException(g.path() + ": " + e.getMessage());
        }
    }

    /** The double a float32 metadata value was written from (1e-5f → 1e-5), so configs round-trip exactly. */
    private static double shortest(float f) {
        return Double.parseDouble(Float.toString(f));
    }

    /** Opens a GGUF Llama model and dequantizes every weight into a float {@link LlamaModel}. */
    public static LlamaModel load(Path file) {
        try (GgufFile g = GgufFile.open(file)) {
            return load(g, false);
        }
    }

    /**
     * A model for inference on the GGUF file's own blocks: Q8_0 and Q4_0 projections become {@link GgufBlockLinear}
     * layers and F32/F16/BF16 ones {@link MappedLinear} views, reading the memory map (no float copy); other block
     * types are dequantized. The file stays mapped as long
     * as the returned model is used; close {@link MappedModel#file()} when done (or leave it to process exit).
     */
    public static MappedModel open(Path file) {
        GgufFile g = GgufFile.open(file);
        try {
            return new MappedModel(load(g, true), g);
        } catch (RuntimeException e) {
            g.close();
            throw e;
        }
    }

    /** A model whose block layers read {@code file}'s mapping. */
    public record MappedModel(LlamaModel model, GgufFile file) implements AutoCloseable {
        /** Projections computed on the quantized blocks. */
        public int blockLayers() {
            int n = 0;
            for (var m : model.namedModules().values()) if (m instanceof GgufBlockLinear) n++;
            return n;
        }

        @Override
        public void close() {
            file.close();
        }
    }

    /**
     * Builds a {@link LlamaModel} from an open GGUF file. With {@code blockKernels} the weights stay in the mapping:
     * Q8_0/Q4_0 projections as {@link GgufBlockLinear}, F32/F16/BF16 projections and embeddings as
     * {@link MappedLinear}/{@link TokenEmbedding} views; other types (and everything without {@code blockKernels}) are
     * dequantized to float. Every tensor is checked against the metadata's shapes before anything large is allocated.
     */
    static LlamaModel load(GgufFile g, boolean blockKernels) {
        LlamaConfig c = config(g);
        GgufParts parts = new GgufParts(g, c);
        LlamaModel mapped = new LlamaModel(c, parts); // checks every tensor; holds views only
        List<String> unused = new ArrayList<>();
        for (String n : g.tensors().keySet()) if (!parts.used.contains(n)) unused.add(n);
        if (!unused.isEmpty()) throw new GgufFormatException(g.path() + ": tensors not part of a llama model with this metadata: " + unused);
        if (blockKernels) return mapped;
        LlamaModel model = new LlamaModel(c, LlamaModel.NO_INIT);
        for (var e : model.stateDict().entrySet()) {
            String hf = e.getKey();
            GgufTensor t = g.tensor(ggufName(hf));
            float[] data = t.toFloatArray();
            int heads = permutedHeads(hf, c);
            if (heads > 0) {
                int[] map = ggufRowToHfRow(heads, c.headDim());
                int cols = e.getValue().dim(1);
                float[] d = e.getValue().data();
                for (int r = 0; r < map.length; r++) System.arraycopy(data, r * cols, d, map[r] * cols, cols);
            } else {
                System.arraycopy(data, 0, e.getValue().data(), 0, data.length);
            }
        }
        return model;
    }

    /** Views of a GGUF file's tensors under their Hugging Face names (q/k rows reordered on output, not copied). */
    private static final class GgufParts implements LlamaParts {
        private final GgufFile g;
        private final LlamaConfig c;
        final java.util.Set<String> used = new java.util.HashSet<>();

        GgufParts(GgufFile g, LlamaConfig c) {
            this.g = g;
            this.c = c;
        }

        private GgufTensor tensor(String hf, int... shape) {
            GgufTensor t = checkedTensor(g, ggufName(hf), shape);
            used.add(t.name());
            return t;
        }

        /** The view of a float tensor, or null for block types. */
        private static org.goldenstick.tensor.kernel.FloatWeights view(GgufTensor t, int rows, int cols) {
            var enc = switch (t.type()) {
                case F32 -> org.goldenstick.tensor.kernel.FloatWeights.Encoding.F32;
                case F16 -> org.goldenstick.tensor.kernel.FloatWeights.Encoding.F16;
                case BF16 -> org.goldenstick.tensor.kernel.FloatWeights.Encoding.BF16;
                default -> null;
            };
            return enc == null ? null : org.goldenstick.tensor.kernel.FloatWeights.of(t.raw(), 0, rows, cols, enc);
        }

        @Override
        public org.goldenstick.nn.Module linear(String name, int in, int out, boolean bias) {
            GgufTensor t = tensor(name + ".weight", out, in);
            float[] b = bias ? tensor(name + ".bias", out).toFloatArray() : null;
            int heads = permutedHeads(name + ".weight", c);
            int[] order = null, map = null;
            if (heads > 0) {
                map = ggufRowToHfRow(heads, c.headDim());
                order = new int[map.length];
                for (int r = 0; r < map.length; r++) order[map[r]] = r;
            }
            if (GgufBlockLinear.supports(t.type()) && b == null) return new GgufBlockLinear(t, order);
            var w = view(t, out, in);
            if (w == null) { // another block type: dequantized (q/k rows back in Hugging Face order)
                float[] data = t.toFloatArray();
                if (map != null) {
                    float[] d = new float[data.length];
                    for (int r = 0; r < map.length; r++) System.arraycopy(data, r * in, d, map[r] * in, in);
                    data = d;
                }
                return new MappedLinear(name, org.goldenstick.tensor.kernel.FloatWeights.of(data, out, in), b, null);
            }
            return new MappedLinear(name, w, b, order);
        }

        @Override
        public RmsNorm norm(String name, int size, double eps, float offset) {
            return new RmsNorm(Tensor.of(tensor(name + ".weight", size).toFloatArray(), size), eps, offset);
        }

        @Override
        public TokenEmbedding embedding(String name, int vocab, int dim) {
            GgufTensor t = tensor(name + ".weight", vocab, dim);
            var w = view(t, vocab, dim);
            return new TokenEmbedding(w != null ? w : org.goldenstick.tensor.kernel.FloatWeights.of(t.toFloatArray(), vocab, dim));
        }
    }

    /**
     * Writes a GGUF Llama model as a Hugging Face folder {@code dir} (must not exist) that the folder-based tools
     * ({@code gstick quantize}) read: {@code config.json} from the {@code llama.*} metadata, {@code model.safetensors}
     * with the dequantized weights (q/k rows back in Hugging Face order) and {@code tokenizer.json} from the
     * {@code tokenizer.ggml.*} vocabulary ({@link HfTokenizerJson#toJson}). Weights are stored as F16 (BF16) when every
     * matrix of the file is F16 (BF16) and every value fits that type exactly, else F32, so nothing is rounded.
     *
     * <pre>{@code
     * LlamaGguf.toHfFolder(Path.of("model-q8_0.gguf"), Path.of("model-q8_0-hf"));
     * }</pre>
     */
    public static void toHfFolder(Path gguf, Path dir) throws java.io.IOException {
        LlamaModel m;
        org.goldenstick.formats.safetensors.DType dtype;
        String tokenizerJson;
        try (GgufFile g = GgufFile.open(gguf)) {
            m = load(g, false);
            java.util.Set<GgmlType> matrixTypes = new java.util.HashSet<>();
            for (GgufTensor t : g.tensors().values()) if (t.dims().length == 2) matrixTypes.add(t.type());
            dtype = org.goldenstick.formats.safetensors.DType.F32;
            if (matrixTypes.equals(java.util.Set.of(GgmlType.F16))) dtype = org.goldenstick.formats.safetensors.DType.F16;
            if (matrixTypes.equals(java.util.Set.of(GgmlType.BF16))) dtype = org.goldenstick.formats.safetensors.DType.BF16;
            for (Tensor t : m.stateDict().values()) {
                if (dtype == org.goldenstick.formats.safetensors.DType.F32) break;
                for (float v : t.data()) {
                    float r = dtype == org.goldenstick.formats.safetensors.DType.F16 ? Float.float16ToFloat(Float.floatToFloat16(v))
                            : org.goldenstick.formats.safetensors.HalfFloats.bf16ToFloat(org.goldenstick.formats.safetensors.HalfFloats.toBf16(v));
                    if (r != v) {
                        dtype = org.goldenstick.formats.safetensors.DType.F32;
                        break;
                    }
                }
            }
            try {
                tokenizerJson = HfTokenizerJson.toJson(org.goldenstick.llm.tokenizer.GgufTokenizer.fromMetadata(g));
            } catch (org.goldenstick.llm.tokenizer.TokenizerException e) {
                throw new GgufFormatException(gguf + ": " + e.getMessage());
            }
        }
        HfCheckpoint.save(m, dir, dtype, null, false);
        org.goldenstick.formats.AtomicFiles.write(dir.resolve("tokenizer.json"), tokenizerJson.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /** Tensor {@code name} of {@code g}, checked to have row-major {@code shape} and a supported type. */
    static GgufTensor checkedTensor(GgufFile g, String name, int[] shape) {
        if (!g.tensors().containsKey(name)) throw new GgufFormatException(g.path() + ": missing tensor '" + name + "' (the metadata implies shape " + Arrays.toString(shape) + ")");
        GgufTensor t = g.tensor(name);
        if (!SUPPORTED_TYPES.contains(t.type())) {
            throw new GgufFormatException(g.path() + ": tensor '" + name + "' has type " + t.type() + ", which is not supported (supported: " + SUPPORTED_TYPES + ")");
        }
        if (!Arrays.equals(t.shape(), shape)) throw new GgufFormatException(g.path() + ": tensor '" + name + "' has shape " + Arrays.toString(t.shape()) + " but the metadata implies " + Arrays.toString(shape));
        return t;
    }
}
