package org.goldenstick.formats.safetensors;

import java.io.IOException;
import java.nio.file.Path;

/** A safetensors file that is malformed; the message names the file and the tensor or field at fault. */
public final class SafetensorsFormatException extends IOException {
    public SafetensorsFormatException(Path file, String what) {
        super(file + ": " + what);
    }

    public SafetensorsFormatException(Path file, String what, Throwable cause) {
        super(file + ": " + what, cause);
    }
}
