package org.goldenstick.data;

import java.nio.file.Path;

/** A fetched data file is absent from the data cache folder ({@link DataPaths#cacheDir()}): the message tells how to fetch it. */
public final class MissingDataException extends DataFileException {
    private final String item;

    public MissingDataException(Path file, String item) {
        super(file, "missing; fetch it with DataFetch.fetch(\"" + item + "\") from Java, or ./gstick data fetch --only " + item
                + " in a checkout (data cache folder: " + DataPaths.cacheDir() + ")");
        this.item = item;
    }

    /** The fetch item that provides the missing file. */
    public String item() {
        return item;
    }
}
