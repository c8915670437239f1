package org.goldenstick.data;

import java.nio.file.Path;

/** A data file that is missing, unreadable or malformed; the message names the file and what is wrong. */
public class DataFileException extends RuntimeException {
    public DataFileException(Path file, String what) {
        super(file + ": " + what);
    }

    public DataFileException(Path file, String what, Throwable cause) {
        super(file + ": " + what, cause);
    }
}
