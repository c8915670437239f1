package org.goldenstick.formats;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads a UTF-8 text file with errors that name the file and say what is wrong: missing, a folder, not
 * readable, or not UTF-8 (with the byte offset), instead of the JDK's bare {@code Input length = 4}.
 *
 * <pre>{@code
 * String text = TextFiles.read(Path.of("calib.txt"));
 * }</pre>
 */
public final class TextFiles {
    private TextFiles() {}

    /** The file's content decoded as strict UTF-8 (a leading byte-order mark is dropped). */
    public static String read(Path file) throws IOException {
        return decode(readBytes(file), file);
    }

    /** The file's bytes, with a clear error for a missing file, a folder or a permission problem. */
    public static byte[] readBytes(Path file) throws IOException {
        if (Files.isDirectory(file)) throw new IllegalArgumentException(file + ": is a folder, expected a file");
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(file.toString(), null, "file not found");
        } catch (AccessDeniedException e) {
            throw new AccessDeniedException(file.toString(), null, "permission denied");
        }
    }

    /** Strict UTF-8 decoding; {@code source} names the file in the error. */
    public static String decode(byte[] bytes, Path source) {
        CharsetDecoder d = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length + 1);
        CoderResult r = d.decode(in, out, true);
        if (!r.isError()) r = d.flush(out);
        if (r.isError()) {
            int at = in.position();
            throw new IllegalArgumentException(source + ": not UTF-8 text (invalid byte 0x" + String.format("%02x", bytes[Math.min(at, bytes.length - 1)] & 0xFF)
                    + " at offset " + at + "); convert it to UTF-8, e.g. with iconv");
        }
        String s = out.flip().toString();
        return s.startsWith("\uFEFF") ? s.substring(1) : s;
    }
}
