package org.goldenstick.llm.tokenizer;

/** A tokenizer file that cannot be used: the message names the file and the field at fault. */
public final class TokenizerException extends RuntimeException {
    public TokenizerException(String message) {
        super(message);
    }

    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
