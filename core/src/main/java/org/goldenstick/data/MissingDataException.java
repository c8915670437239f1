package org.goldenstick.data;

import java.nio.file.Path;

/** A fetched data file is absent from {@code data-cache/}: the message tells how to fetch it. */
public final class MissingDataException extends DataFileException {
    public MissingDataException(Path file, String item) {
        super(file, "missing; run ./gstick data fetch (or ./gstick data fetch --only " + item + ")");
    }
}
