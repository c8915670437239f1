package org.goldenstick.llm.tokenizer;

/**
 * Text ↔ token ids.
 *
 * <pre>{@code
 * Tokenizer tok = Tokenizers.load(Path.of("models/gstick-llama-demo"));
 * int[] ids = tok.encode("Call me Ishmael.", true);   // starts with tok.bosId()
 * String back = tok.decode(ids);                       // special tokens are dropped
 * }</pre>
 */
public interface Tokenizer {

    /** Encodes text; with {@code addBos} the BOS id is prepended (if this vocabulary has one). */
    int[] encode(String text, boolean addBos);

    /**
     * Encodes text in which the strings of special (control) tokens, e.g. {@code <|im_start|>} in a rendered chat
     * template, stand for those tokens (llama.cpp's {@code parse_special}); {@link #encode} reads them as text
     * unless the vocabulary declares them as added tokens.
     */
    default int[] encodeWithSpecialTokens(String text, boolean addBos) {
        return encode(text, addBos);
    }

    /** Decodes ids to text; control tokens (BOS, EOS, …) produce no text. */
    String decode(int[] ids);

    /** Number of ids (the model's embedding rows must be at least this many). */
    int vocabSize();

    /** The beginning-of-sequence id, or -1 if there is none. */
    int bosId();

    /** The end-of-sequence id, or -1 if there is none. */
    int eosId();

    /** The vocabulary string of an id (as stored: e.g. {@code ▁the}, {@code Ġthe}, {@code <0x0A>}). */
    String tokenString(int id);

    /** The id of a vocabulary string, or -1. */
    int tokenId(String token);
}
