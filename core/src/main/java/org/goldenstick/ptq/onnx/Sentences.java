package org.goldenstick.ptq.onnx;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Plain text to sentences for calibration and evaluation: whitespace collapsed, split after {@code . ! ?}
 * (with any closing quote) before whitespace, sentences of fewer than {@code minWords} words dropped.
 *
 * <pre>{@code
 * List<String> s = Sentences.read(Path.of("chapter_1.txt"), 4, 256);
 * }</pre>
 */
public final class Sentences {
    private Sentences() {}

    private static final Pattern END = Pattern.compile("(?<=[.!?][\"'”’)]?)\\s+");

    public static List<String> split(String text, int minWords, int max) {
        List<String> out = new ArrayList<>();
        String flat = text.replaceAll("\\s+", " ").strip();
        if (flat.isEmpty()) return out;
        for (String s : END.split(flat)) {
            s = s.strip();
            if (s.split(" ").length >= minWords) out.add(s);
            if (out.size() >= max) break;
        }
        return out;
    }

    /** The sentences of a UTF-8 text file; fails naming the file if it has none. */
    public static List<String> read(Path file, int minWords, int max) throws IOException {
        if (!Files.isRegularFile(file)) throw new IOException(file + ": no such file");
        List<String> s = split(Files.readString(file, StandardCharsets.UTF_8), minWords, max);
        if (s.isEmpty()) throw new IllegalArgumentException(file + ": no sentence of at least " + minWords + " words (empty text?)");
        return s;
    }
}
