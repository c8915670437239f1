package org.goldenstick.formats.gguf;

/** A GGUF file that cannot be read: the message names the file and the key or tensor at fault. */
public final class GgufFormatException extends RuntimeException {
    public GgufFormatException(String message) {
        super(message);
    }

    public GgufFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
