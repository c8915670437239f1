package org.goldenstick.ptq;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.goldenstick.llm.LlamaConfig;
import org.goldenstick.llm.LlamaModel;
import org.goldenstick.llm.LlamaSession;
import org.goldenstick.llm.Sampler;
import org.goldenstick.nn.Module;

/**
 * {@link NetworkHelper} for {@link LlamaModel}s of every supported family ({@code spec("model_type")} names it; the
 * layer names PTQ works on come from the family's {@link org.goldenstick.llm.ModelFamily} description): config values
 * come from {@link LlamaConfig} (plus
 * {@code seq_length}, the calibration sample length, and {@code batch_size} = 1); calibration text is tokenized,
 * concatenated and cut into consecutive {@code seq_length}-token samples; a calibration forward is one KV-cached
 * prefill of the sample (the inference path, so replaced projection layers see exactly what they see in use).
 *
 * <pre>{@code
 * LlamaHelper h = new LlamaHelper(model, 256, text -> tokenizer.encode(text, true));
 * List<int[]> samples = h.calibrationSamples(Path.of("models/gstick-llama-demo/calib.txt"), 64);
 * }</pre>
 */
public final class LlamaHelper implements NetworkHelper {
    private final LlamaModel model;
    private final int seqLength;
    private final TextEncoder encoder;

    /**
     * @param encoder text to ids; may be null if only token-id samples are used
     */
    public LlamaHelper(LlamaModel model, int seqLength, TextEncoder encoder) {
        if (seqLength < 2 || seqLength > model.config().maxPositionEmbeddings()) {
            throw new IllegalArgumentException("LlamaHelper: seq_length must be in [2, max_position_embeddings=" + model.config().maxPositionEmbeddings() + "], got " + seqLength);
        }
        this.model = model;
        this.seqLength = seqLength;
        this.encoder = encoder;
    }

    @Override
    public Object spec(String name) {
        LlamaConfig c = model.config();
        return switch (name) {
            case "hidden_size" -> c.hiddenSize();
            case "intermediate_size" -> c.intermediateSize();
            case "num_hidden_layers" -> c.numHiddenLayers();
            case "num_attention_heads" -> c.numAttentionHeads();
            case "num_key_value_heads" -> c.numKeyValueHeads();
            case "head_dim" -> c.headDim();
            case "vocab_size" -> c.vocabSize();
            case "max_position_embeddings" -> c.maxPositionEmbeddings();
            case "bos_token_id" -> c.bosTokenId();
            case "model_type" -> c.family().modelType();
            case "seq_length" -> seqLength;
            case "batch_size" -> 1;
            default -> throw new IllegalArgumentException("LlamaHelper: can not find network specific: " + name);
        };
    }

    @Override
    public TextEncoder createTokenizer() {
        if (encoder == null) throw new IllegalStateException("LlamaHelper: built without a tokenizer");
        return encoder;
    }

    @Override
    public int[] generate(Module network, int[] inputIds, int maxNewTokens) {
        return asLlama(network).generate(inputIds, maxNewTokens, Sampler.greedy());
    }

    @Override
    public List<int[]> calibrationSamples(Path textFileOrFolder, int maxSamples) throws IOException {
        return calibrationSamples(textFileOrFolder, maxSamples, seqLength, model.config().vocabSize(), createTokenizer());
    }

    /** As {@link #calibrationSamples(Path, int)} without a loaded model (layer-by-layer calibration has none). */
    static List<int[]> calibrationSamples(Path textFileOrFolder, int maxSamples, int seqLength, int vocab, TextEncoder enc) throws IOException {
        if (maxSamples <= 0) throw new IllegalArgumentException("calibration: maxSamples must be positive, got " + maxSamples);
        List<Path> files = new ArrayList<>();
        if (Files.isDirectory(textFileOrFolder)) {
            try (Stream<Path> s = Files.list(textFileOrFolder)) {
                s.filter(p -> Files.isRegularFile(p) && p.getFileName().toString().endsWith(".txt")).sorted().forEach(files::add);
            }
            if (files.isEmpty()) throw new IllegalArgumentException(textFileOrFolder + ": calibration folder holds no .txt files");
        } else if (Files.isRegularFile(textFileOrFolder)) {
            files.add(textFileOrFolder);
        } else {
            throw new IllegalArgumentException(textFileOrFolder + ": calibration text not found");
        }
        List<int[]> samples = new ArrayList<>();
        for (Path f : files) {
            String text = org.goldenstick.formats.TextFiles.read(f);
            if (text.isBlank()) continue;
            int[] ids = enc.encode(text);
            for (int id : ids) if (id < 0 || id >= vocab) throw new IllegalArgumentException(f + ": tokenizer produced id " + id + " outside the model's vocabulary [0, " + vocab + ")");
            for (int start = 0; start + 1 < ids.length && samples.size() < maxSamples; start += seqLength) {
                samples.add(Arrays.copyOfRange(ids, start, Math.min(ids.length, start + seqLength)));
            }
            if (samples.size() >= maxSamples) break;
        }
        if (samples.isEmpty()) throw new IllegalArgumentException(textFileOrFolder + ": the calibration set is empty (no text with at least 2 tokens)");
        return samples;
    }

    @Override
    public void forward(Module network, int[] inputIds) {
        LlamaModel m = asLlama(network);
        if (inputIds.length > seqLength) throw new IllegalArgumentException("calibration sample of " + inputIds.length + " tokens is longer than seq_length " + seqLength);
        LlamaSession s = m.newSession(inputIds.length);
        s.prefill(inputIds);
    }

    private LlamaModel asLlama(Module network) {
        if (!(network instanceof LlamaModel m)) throw new IllegalArgumentException("LlamaHelper drives LlamaModel networks, got " + network.getClass().getSimpleName());
        return m;
    }
}
