package org.goldenstick.ptq;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.goldenstick.nn.Module;

/**
 * Decouples PTQ algorithms from a model family (upstream {@code NetworkHelper}): how to read a config value, how
 * to turn calibration text into token samples, and how to drive the network forward. {@link LlamaHelper} is the
 * implementation for the decoder families of {@link org.goldenstick.llm.ModelFamily}.
 *
 * <pre>{@code
 * NetworkHelper h = new LlamaHelper(model, 256, text -> tokenizer.encode(text, true));
 * List<int[]> samples = h.calibrationSamples(Path.of("calib.txt"), 128);
 * for (int[] s : samples) h.forward(model, s);
 * }</pre>
 */
public interface NetworkHelper {
    /** A model configuration value by its Hugging Face name (e.g. {@code hidden_size}, {@code seq_length}); unknown → error. */
    Object spec(String name);

    /** The text → token ids function calibration uses (upstream {@code create_tokenizer}). */
    TextEncoder createTokenizer();

    /** Runs autoregressive greedy generation and returns the new tokens. */
    int[] generate(Module network, int[] inputIds, int maxNewTokens);

    /**
     * Reads calibration text from a file, or from every {@code .txt} file of a folder (sorted by name), tokenizes it and
     * cuts it into samples of at most {@code spec("seq_length")} tokens; at most {@code maxSamples} samples.
     */
    List<int[]> calibrationSamples(Path textFileOrFolder, int maxSamples) throws IOException;

    /** One forward pass over a sample (the calibration step: observers inside the network record statistics). */
    void forward(Module network, int[] inputIds);

    /** Text to token ids (a tokenizer's encode, BOS included). */
    @FunctionalInterface
    interface TextEncoder {
        int[] encode(String text);
    }
}
