package org.goldenstick.formats.onnx;

import java.io.IOException;

/** A malformed ONNX protobuf file; the message names the file and the message/field at fault. */
public final class OnnxFormatException extends IOException {
    public OnnxFormatException(String message) {
        super(message);
    }

    public OnnxFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
